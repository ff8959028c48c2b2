"""The QA component: extractive answers to questions about a document."""

import numbers
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from thinc.api import Config, Model, set_dropout_rate

from nlp_tasks import (
    ConfigError,
    SharedBackboneHead,
    ensure_doc_extensions,
    is_blank,
    listener_config,
    shared_transformer,
)

from . import model as _model  # noqa: F401  (registers its architectures)
from . import scorer as _scorer  # noqa: F401  (registers its scorer)
from .errors import Errors, Warnings

#: What a mode's ``_score_spans`` gives for one question: (start char, end
#: char, score) candidates, best first, and the question's no-answer score.
Candidates = tuple[list[tuple[int, int, float]], float]

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "nlp_tasks_qa.JointSpanScorer.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]

#: The cross-attention mode's model block; measured against the joint default
#: in the plugin's README. ``[components.qa.model]`` takes it as it is.
CROSS_MODEL_CONFIG = """
[model]
@architectures = "nlp_tasks_qa.CrossAttentionSpanScorer.v1"
hidden_width = 256
n_heads = 4
dropout = 0.1
""" + listener_config("model.tok2vec")


@Language.factory(
    "nlp_tasks_qa",
    assigns=["doc._.answers", "doc._.qa_output"],
    default_config={
        "model": DEFAULT_MODEL,
        "max_length": 384,
        "stride": 128,
        "max_question_length": 64,
        "max_answer_length": 30,
        "threshold": 0.0,
        "handle_impossible_answer": False,
        "batch_size": 16,
        "scorer": {"@scorers": "nlp_tasks_qa.scorer.v1"},
    },
    default_score_weights={
        "qa_f1": 1.0,
        "qa_exact": None,
        "qa_has_answer_f1": None,
        "qa_no_answer_exact": None,
    },
)
def make_qa(
    nlp: Language,
    name: str,
    model: Model,
    max_length: int,
    stride: int,
    max_question_length: int,
    max_answer_length: int,
    threshold: float,
    handle_impossible_answer: bool,
    batch_size: int,
    scorer: Callable | None,
) -> "QuestionAnswerer":
    """Create a QA component (factory ``nlp_tasks_qa``).

    The model's architecture decides the mode, and with it the component's
    class: ``JointQuestionAnswerer`` or ``CrossAttentionQuestionAnswerer``.

    model (Model): A QA architecture: ``nlp_tasks_qa.JointSpanScorer.v1`` (the
        default) or ``nlp_tasks_qa.CrossAttentionSpanScorer.v1``.
    max_length (int): Wordpieces in a (question, context) window, special
        tokens included (joint mode).
    stride (int): Context wordpieces shared by consecutive windows of a long
        context (joint mode).
    max_question_length (int): Longer questions keep their first this many
        wordpieces, with a warning.
    max_answer_length (int): Most wordpieces (joint) or tokens (cross) in an answer.
    threshold (float): From 0 to 1; answers scoring below this are dropped: "no answer".
    handle_impossible_answer (bool): Joint mode: drop the spans that score below
        the question's no-answer score (the classifier token as start and end,
        in the window most sure there is an answer), as Hugging Face's QA
        pipeline does with the same flag. For a head trained on no-answer
        questions (SQuAD v2.0 records with empty answers). The cross mode has
        no no-answer score and ignores it.
    batch_size (int): Windows (joint) or questions (cross) per forward pass.
    scorer (Callable | None): The scoring function.
    """
    mode = model.attrs.get("qa_mode")
    if mode not in COMPONENTS:
        raise ConfigError(Errors.QA023.format(name=name, mode=mode))
    return COMPONENTS[mode](
        nlp,
        model,
        name,
        max_length=max_length,
        stride=stride,
        max_question_length=max_question_length,
        max_answer_length=max_answer_length,
        threshold=threshold,
        handle_impossible_answer=handle_impossible_answer,
        batch_size=batch_size,
        scorer=scorer,
    )


