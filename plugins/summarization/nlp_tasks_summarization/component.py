"""The summarization component: ``doc._.summary`` from the shared transformer.

The factory builds the component class of the model's mode, so a config
switches modes in its model block alone: ``nlp_tasks_summarization.Summarizer.v2``
(or ``.v1``) chooses sentences (``ExtractiveSummarizer``),
``nlp_tasks_summarization.AbstractiveSummarizer.v1`` writes a summary with the
core's decoder (``AbstractiveSummarizer``).
"""

import re
from collections.abc import Callable, Iterable
from typing import Any

from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, SpanGroup
from spacy.training import Example, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model
from thinc.types import Floats1d

from nlp_tasks import ConfigError, GenerativeHead, SharedBackboneHead, is_blank, listener_config

from . import model as _model  # noqa: F401  (registers its architectures)
from . import scorer as _scorer  # noqa: F401  (registers its scorer)
from .errors import Errors
from .extensions import SPANS_KEY, install_extensions
from .sentences import count_tokens, select_sentences, token_budget

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "nlp_tasks_summarization.Summarizer.v2"
hidden_width = 256
n_layers = 0
n_heads = 4
max_positions = 64
window = 64
dropout = 0.1

[model.get_sentences]
@misc = "nlp_tasks_summarization.RuleSentences.v1"
punct_chars = null
""" + listener_config("model.tok2vec")
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]
#: The model block of the abstractive mode: the decoder, warm-started from the backbone.
ABSTRACTIVE_MODEL_CONFIG = """
[model]
@architectures = "nlp_tasks_summarization.AbstractiveSummarizer.v1"
init_from_backbone = true
max_positions = 512
""" + listener_config("model.tok2vec")
#: Most of a doc's tokens a summary may have, by default; chosen on the BBC News
#: dev set (bench/summarization.py).
DEFAULT_RATIO = 0.65


@Language.factory(
    "nlp_tasks_summarization",
    assigns=["doc._.summary", "doc._.summary_sents", "doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "max_sentences": 0,
        "max_tokens": 0,
        "ratio": DEFAULT_RATIO,
        "threshold": 0.0,
        "target_tokenizer": "backbone",
        "max_target_tokens": 256,
        "max_source_tokens": 512,
        "label_smoothing": 0.1,
        "generation": {
            "num_beams": 4,
            "max_new_tokens": 160,
            "length_penalty": 1.0,
            "no_repeat_ngram_size": 3,
        },
        "scorer": {"@scorers": "nlp_tasks_summarization.scorer.v1"},
    },
    default_score_weights={
        "summarization_rougeL": 1.0,
        "summarization_rouge1": 0.0,
        "summarization_rouge2": 0.0,
        "summarization_rouge1_p": None,
        "summarization_rouge1_r": None,
        "summarization_rouge2_p": None,
        "summarization_rouge2_r": None,
        "summarization_rougeL_p": None,
        "summarization_rougeL_r": None,
    },
)
def make_summarizer(
    nlp: Language,
    name: str,
    model: Model,
    max_sentences: int,
    max_tokens: int,
    ratio: float,
    threshold: float,
    target_tokenizer: str,
    max_target_tokens: int,
    max_source_tokens: int,
    label_smoothing: float,
    generation: dict[str, Any],
    scorer: Callable | None,
) -> "ExtractiveSummarizer | AbstractiveSummarizer":
    """Create a summarization component (factory ``nlp_tasks_summarization``).

    The model's architecture decides the mode, and with it the settings that apply.

    model (Model): The summarization model: ``nlp_tasks_summarization.Summarizer.v2``
        (extractive; or the older ``Summarizer.v1``) or
        ``nlp_tasks_summarization.AbstractiveSummarizer.v1``.
    max_sentences (int): Most sentences in a summary; 0 for no limit. Both modes
        (an abstractive summary is cut after that many sentences).
    max_tokens (int): Most tokens in a summary; 0 for no limit. Extractive: spaCy
        tokens, not counting whitespace. Abstractive: generated target tokens
        (it caps ``generation.max_new_tokens``).
    ratio (float): Extractive only: most tokens in a summary, as a share of the
        doc's tokens; 0 for no limit.
    threshold (float): Extractive only: sentences scoring below it are left out
        (the best one is always taken).
    target_tokenizer (str): Abstractive only: "backbone" (needed for the warm
        start), "train", or a Hugging Face tokenizer name or path.
    max_target_tokens (int): Abstractive only: longest training summary in
        target tokens; longer ones are cut, with a warning that counts them.
    max_source_tokens (int): Abstractive only: most document tokens the
        decoder attends to.
    label_smoothing (float): Abstractive only: label smoothing of the loss.
    generation (dict[str, Any]): Abstractive only: Hugging Face
        ``GenerationConfig`` settings (beams, length penalty, no-repeat n-grams...).
    scorer (Callable | None): The scoring function.
    """
    mode = model.attrs.get("summarization_mode")
    if mode not in COMPONENTS:
        raise ConfigError(Errors.SUM004.format(component=name, architecture=model.name))
    if mode == "abstractive":
        return AbstractiveSummarizer(
            nlp.vocab,
            model,
            name,
            max_sentences=max_sentences,
            max_tokens=max_tokens,
            target_tokenizer=target_tokenizer,
            max_target_tokens=max_target_tokens,
            max_source_tokens=max_source_tokens,
            label_smoothing=label_smoothing,
            generation=generation,
            scorer=scorer,
        )
    return ExtractiveSummarizer(
        nlp.vocab,
        model,
        name,
        max_sentences=max_sentences,
        max_tokens=max_tokens,
        ratio=ratio,
        threshold=threshold,
        scorer=scorer,
    )


class ExtractiveSummarizer(SharedBackboneHead, TrainablePipe):
    """Summarize a doc by choosing its most summary-worthy sentences.

    Each sentence gets a probability of belonging in the summary from the
    shared transformer's token vectors (mean over the sentence, plus its
    position and the other sentences of the doc). The best sentences, within
    the length controls, are the summary: ``doc._.summary`` (their texts
    joined by spaces) and ``doc._.summary_sents`` (Spans, in document order,
    also in ``doc.spans["summary"]`` with their scores in its ``attrs``).

    The head reads the transformer's output for the whole doc: it shares
    activations with the other document-level heads. Docs longer than the
    transformer's window are encoded whole, in strided windows, and scored
    whole. Training labels come from the reference summary in
    ``doc._.summary`` of each example's reference doc; an example without one
    (another task's) adds no loss. The sentences are the model's
    (``get_sentences``), in training and in prediction alike.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "summarization",
        *,
        max_sentences: int = 0,
        max_tokens: int = 0,
        ratio: float = DEFAULT_RATIO,
        threshold: float = 0.0,
        scorer: Callable | None = None,
    ) -> None:
        for setting, value, ok, rule in (
            ("max_sentences", max_sentences, _is_count(max_sentences), "an integer >= 0"),
            ("max_tokens", max_tokens, _is_count(max_tokens), "an integer >= 0"),
            ("ratio", ratio, _is_share(ratio), "a number from 0 to 1"),
            ("threshold", threshold, _is_share(threshold), "a number from 0 to 1"),
        ):
            if not ok:
                raise ConfigError(
                    Errors.SUM003.format(name=setting, rule=rule, value=value, component=name)
                )
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.max_sentences = max_sentences
        self.max_tokens = max_tokens
        self.ratio = ratio
        self.threshold = threshold
        # TrainablePipe saves `cfg` beside the weights and restores it over the
        # factory's settings on load. The length controls stay out of it, so
        # the config of a trained pipeline (or spacy.load(..., config=...))
        # still decides them.
        self.cfg: dict[str, Any] = {}
        self._labels_cache: dict[int, list[float]] = {}
        install_extensions()

    @property
    def get_sentences(self) -> Callable[[Doc], Any]:
        """The model's sentence getter: token bounds ``[start, end)`` of a doc's sentences."""
        return self.model.attrs["get_sentences"]

    def initialize(
        self, get_examples: Callable[[], Iterable[Example]], *, nlp: Language | None = None
    ) -> None:
        """Size the model from a small sample of the training docs.

        get_examples (Callable[[], Iterable[Example]]): Training examples; a
            few with text are enough (any task's: the model needs no labels).
        nlp (Language | None): The pipeline.
        """
        validate_get_examples(get_examples, "ExtractiveSummarizer.initialize")
        sample: list[Doc] = []
        for eg in get_examples():
            if len(eg.predicted):
                sample.append(eg.predicted)
            if len(sample) >= 10:
                break
        self.model.initialize(X=sample or None)

    def predict(self, docs: Iterable[Doc]) -> list[Floats1d]:
        """Each sentence's probability of belonging in the summary; changes no doc.

        docs (Iterable[Doc]): The docs.
        RETURNS (list[Floats1d]): One array per doc, one value per sentence
            of ``get_sentences(doc)``.
        """
        docs = list(docs)
        if not docs:
            return []
        ops = self.model.ops
        return [ops.sigmoid(logits, inplace=False) for logits in self.model.predict(docs)]

    def set_annotations(self, docs: Iterable[Doc], scores: list[Floats1d]) -> None:
        """Write the summary of each doc, chosen under the length controls.

        A blank doc (no tokens, or only whitespace tokens) gets no summary:
        ``doc._.summary`` None and no ``doc.spans["summary"]``.

        docs (Iterable[Doc]): The docs.
        scores (list[Floats1d]): The output of ``predict``.
        """
        for doc, doc_scores in zip(docs, scores):
            if is_blank(doc):
                doc._.summary = None
                if SPANS_KEY in doc.spans:
                    del doc.spans[SPANS_KEY]
                continue
            bounds = self.get_sentences(doc)
            values = [float(v) for v in self.model.ops.to_numpy(doc_scores)]
            lengths = [count_tokens(doc, start, end) for start, end in bounds]
            budget = token_budget(sum(lengths), max_tokens=self.max_tokens, ratio=self.ratio)
            chosen = select_sentences(
                values,
                lengths,
                budget=budget,
                max_sentences=self.max_sentences,
                threshold=self.threshold,
            )
            spans = [doc[int(bounds[i][0]) : int(bounds[i][1])] for i in chosen]
            doc.spans[SPANS_KEY] = SpanGroup(
                doc, name=SPANS_KEY, spans=spans, attrs={"scores": [values[i] for i in chosen]}
            )
            doc._.summary = " ".join(span.text for span in spans)

    def get_loss(
        self, examples: Iterable[Example], scores: list[Floats1d]
    ) -> tuple[float, list[Floats1d]]:
        """Binary cross-entropy of the sentence logits, over examples with a summary.

        examples (Iterable[Example]): The batch.
        scores (list[Floats1d]): The logits the model gave each doc's sentences.
        RETURNS (tuple[float, list[Floats1d]]): The mean loss per labelled
            sentence, and the gradient for each doc (zero where there is no gold).
        """
        ops = self.model.ops
        gradients, total, count = [], 0.0, 0
        for eg, logits in zip(examples, scores):
            summary = eg.reference._.summary if eg.reference.has_extension("summary") else None
            if not isinstance(summary, str) or not summary.strip() or not len(logits):
                gradients.append(ops.alloc1f(len(logits)))
                continue
            truths = ops.asarray1f(self.labels_for(eg.predicted, summary))
            probs = ops.sigmoid(logits, inplace=False)
            gradients.append(probs - truths)
            eps = 1e-7
            log_likelihood = truths * ops.xp.log(probs + eps)
            log_likelihood += (1 - truths) * ops.xp.log(1 - probs + eps)
            total -= float(log_likelihood.sum())
            count += len(truths)
        if count:
            gradients = [d / count for d in gradients]
        return total / max(count, 1), gradients

    def labels_for(self, doc: Doc, summary: str) -> list[float]:
        """The training labels of a doc's sentences against a reference summary.

        doc (Doc): The doc (an example's predicted doc).
        summary (str): Its reference summary.
        RETURNS (list[float]): 1.0 or 0.0 for each sentence of ``get_sentences(doc)``.
        """
        from .labels import sentence_labels

        bounds = self.get_sentences(doc)
        key = hash((doc.text, summary, bounds.tobytes()))
        labels = self._labels_cache.get(key)
        if labels is None:
            # The ROUGE oracle (for abstractive references) is slow enough to
            # be worth remembering across epochs; matching is cheap.
            if len(self._labels_cache) >= 50_000:
                self._labels_cache.clear()
            labels = sentence_labels([doc[s:e].text for s, e in bounds], summary)
            self._labels_cache[key] = labels
        return labels


