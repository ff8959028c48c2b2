"""The sentiment component: spaCy's text classifier, missing-aware, on the shared listener."""

from collections.abc import Callable, Iterable
from typing import Any

from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from thinc.api import Config, Model
from thinc.types import Floats2d

from nlp_tasks import SharedBackboneHead, ensure_doc_extensions, is_blank, listener_config

from . import scorer as _scorer  # noqa: F401  (registers its scorer)

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy.TextCatReduce.v1"
exclusive_classes = true
use_reduce_first = false
use_reduce_last = false
use_reduce_max = false
use_reduce_mean = true
nO = null
""" + listener_config("model.tok2vec")
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "nlp_tasks_sentiment",
    assigns=["doc.cats", "doc._.sentiment", "doc._.sentiment_score"],
    default_config={
        "model": DEFAULT_MODEL,
        "threshold": 0.0,
        "scorer": {"@scorers": "nlp_tasks_sentiment.scorer.v1"},
    },
    default_score_weights={
        "sentiment_acc": 1.0,
        "sentiment_macro_f": None,
        "sentiment_macro_auc": None,
        "sentiment_f_per_type": None,
    },
)
def make_sentiment(
    nlp: Language, name: str, model: Model, threshold: float, scorer: Callable | None
) -> "SentimentClassifier":
    """Create a sentiment component (factory ``nlp_tasks_sentiment``).

    model (Model[List[Doc], Floats2d]): Pooled listener output to one softmax over labels.
    threshold (float): Kept for spaCy's textcat API; exclusive labels take the argmax.
    scorer (Callable | None): The scoring method.
    """
    return SentimentClassifier(nlp.vocab, model, name, threshold=threshold, scorer=scorer)


class SentimentClassifier(SharedBackboneHead, TextCategorizer):
    """Exclusive document classifier that treats unlabelled docs as missing.

    spaCy's exclusive ``textcat`` counts a doc with no categories as negative for
    every label. In a multi-task corpus most docs belong to other tasks, so
    here a doc with none of this component's labels adds no loss, while a doc
    with one label set counts the others as 0. The head reads the shared
    transformer's output for the whole doc: it shares activations with the
    other document-level heads.
    """

    def __init__(self, vocab, model, name="sentiment", *, threshold=0.0, scorer=None) -> None:
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        install_extensions()

    def get_loss(self, examples: Iterable[Example], scores: Floats2d) -> tuple[float, Floats2d]:
        """The mean squared error of the scores, with unlabelled docs masked out.

        spaCy's textcat loss, except that a doc without any of this head's
        labels is missing: its row adds no error and gets no gradient.

        examples (Iterable[Example]): The batch.
        scores (Floats2d): The model's scores for it, one row per example.
        RETURNS (tuple[float, Floats2d]): The loss and its gradient.
        """
        examples = list(examples)
        validate_examples(examples, "SentimentClassifier.get_loss")
        labels = list(self.labels)
        truths = self.model.ops.alloc2f(len(examples), len(labels))
        not_missing = self.model.ops.alloc2f(len(examples), len(labels))
        for i, eg in enumerate(examples):
            if any(label in eg.reference.cats for label in labels):
                not_missing[i] = 1.0
                for j, label in enumerate(labels):
                    truths[i, j] = eg.reference.cats.get(label, 0.0)
        d_scores = (scores - truths) * not_missing
        return float((d_scores**2).mean()), d_scores

    def set_annotations(self, docs: Iterable[Doc], scores: Any) -> None:
        """Write ``doc.cats`` and the winning label with its score.

        A blank doc (no tokens, or only whitespace tokens) gets no label: none
        of this head's labels in ``doc.cats``, and ``doc._.sentiment`` and
        ``doc._.sentiment_score`` None. Its scores would be a guess.

        docs (Iterable[Doc]): The docs.
        scores: The scores from ``predict``.
        """
        docs = list(docs)
        labels = list(self.labels)
        kept = [i for i, doc in enumerate(docs) if not is_blank(doc)]
        super().set_annotations([docs[i] for i in kept], scores[kept])
        for doc in docs:
            if not labels or is_blank(doc):
                for label in labels:
                    doc.cats.pop(label, None)
                doc._.sentiment = None
                doc._.sentiment_score = None
                continue
            best = max(labels, key=lambda label: doc.cats.get(label, 0.0))
            doc._.sentiment = best
            doc._.sentiment_score = float(doc.cats.get(best, 0.0))


def install_extensions() -> None:
    """Add ``Doc._.sentiment`` and ``Doc._.sentiment_score``; safe to call twice."""
    ensure_doc_extensions("sentiment", "sentiment_score")