@dataclass
class Answer:
    """An answer to a question about a doc.

    question (str): The question.
    text (str): The answer, ``doc.text[start:end]``.
    start (int): Character offset of the answer's start in the doc.
    end (int): Character offset of the answer's end in the doc.
    score (float): The span's probability: P(start) * P(end), each a softmax
        over the positions of the window that holds it (0 to 1).
    span (Span): The answer as a span of the doc's tokens.
    """

    question: str
    text: str
    start: int
    end: int
    score: float
    span: Span

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON data.

        RETURNS (dict[str, Any]): ``question``, ``text``, ``start``, ``end``, ``score``.
        """
        return {
            "question": self.question,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": self.score,
        }


class ExtractiveQA(TrainablePipe):
    """Finds the span of a doc that answers a question, SQuAD style.

    Questions come from ``doc._.questions`` (a list of strings, or one string
    as one question; batch processing fills it from each record's
    ``questions``), or from ``ask``. A doc without questions costs nothing. The
    answers go to ``doc._.answers`` (``Answer`` or None per question, in order)
    and, as JSON data, ``doc._.qa_output``. A blank doc (no tokens, or only
    whitespace tokens) has no answer to any question and is not read. An empty
    or blank question is an error (QA010), wherever it is asked.

    What both modes share: asking, the spaCy pipe API, the gold of an update,
    ranking the candidate spans. Each mode's class reads the question with the
    doc (``_score_spans``), learns from a batch (``_learn``) and sizes its
    model (``_initialize_model``) in its own way.
    """

    #: ``"joint"`` or ``"cross"``: the ``attrs["qa_mode"]`` of the models the class runs.
    mode: str = ""

    def __init__(
        self,
        nlp: Language,
        model: Model,
        name: str = "qa",
        *,
        max_length: int = 384,
        stride: int = 128,
        max_question_length: int = 64,
        max_answer_length: int = 30,
        threshold: float = 0.0,
        handle_impossible_answer: bool = False,
        batch_size: int = 16,
        scorer: Callable | None = None,
    ) -> None:
        install_extensions()
        mode = model.attrs.get("qa_mode")
        if mode != self.mode:
            if mode in COMPONENTS:
                raise ConfigError(Errors.QA024.format(cls=type(self).__name__, mode=mode))
            raise ConfigError(Errors.QA023.format(name=name, mode=mode))
        room = max_length - max_question_length - 3
        settings = {
            "max_length": max_length,
            "max_question_length": max_question_length,
            "stride": stride,
        }
        if room < 1:
            raise ConfigError(Errors.QA020.format(**settings))
        self._check_window(room, settings)
        threshold = _check_threshold(
            threshold, name=f"[components.{name}] threshold", error=ConfigError
        )
        self.vocab = nlp.vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self._nlp = nlp
        self._frozen: bool | None = None
        self.cfg = {
            "max_length": max_length,
            "stride": stride,
            "max_question_length": max_question_length,
            "max_answer_length": max_answer_length,
            "threshold": threshold,
            "handle_impossible_answer": bool(handle_impossible_answer),
            "batch_size": batch_size,
        }

    # Saving and loading -----------------------------------------------------

    def from_disk(self, path: Any, *, exclude: Iterable[str] = ()) -> "ExtractiveQA":
        """Load the weights from a directory, keeping the settings of the config.

        TrainablePipe would restore the ``cfg`` saved with the weights over the
        factory's settings; it is not read, so a threshold or
        ``handle_impossible_answer`` set in ``config.cfg`` (or
        ``spacy.load(..., config=...)``) is the one the head uses.

        path (str | Path): The component's directory.
        exclude (Iterable[str]): Serialization fields to leave out.
        RETURNS (ExtractiveQA): The component.
        """
        return super().from_disk(path, exclude=[*exclude, "cfg"])

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = ()) -> "ExtractiveQA":
        """Load the weights from bytes, keeping the settings of the config (see ``from_disk``).

        bytes_data (bytes): The serialized component.
        exclude (Iterable[str]): Serialization fields to leave out.
        RETURNS (ExtractiveQA): The component.
        """
        return super().from_bytes(bytes_data, exclude=[*exclude, "cfg"])

    # Asking -----------------------------------------------------------------

    def ask(
        self,
        doc: Doc | str,
        question: str,
        *,
        top_k: int = 1,
        threshold: float | None = None,
    ) -> list[Answer]:
        """Answer one question about a doc.

        doc (Doc | str): The doc, or a text to make one from. A blank doc (no
            tokens, or only whitespace) has no answer.
        question (str): The question; an empty or blank one is an error (QA010).
        top_k (int): How many answers to return at most, best first; an
            integer >= 1 (QA012 otherwise).
        threshold (float | None): Drop answers scoring below this, a number
            from 0 to 1 (QA013 otherwise); None: the component's ``threshold``.
        RETURNS (list[Answer]): Up to ``top_k`` answers; empty for "no answer".
        """
        return self.ask_many([(doc, question)], top_k=top_k, threshold=threshold)[0]

    def ask_many(
        self,
        pairs: Iterable[tuple[Doc | str, str]],
        *,
        top_k: int = 1,
        threshold: float | None = None,
    ) -> list[list[Answer]]:
        """Answer many questions about many docs, batched together.

        pairs (Iterable[tuple[Doc | str, str]]): (doc, question) pairs; repeat a
            doc to ask it several questions. Blank docs have no answer.
        top_k (int): How many answers per question at most, best first; an
            integer >= 1 (QA012 otherwise).
        threshold (float | None): Drop answers scoring below this, a number
            from 0 to 1 (QA013 otherwise); None: the component's ``threshold``.
        RETURNS (list[list[Answer]]): The answers to each pair, in order.
        """
        top_k = _check_top_k(top_k)
        if threshold is not None:
            threshold = _check_threshold(threshold)
        checked = []
        for index, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                value = repr(pair)
                value = value if len(value) <= 60 else value[:57] + "..."
                raise TypeError(Errors.QA015.format(index=index, value=value))
            doc, question = pair
            if isinstance(doc, str):
                doc = self._nlp.make_doc(doc)
            elif not isinstance(doc, Doc):
                raise TypeError(Errors.QA011.format(type=type(doc).__name__))
            checked.append((doc, _check_question(question)))
        if threshold is None:
            threshold = self.cfg["threshold"]
        spans = self._answer(checked, top_k=top_k, threshold=threshold)
        return [
            [_make_answer(doc, question, *span) for span in found]
            for (doc, question), found in zip(checked, spans)
        ]

    # The spaCy pipe API -----------------------------------------------------

    def predict(self, docs: Iterable[Doc]) -> list[list[list[tuple[int, int, float]]]]:
        """Answer the questions in each doc's ``doc._.questions``; does not change the docs.

        docs (Iterable[Doc]): The docs.
        RETURNS (list): For each doc, for each of its questions, the best
            (start char, end char, score) above the threshold, or nothing.
        """
        docs = list(docs)
        pairs, owners = [], []
        for i, doc in enumerate(docs):
            for question in questions_of(doc):
                pairs.append((doc, _check_question(question)))
                owners.append(i)
        found: list[list[list[tuple[int, int, float]]]] = [[] for _ in docs]
        if not pairs:
            return found
        answers = self._answer(pairs, top_k=1, threshold=self.cfg["threshold"])
        for owner, spans in zip(owners, answers):
            found[owner].append(spans)
        return found

    def set_annotations(self, docs: Iterable[Doc], predictions: Any) -> None:
        """Write ``doc._.qa_output``: the best answer to each question, or None.

        docs (Iterable[Doc]): The docs.
        predictions: The output of ``predict``.
        """
        for doc, per_question in zip(docs, predictions):
            if not questions_of(doc):
                doc._.qa_output = []
                continue
            outputs = []
            for spans in per_question:
                if spans:
                    start, end, score = spans[0]
                    outputs.append(
                        {"text": doc.text[start:end], "start": start, "end": end, "score": score}
                    )
                else:
                    outputs.append(None)
            doc._.qa_output = outputs

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Any = None,
        losses: dict[str, float] | None = None,
    ) -> dict[str, float]:
        """Learn from the examples that have QA gold; the others add no loss.

        examples (Iterable[Example]): The batch.
        drop (float): The dropout rate.
        sgd (thinc.api.Optimizer | None): The optimizer, for the head's weights.
            The shared backbone's gradients are applied by the transformer
            component's ``finish_update``.
        losses (dict[str, float] | None): Losses by component name, updated.
        RETURNS (dict[str, float]): The updated losses.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "QuestionAnswerer.update")
        gold = []
        for i, eg in enumerate(examples):
            record = eg.reference._.qa_gold
            if not record:
                continue
            span = None
            if record["answers"]:
                text, start = record["answers"][0]
                span = (start, start + len(text))
            gold.append((i, record["question"], span))
        if not gold:
            return losses
        set_dropout_rate(self.model, drop)
        loss = self._learn(examples, gold)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores: Any) -> tuple[float, Any]:
        """Not used: ``update`` computes the span loss window by window."""
        raise NotImplementedError("QuestionAnswerer computes its loss inside update().")

    def initialize(
        self, get_examples: Callable[[], Iterable[Example]], *, nlp: Language | None = None
    ) -> None:
        """Size the head from the backbone, which the transformer component has loaded.

        get_examples (Callable[[], Iterable[Example]]): A sample of training examples.
        nlp (Language | None): The pipeline.
        """
        validate_get_examples(get_examples, "QuestionAnswerer.initialize")
        if nlp is not None:
            self._nlp = nlp
        self._frozen = None
        transformer, _ = self._backbone()
        self._initialize_model(transformer)

    # What each mode does its own way ----------------------------------------

    def _check_window(self, room: int, settings: dict[str, int]) -> None:
        """Check the window settings; ``room`` is the context's part of a window."""

    def _initialize_model(self, transformer: Any) -> None:
        """Size ``self.model`` from the backbone (a Hugging Face module)."""
        raise NotImplementedError

    def _score_spans(self, pairs: list[tuple[Doc, str]], top_k: int) -> list[Candidates]:
        """Per (doc, question): up to ``top_k`` (start char, end char, score)
        candidates, best first, and the question's no-answer score (0.0 where
        the mode has none)."""
        raise NotImplementedError

    def _learn(self, examples: list[Example], gold: list[tuple[int, str, Any]]) -> float:
        """Backprop the span loss of the (example index, question, char span)
        gold; the span is None for a question the context does not answer."""
        raise NotImplementedError

    # Internals --------------------------------------------------------------

    def _backbone(self) -> tuple[Any, Any]:
        model = shared_transformer(self._nlp, component=self.name).model
        return model.transformer, model.tokenizer

    def _backbone_frozen(self) -> bool:
        # `spacy train` neither updates nor steps a frozen transformer, so
        # gradients sent into its weights would pile up unused. spaCy tells no
        # component which others are frozen (`Language.update` keeps its
        # `exclude` to itself), so the [training] block of the pipeline's config
        # is the only place to learn it. Read once: building `nlp.config` is slow.
        if self._frozen is None:
            name = shared_transformer(self._nlp, component=self.name).name
            training = self._nlp.config.get("training", {})
            self._frozen = name in (training.get("frozen_components") or [])
        return self._frozen

    def _warn_truncated(self, questions: Sequence[str], truncated: Sequence[int]) -> None:
        if truncated:
            warnings.warn(
                Warnings.QA101.format(
                    count=len(truncated),
                    limit=self.cfg["max_question_length"],
                    example=questions[truncated[0]][:80],
                    name=self.name,
                ),
                stacklevel=3,
            )

    def _answer(
        self, pairs: list[tuple[Doc, str]], *, top_k: int, threshold: float
    ) -> list[list[tuple[int, int, float]]]:
        # A blank context has no answer; it is not read, so it takes no room
        # in the batch of the others.
        answers: list[list[tuple[int, int, float]]] = [[] for _ in pairs]
        todo = [i for i, (doc, _) in enumerate(pairs) if not is_blank(doc)]
        if not todo:
            return answers
        # Snapping to token boundaries can merge two candidates; ask for a few
        # more than top_k so that top_k distinct spans remain.
        wanted = top_k + 4
        raw = self._score_spans([pairs[i] for i in todo], wanted)
        abstain = self.cfg["handle_impossible_answer"]
        for i, (candidates, no_answer) in zip(todo, raw):
            doc = pairs[i][0]
            seen: dict[tuple[int, int], float] = {}
            for start, end, score in candidates:
                if score < threshold or (abstain and score < no_answer):
                    continue
                span = doc.char_span(start, end, alignment_mode="expand")
                if span is not None:
                    start, end = span.start_char, span.end_char
                if score > seen.get((start, end), -1.0):
                    seen[(start, end)] = score
            ranked = sorted(seen.items(), key=lambda item: (-item[1], item[0]))
            answers[i] = [(s, e, score) for (s, e), score in ranked[:top_k]]
        return answers