class AbstractiveSummarizer(GenerativeHead):
    """Summarize a doc in new words, with a decoder cross-attending to the shared encoding.

    The core's ``GenerativeHead``: the decoder reads one vector per token of
    the whole doc (long docs are encoded in strided windows, then joined) and
    writes ``doc._.summary`` with Hugging Face generation, batched across docs.
    ``doc._.summary_sents`` stays empty: the summary's sentences are not spans
    of the doc. The gold is ``doc._.summary`` of each example's reference doc;
    examples without one (another task's) add no loss.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "summarization",
        *,
        max_sentences: int = 0,
        max_tokens: int = 0,
        **settings: Any,
    ) -> None:
        for setting, value in (("max_sentences", max_sentences), ("max_tokens", max_tokens)):
            if not _is_count(value):
                raise ConfigError(
                    Errors.SUM003.format(
                        name=setting, rule="an integer >= 0", value=value, component=name
                    )
                )
        generation = dict(settings.pop("generation", None) or {})
        if max_tokens:
            generation["max_new_tokens"] = min(
                max_tokens, generation.get("max_new_tokens", max_tokens)
            )
        super().__init__(vocab, model, name, generation=generation, **settings)
        self.max_sentences = max_sentences
        install_extensions()

    def target_of(self, example: Example) -> str | None:
        """The reference summary of a training example.

        example (Example): A training example.
        RETURNS (str | None): Its ``doc._.summary``; None for other tasks' examples.
        """
        reference = example.reference
        summary = reference._.summary if reference.has_extension("summary") else None
        return summary if isinstance(summary, str) and summary.strip() else None

    def set_output(self, doc: Doc, text: str | None) -> None:
        """Write ``doc._.summary``, cut to ``max_sentences`` sentences when set.

        doc (Doc): The doc.
        text (str | None): The generated summary; None for a blank doc.
        """
        if text is not None and self.max_sentences:
            text = " ".join(_SENTENCE_END.split(text.strip())[: self.max_sentences])
        doc._.summary = text


#: The component class of each summarization mode.
COMPONENTS: dict[str, type] = {
    "extractive": ExtractiveSummarizer,
    "abstractive": AbstractiveSummarizer,
}
#: Where a generated summary's sentences end: after ., ! or ? and whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_share(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
