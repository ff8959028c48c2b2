"""The topics component: spaCy's multi-label text classifier on the shared listener."""

from collections.abc import Callable, Iterable
from typing import Any

from spacy.language import Language
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from thinc.api import Config, Model
from thinc.types import Floats2d

from nlp_tasks import SharedBackboneHead, ensure_doc_extensions, listener_config

from . import scorer as _scorer  # noqa: F401  (registers its scorer)

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy.TextCatReduce.v1"
exclusive_classes = false
use_reduce_first = false
use_reduce_last = false
use_reduce_max = false
use_reduce_mean = true
nO = null
""" + listener_config("model.tok2vec")
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "nlp_tasks_topics",
    assigns=["doc._.topics", "doc._.topic_scores"],
    default_config={
        "model": DEFAULT_MODEL,
        "threshold": 0.5,
        "scorer": {"@scorers": "nlp_tasks_topics.scorer.v1"},
    },
    default_score_weights={
        "topics_micro_f": 1.0,
        "topics_micro_p": None,
        "topics_micro_r": None,
        "topics_macro_f": None,
        "topics_f_per_type": None,
    },
)
def make_topics(
    nlp: Language, name: str, model: Model, threshold: float, scorer: Callable | None
) -> "TopicTagger":
    """Create a topics component (factory ``nlp_tasks_topics``).

    model (Model[List[Doc], Floats2d]): Docs to one independent probability per topic.
    threshold (float): A topic is tagged when its probability reaches this.
    scorer (Callable | None): The scoring function.
    """
    return TopicTagger(nlp.vocab, model, name, threshold=threshold, scorer=scorer)


class TopicTagger(SharedBackboneHead, MultiLabel_TextCategorizer):
    """Any number of topics per doc, in ``doc._.topics`` and ``doc._.topic_scores``.

    The gold and the predictions live in Doc extensions rather than
    ``doc.cats``, which the sentiment head owns. A doc whose reference has no
    ``doc._.topics`` (an example of another task) adds no loss; a tagged doc
    counts every topic it lacks as a negative.
    """

    def __init__(self, vocab, model, name="topics", *, threshold=0.5, scorer=None) -> None:
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        install_extensions()

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Language | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        """Take the topics from the examples' ``doc._.topics``, then size the model.

        get_examples (Callable[[], Iterable[Example]]): A sample of training examples.
        nlp (Language | None): The pipeline.
        labels (Iterable[str] | None): Topics to use instead of the examples'.
        """
        if labels is None:
            labels = sorted({t for eg in get_examples() for t in eg.reference._.topics or []})
        super().initialize(get_examples, nlp=nlp, labels=labels)

    def get_loss(self, examples: Iterable[Example], scores: Floats2d) -> tuple[float, Floats2d]:
        """The mean squared error of the topic probabilities, over the tagged docs.

        spaCy's textcat loss, with the gold taken from ``doc._.topics``: a doc
        whose reference has none (another task's example) adds no error and
        gets no gradient.

        examples (Iterable[Example]): The batch.
        scores (Floats2d): The model's probabilities for it, one row per example.
        RETURNS (tuple[float, Floats2d]): The loss and its gradient.
        """
        examples = list(examples)
        validate_examples(examples, "TopicTagger.get_loss")
        truths = self.model.ops.alloc2f(len(examples), len(self.labels))
        not_missing = self.model.ops.alloc2f(len(examples), len(self.labels))
        for i, eg in enumerate(examples):
            topics = eg.reference._.topics
            if topics is None:
                continue
            not_missing[i] = 1.0
            for j, label in enumerate(self.labels):
                truths[i, j] = float(label in topics)
        d_scores = (scores - truths) * not_missing
        return float((d_scores**2).mean()), d_scores

    def set_annotations(self, docs: Iterable[Doc], scores: Any) -> None:
        """Write each doc's topics above the threshold and every topic's probability.

        A blank doc (no tokens, or only whitespace tokens) gets none: both
        extensions stay None, as for a doc the head never saw.

        docs (Iterable[Doc]): The docs.
        scores: The output of ``predict``, one row per doc.
        """
        rows = self.model.ops.to_numpy(scores)
        for doc, row in zip(docs, rows):
            if not doc.text.strip():
                doc._.topic_scores = None
                doc._.topics = None
                continue
            probabilities = {label: float(p) for label, p in zip(self.labels, row)}
            doc._.topic_scores = probabilities
            doc._.topics = [t for t, p in probabilities.items() if p >= self.cfg["threshold"]]


def install_extensions() -> None:
    """Add ``Doc._.topics`` and ``Doc._.topic_scores``; safe to call again."""
    ensure_doc_extensions("topics", "topic_scores")