class QuestionAnswerer(SharedBackboneHead, ExtractiveQA):
    """The base of the QA component's two classes; it always passes a gradient to the listener.

    Only the cross-attention mode has a listener. In a batch without QA gold it
    returns before reading it, and ``SharedBackboneHead`` then sends the
    listener a zero gradient, so the backbone still learns from the other heads
    when this head is the last listener in the pipeline.
    """


class JointQuestionAnswerer(QuestionAnswerer):
    """The joint mode (``nlp_tasks_qa.JointSpanScorer.v1``, the default).

    The head runs the shared transformer's weights on (question, context
    window) pairs itself: it shares the backbone's weights with the other
    heads, not their forward pass, since every question needs the context
    encoded with it. A context longer than a window is read in overlapping
    windows (``max_length``, ``stride``). Its gradients go into the shared
    weights, which the transformer component's ``finish_update`` applies.
    """

    mode = "joint"

    def _check_window(self, room: int, settings: dict[str, int]) -> None:
        if not 0 <= settings["stride"] < room:
            raise ConfigError(Errors.QA021.format(room=room, **settings))

    def _initialize_model(self, transformer: Any) -> None:
        self._check_length(transformer)
        width = transformer.config.hidden_size
        self.model.initialize(X=self.model.ops.alloc2f(2, width))

    def _check_length(self, transformer: Any) -> None:
        limit = getattr(transformer.config, "max_position_embeddings", None)
        if limit and self.cfg["max_length"] > limit:
            raise ConfigError(
                Errors.QA022.format(
                    max_length=self.cfg["max_length"],
                    backbone=getattr(transformer.config, "_name_or_path", "?"),
                    limit=limit,
                    name=self.name,
                )
            )

    def _windows(self, tokenizer: Any, questions: list[str], contexts: list[str]) -> Any:
        from .windows import make_windows

        windows = make_windows(
            tokenizer,
            questions,
            contexts,
            max_length=self.cfg["max_length"],
            stride=self.cfg["stride"],
            max_question_length=self.cfg["max_question_length"],
        )
        self._warn_truncated(questions, windows.truncated)
        return windows

    def _score_spans(self, pairs: list[tuple[Doc, str]], top_k: int) -> list[Candidates]:
        import torch
        from thinc.api import torch2xp

        from .windows import best_spans, log_softmax, merge_spans

        transformer, tokenizer = self._backbone()
        windows = self._windows(tokenizer, [q for _, q in pairs], [d.text for d, _ in pairs])
        found: list[list[tuple[int, int, float]]] = [[] for _ in pairs]
        # A question's no-answer score is that of the window most sure the
        # answer is there: any window that does not hold it points to position 0.
        no_answer = [1.0 for _ in pairs]
        transformer.eval()
        ops = self.model.ops
        for chunk in _chunks(len(windows), self.cfg["batch_size"]):
            inputs = _to_torch(windows.batch(chunk, tokenizer.pad_token_id or 0), transformer)
            with torch.no_grad():
                hidden = transformer(**inputs).last_hidden_state
            n, length, width = hidden.shape
            scores = self.model.predict(torch2xp(hidden).reshape(n * length, width))
            scores = ops.to_numpy(scores).reshape(n, length, 2)
            allowed = windows.allowed(chunk, length)
            starts = log_softmax(scores[:, :, 0], allowed)
            ends = log_softmax(scores[:, :, 1], allowed)
            for row, w in enumerate(chunk):
                p = windows.pair[w]
                no_answer[p] = min(no_answer[p], float(numpy.exp(starts[row, 0] + ends[row, 0])))
                found[p].extend(
                    best_spans(
                        starts[row],
                        ends[row],
                        windows.offsets[w],
                        max_answer_length=self.cfg["max_answer_length"],
                        top_k=top_k,
                    )
                )
        return [(merge_spans(spans, top_k), no) for spans, no in zip(found, no_answer)]

    def _learn(self, examples: list[Example], gold: list[tuple[int, str, Any]]) -> float:
        import torch
        from thinc.api import torch2xp, xp2torch

        from .windows import gold_positions

        transformer, tokenizer = self._backbone()
        contexts = [examples[i].predicted.text for i, _, _ in gold]
        windows = self._windows(tokenizer, [q for _, q, _ in gold], contexts)
        targets = gold_positions(windows, [span for _, _, span in gold])
        trainable = not self._backbone_frozen()
        transformer.train(trainable)
        ops = self.model.ops
        total = 0.0
        for chunk in _chunks(len(windows), self.cfg["batch_size"]):
            inputs = _to_torch(windows.batch(chunk, tokenizer.pad_token_id or 0), transformer)
            with torch.set_grad_enabled(trainable):
                hidden = transformer(**inputs).last_hidden_state
            n, length, width = hidden.shape
            scores, backprop = self.model.begin_update(
                torch2xp(hidden.detach()).reshape(n * length, width)
            )
            allowed = ops.asarray(windows.allowed(chunk, length))
            loss, d_scores = _span_loss(
                ops, scores.reshape(n, length, 2), allowed, targets[chunk], len(windows)
            )
            total += loss
            d_hidden = backprop(d_scores.reshape(n * length, 2))
            if trainable:
                hidden.backward(xp2torch(d_hidden.reshape(n, length, width)))
        return total


