"""The similarity component: ``doc._.similarity`` of a sentence pair, on the shared listener."""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, set_dropout_rate
from thinc.types import Floats1d

from nlp_tasks import ConfigError, ensure_doc_extensions, listener_config

from . import model as _model  # noqa: F401  (registers its architecture)
from . import scorer as _scorer  # noqa: F401  (registers its scorer)
from .errors import Errors

#: The factory of the similarity component.
FACTORY = "nlp_tasks_similarity"
#: "trained" fine-tunes the backbone through the head; "zero-shot" scores with it as it is.
MODES = ("trained", "zero-shot")
#: The scale of the gold scores when a pipeline declares none (STS-B's).
DEFAULT_SCORE_RANGE = (0.0, 5.0)
#: The squared error of a cosine is small (about 0.05 a pair) next to the summed
#: token losses of a tagger on the same backbone; at weight 1 the other heads pull
#: the shared backbone away from what the cosine needs (STS-B dev Spearman 72.6
#: after 1,500 joint steps with sentiment and NER, 82.85 with 100).
#: Trained alone, Adam makes the weight all but irrelevant (85.2 at 1, 85.2 at 100):
#: bench/RESULTS.md, "Sentence-pair similarity".
DEFAULT_LOSS_WEIGHT = 100.0

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "nlp_tasks_similarity.CosineSimilarity.v2"
projection = true
""" + listener_config("model.tok2vec")
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    FACTORY,
    assigns=["doc._.similarity"],
    default_config={
        "model": DEFAULT_MODEL,
        "mode": "trained",
        "score_range": [0, 5],
        "loss_weight": DEFAULT_LOSS_WEIGHT,
        "scorer": {"@scorers": "nlp_tasks_similarity.scorer.v1"},
    },
    default_score_weights={"similarity_spearman": 1.0, "similarity_pearson": None},
)
def make_similarity(
    nlp: Language,
    name: str,
    model: Model,
    mode: str,
    score_range: Sequence[float],
    loss_weight: float,
    scorer: Callable | None,
) -> "SimilarityScorer":
    """Create a similarity component (factory ``nlp_tasks_similarity``).

    model (Model[List[Doc], Floats1d]): The pair docs to one cosine each
        (``nlp_tasks_similarity.CosineSimilarity.v2``).
    mode (str): "trained" (fine-tune the backbone on scored pairs) or
        "zero-shot" (learn nothing: the backbone as it is).
    score_range (Sequence[float]): ``[LOW, HIGH]``, the scale of the records'
        gold scores; LOW maps to similarity 0 and HIGH to 1.
    loss_weight (float): Multiplies the head's loss and gradient, to balance it
        against the other heads' in a multi-task run (``DEFAULT_LOSS_WEIGHT``).
    scorer (Callable | None): The scoring function.
    """
    return SimilarityScorer(
        nlp.vocab,
        model,
        name,
        mode=mode,
        score_range=score_range,
        loss_weight=loss_weight,
        scorer=scorer,
    )


class SimilarityScorer(TrainablePipe):
    """Score how alike the two texts of a pair doc are, in ``doc._.similarity``.

    The doc is the one ``TaskInputs(segments=("text_a", "text_b"))`` builds: both
    texts, with a span per side in ``doc.spans["segments"]``. The backbone's
    span getter (``nlp_tasks.segmented_spans.v1``) encodes each side in its own
    windows, so the head is a bi-encoder, as sentence-transformers is: it shares
    the backbone's activations with the other heads, and reads each side's mean
    token vector. The score is their cosine, clipped to [0, 1].

    In the "trained" mode the loss is the squared error between the cosine and
    the gold score mapped to [0, 1] (sentence-transformers'
    ``CosineSimilarityLoss``), and its gradient trains the head's projection
    (architecture ``v2``) and fine-tunes the backbone through the listener.
    Examples without similarity gold (other tasks' examples in a multi-task
    batch) add no loss. In the "zero-shot" mode the head learns nothing and
    passes no gradient.

    The core runs the head only on pair docs (``Task.accepts``): a plain text
    gets no ``doc._.similarity``.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "similarity",
        *,
        mode: str = "trained",
        score_range: Sequence[float] = DEFAULT_SCORE_RANGE,
        loss_weight: float = DEFAULT_LOSS_WEIGHT,
        scorer: Callable | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(
                Errors.SIM010.format(component=name, modes=", ".join(MODES), value=mode)
            )
        if "similarity_segments" not in model.attrs:
            raise ConfigError(Errors.SIM012.format(component=name))
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.mode = mode
        self.score_range = check_score_range(score_range, component=name)
        if not (_is_number(loss_weight) and math.isfinite(loss_weight) and loss_weight > 0):
            raise ConfigError(Errors.SIM013.format(component=name, value=loss_weight))
        self.loss_weight = float(loss_weight)
        # TrainablePipe saves `cfg` beside the weights and restores it over the
        # factory's settings on load; the mode and range stay out of it, so the
        # config of a saved pipeline decides them.
        self.cfg: dict[str, Any] = {}
        install_extensions()

    def initialize(
        self, get_examples: Callable[[], Iterable[Example]], *, nlp: Language | None = None
    ) -> None:
        """Initialize the model: the projection starts as the identity, so no gold is needed.

        A pipeline for the zero-shot mode is initialized without similarity
        examples (``spacy assemble``, or ``nlp.initialize()``).

        get_examples (Callable[[], Iterable[Example]]): Training examples, of any task.
        nlp (Language | None): The pipeline.
        """
        validate_get_examples(get_examples, "SimilarityScorer.initialize")
        sample = [eg.predicted for _, eg in zip(range(10), get_examples())]
        self.model.initialize(X=sample or None)

    def predict(self, docs: Iterable[Doc]) -> Floats1d:
        """The cosine of each pair doc's two sides; changes no doc.

        docs (Iterable[Doc]): The docs.
        RETURNS (Floats1d): One cosine in [-1, 1] per doc; NaN for a doc that
            is no pair (or whose side has only whitespace).
        """
        docs = list(docs)
        if not docs:
            return self.model.ops.alloc1f(0)
        return self.model.predict(docs)

    def set_annotations(self, docs: Iterable[Doc], scores: Floats1d) -> None:
        """Write ``doc._.similarity``: the cosine clipped to [0, 1], or None.

        docs (Iterable[Doc]): The docs.
        scores (Floats1d): The output of ``predict``.
        """
        for doc, score in zip(docs, self.model.ops.to_numpy(scores).tolist()):
            doc._.similarity = None if math.isnan(score) else min(max(score, 0.0), 1.0)

    def get_loss(self, examples: Iterable[Example], scores: Floats1d) -> tuple[float, Floats1d]:
        """The mean squared error of the cosines, over the examples with similarity gold,
        times ``loss_weight``.

        The gold is ``doc._.similarity_gold`` of the reference, the record's
        score mapped to [0, 1]; an example without it adds no error and gets no
        gradient.

        examples (Iterable[Example]): The batch.
        scores (Floats1d): The model's cosines for it, one per example.
        RETURNS (tuple[float, Floats1d]): The loss and its gradient.
        """
        examples = list(examples)
        validate_examples(examples, "SimilarityScorer.get_loss")
        values = self.model.ops.to_numpy(scores).astype("float32")
        gold = numpy.asarray([_gold(eg) for eg in examples], dtype="float32")  # NaN where missing
        mask = numpy.isfinite(gold) & numpy.isfinite(values)
        count = int(mask.sum())
        diff = numpy.where(mask, values - numpy.nan_to_num(gold), 0.0).astype("float32")
        d_scores = self.loss_weight * 2.0 * diff / max(count, 1)
        loss = self.loss_weight * float((diff**2).sum()) / max(count, 1)
        return loss, self.model.ops.asarray1f(d_scores)

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Any = None,
        losses: dict[str, float] | None = None,
    ) -> dict[str, float]:
        """Learn from a batch: backprop the loss to the listener, in the trained mode.

        A batch without similarity gold still backprops (a zero gradient):
        spacy-transformers steps the backbone from the last listener's backprop
        only. In the zero-shot mode the loss is computed and reported, and
        nothing is backpropagated.

        examples (Iterable[Example]): The batch.
        drop (float): The dropout rate.
        sgd (thinc.api.Optimizer | None): The optimizer.
        losses (dict[str, float] | None): Losses by component name, updated.
        RETURNS (dict[str, float]): The updated losses.
        """
        examples = list(examples)
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        validate_examples(examples, "SimilarityScorer.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        # Zero-shot leaves the listener holding the batch: the core releases it
        # (nlp_tasks.pipeline_setup.v2), and this head adds no gradient.
        if self.mode == "trained":
            backprop(d_scores)
            if sgd not in (None, False):
                self.finish_update(sgd)
        losses[self.name] += loss
        return losses


def check_score_range(value: Any, *, component: str = FACTORY) -> tuple[float, float]:
    """A ``score_range`` setting, checked: two finite numbers, the first the lower.

    value (Any): The setting.
    component (str): The component's name, for the message.
    RETURNS (tuple[float, float]): ``(low, high)``. Raises ``ConfigError`` otherwise.
    """
    numbers = (
        list(value)
        if isinstance(value, (list, tuple))
        and len(value) == 2
        and all(_is_number(v) for v in value)
        else None
    )
    if numbers is None or not all(math.isfinite(v) for v in numbers) or numbers[0] >= numbers[1]:
        raise ConfigError(Errors.SIM011.format(component=component, value=value))
    return float(numbers[0]), float(numbers[1])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _gold(example: Example) -> float:
    value = example.reference._.similarity_gold
    return float("nan") if value is None else float(value)


def install_extensions() -> None:
    """Add ``Doc._.similarity`` (the output) and ``Doc._.similarity_gold``; safe to call twice."""
    ensure_doc_extensions("similarity", "similarity_gold")