class CrossAttentionQuestionAnswerer(QuestionAnswerer):
    """The cross-attention mode (``nlp_tasks_qa.CrossAttentionSpanScorer.v1``).

    The head reads the doc through the shared listener, like the other heads,
    and encodes only the question on its own, with the backbone's weights; the
    doc's tokens then attend to the question's wordpieces.
    """

    mode = "cross"

    def _initialize_model(self, transformer: Any) -> None:
        self.model.initialize()
        # The attention's lazy input layers take their widths from a first
        # batch: give them one of the backbone's width. begin_update, not
        # predict: predict runs the module in eval mode, without dropout, and
        # the random draws of the training that follows would differ.
        width = transformer.config.hidden_size
        ops = self.model.ops
        sample, mask = ops.alloc3f(1, 1, width), ops.alloc2f(1, 1) + 1.0
        self.model.get_ref("attention").begin_update((sample, mask, sample, mask))

    def _encode_questions(self, questions: list[str], *, train: bool) -> tuple[Any, Any, Any]:
        import torch
        from thinc.api import torch2xp

        from .windows import truncate_questions

        transformer, tokenizer = self._backbone()
        questions, truncated = truncate_questions(
            tokenizer, questions, self.cfg["max_question_length"]
        )
        self._warn_truncated(questions, truncated)
        encoded = tokenizer(questions, padding=True, return_tensors="np")
        inputs = _to_torch(
            {k: v for k, v in encoded.items() if k in tokenizer.model_input_names}, transformer
        )
        transformer.train(train)
        with torch.set_grad_enabled(train):
            hidden = transformer(**inputs).last_hidden_state
        mask = self.model.ops.asarray2f(encoded["attention_mask"].astype("float32"))
        return hidden, torch2xp(hidden.detach()), mask

    def _cross_inputs(self, docs: list[Doc]) -> tuple[list[Doc], list[int]]:
        unique: dict[int, int] = {}
        ordered: list[Doc] = []
        pairs = []
        for doc in docs:
            if id(doc) not in unique:
                unique[id(doc)] = len(ordered)
                ordered.append(doc)
            pairs.append(unique[id(doc)])
        return ordered, pairs

    def _score_spans(self, pairs: list[tuple[Doc, str]], top_k: int) -> list[Candidates]:
        from .windows import best_spans, log_softmax

        found: list[Candidates] = []
        prepared: dict[int, Doc] = {}
        for doc, _ in pairs:
            if id(doc) not in prepared:
                prepared[id(doc)] = self._with_activations(doc)
        for chunk in _chunks(len(pairs), self.cfg["batch_size"]):
            docs, doc_of = self._cross_inputs([prepared[id(pairs[i][0])] for i in chunk])
            _, questions, mask = self._encode_questions([pairs[i][1] for i in chunk], train=False)
            scores, doc_mask = self.model.predict((docs, doc_of, questions, mask))
            scores = self.model.ops.to_numpy(scores)
            allowed = self.model.ops.to_numpy(doc_mask) > 0.5
            starts = log_softmax(scores[:, :, 0], allowed)
            ends = log_softmax(scores[:, :, 1], allowed)
            for row, d in enumerate(doc_of):
                tokens = [(t.idx, t.idx + len(t)) for t in docs[d]]
                candidates = tokens + [None] * (scores.shape[1] - len(tokens))
                spans = best_spans(
                    starts[row],
                    ends[row],
                    candidates,
                    max_answer_length=self.cfg["max_answer_length"],
                    top_k=top_k,
                )
                found.append((spans, 0.0))
        return found

    def _with_activations(self, doc: Doc) -> Doc:
        # The listener reads doc._.trf_data; a doc that did not go through the
        # pipeline (or whose activations were freed) gets them on a copy.
        if doc.has_extension("trf_data") and doc._.trf_data is not None:
            return doc
        transformer = shared_transformer(self._nlp, component=self.name)
        return transformer(doc.copy())

    def _learn(self, examples: list[Example], gold: list[tuple[int, str, Any]]) -> float:
        from thinc.api import xp2torch

        # Doc tokens are the only positions here: nothing stands for "no
        # answer", so the cross mode learns from answerable questions alone.
        gold = [g for g in gold if g[2] is not None]
        if not gold:
            return 0.0
        ops = self.model.ops
        docs = [eg.predicted for eg in examples]
        doc_of = [i for i, _, _ in gold]
        trainable = not self._backbone_frozen()
        hidden, questions, mask = self._encode_questions([q for _, q, _ in gold], train=trainable)
        (scores, doc_mask), backprop = self.model.begin_update((docs, doc_of, questions, mask))
        targets = _token_targets(docs, gold)
        loss, d_scores = _span_loss(ops, scores, doc_mask > 0.5, targets, len(gold))
        d_questions = backprop(d_scores)
        if trainable:
            hidden.backward(xp2torch(d_questions))
        return loss


#: The component class of each QA mode, by its model's ``attrs["qa_mode"]``.
COMPONENTS: dict[str, type[QuestionAnswerer]] = {
    "joint": JointQuestionAnswerer,
    "cross": CrossAttentionQuestionAnswerer,
}


def _token_targets(docs: list[Doc], gold: list[tuple[int, str, Any]]) -> Any:
    # The first and last token of each answer, from (doc index, question,
    # (start char, end char)) per question: (n_questions, 2) integers.
    import numpy

    targets = numpy.zeros((len(gold), 2), dtype="int64")
    for row, (i, _, (start, end)) in enumerate(gold):
        span = docs[i].char_span(start, end, alignment_mode="expand")
        targets[row] = (span.start, span.end - 1)
    return targets


def _span_loss(
    ops: Any, scores: Any, allowed: Any, targets: Any, n_total: int
) -> tuple[float, Any]:
    """Cross-entropy of the gold start and end among the allowed positions.

    scores: (n, length, 2). allowed: (n, length) booleans. targets: (n, 2).
    Normalized by ``n_total`` (all windows or questions of the batch), so
    chunks add up to the batch's mean. Returns the loss and d(loss)/d(scores).
    """
    xp = ops.xp
    targets = xp.asarray(targets)
    masked = xp.where(allowed[:, :, None], scores, -1e4)
    shifted = masked - masked.max(axis=1, keepdims=True)
    probs = xp.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    rows = xp.arange(scores.shape[0])
    loss = 0.0
    d_scores = probs.copy()
    for k in (0, 1):
        loss -= float(xp.log(probs[rows, targets[:, k], k] + 1e-12).sum())
        d_scores[rows, targets[:, k], k] -= 1.0
    d_scores *= allowed[:, :, None]
    return loss / (2 * n_total), (d_scores / (2 * n_total)).astype("float32")


def _chunks(n: int, size: int) -> Iterable[list[int]]:
    for start in range(0, n, max(1, size)):
        yield list(range(start, min(n, start + size)))


def _to_torch(inputs: dict[str, Any], transformer: Any) -> dict[str, Any]:
    import torch

    device = next(transformer.parameters()).device
    return {key: torch.as_tensor(value, device=device) for key, value in inputs.items()}


def _check_top_k(top_k: Any) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise ValueError(Errors.QA012.format(value=top_k))
    return int(top_k)


def _check_threshold(
    threshold: Any, *, name: str = "threshold", error: type[ValueError] = ValueError
) -> float:
    # NaN fails the range check too.
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not 0 <= threshold <= 1
    ):
        raise error(Errors.QA013.format(name=name, value=threshold))
    return float(threshold)


def questions_of(doc: Doc) -> list[str]:
    """The questions to ask of a doc, from ``doc._.questions``.

    One string is one question, as in a CSV cell of batch input; None is none.
    The questions themselves are checked when they are asked (QA010).

    doc (Doc): The doc.
    RETURNS (list[str]): The questions, in order.
    """
    questions = doc._.questions
    if questions is None:
        return []
    if isinstance(questions, str):
        return [questions]
    if not isinstance(questions, (list, tuple)) or not all(isinstance(q, str) for q in questions):
        text = repr(questions)
        raise ValueError(
            Errors.QA014.format(
                type=type(questions).__name__,
                value=text if len(text) <= 80 else text[:77] + "...",
            )
        )
    return list(questions)


def _check_question(question: Any) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ValueError(Errors.QA010.format(value=repr(question)))
    try:
        # The tokenizer encodes UTF-8, which a lone surrogate cannot be (its TypeError).
        question.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(Errors.QA010.format(value=f"{question!r} (a lone surrogate)")) from None
    return question


def _make_answer(doc: Doc, question: str, start: int, end: int, score: float) -> Answer:
    span = doc.char_span(start, end, alignment_mode="expand")
    return Answer(question, doc.text[start:end], start, end, score, span)


def _answers_of(doc: Doc) -> list[Answer | None]:
    questions = questions_of(doc)
    outputs = doc._.qa_output or [None] * len(questions)
    answers: list[Answer | None] = []
    for question, output in zip(questions, outputs):
        if output is None:
            answers.append(None)
        else:
            answers.append(
                _make_answer(doc, question, output["start"], output["end"], output["score"])
            )
    return answers


def install_extensions() -> None:
    """Add the QA extensions to ``Doc``; safe to call again.

    ``questions`` (input, shared with batch processing), ``qa_output`` (the
    answers as JSON data, kept in ``doc.user_data`` so docs serialize),
    ``answers`` (a getter giving ``Answer`` objects with their spans) and
    ``qa_gold`` (training gold on reference docs).
    """
    ensure_doc_extensions("questions", "qa_output", "qa_gold", answers=_answers_of)
