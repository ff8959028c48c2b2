"""The NER component: spaCy's entity recognizer on the shared listener."""

from collections.abc import Callable

from spacy.language import Language
from spacy.pipeline.ner import EntityRecognizer
from thinc.api import Config, Model

from nlp_tasks import SharedBackboneHead, listener_config

from . import model as _model  # noqa: F401  (registers the head's architectures)

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 64
maxout_pieces = 2
use_upper = false
nO = null

[model.tok2vec]
@architectures = "nlp_tasks_ner.ListenerWithShape.v1"
width = 64
attrs = ["SHAPE", "PREFIX", "SUFFIX"]
rows = [2500, 1000, 2500]
""" + listener_config("model.tok2vec.listener")
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "nlp_tasks_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "moves": None,
        "update_with_oracle_cut_size": 100,
        "model": DEFAULT_MODEL,
        "incorrect_spans_key": None,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_ner(
    nlp: Language,
    name: str,
    model: Model,
    moves: list | None,
    update_with_oracle_cut_size: int,
    incorrect_spans_key: str | None,
    scorer: Callable | None,
) -> "EntityRecognizerHead":
    """Create an NER component (factory ``nlp_tasks_ner``).

    model (Model): The transition-based parser model over the shared listener.
    moves (list | None): Transition names; None learns them from the data.
    update_with_oracle_cut_size (int): Cut long docs into pieces of about this
        many transitions during training, for speed.
    incorrect_spans_key (str | None): A span group of known non-entities.
    scorer (Callable | None): The scoring method.
    """
    return EntityRecognizerHead(
        nlp.vocab,
        model,
        name=name,
        moves=moves,
        update_with_oracle_cut_size=update_with_oracle_cut_size,
        incorrect_spans_key=incorrect_spans_key,
        scorer=scorer,
    )


class EntityRecognizerHead(SharedBackboneHead, EntityRecognizer):
    """spaCy's entity recognizer on the shared listener.

    The stock component returns from ``update`` without calling its listener's
    backprop when a batch has no entity gold, which would freeze the shared
    backbone whenever it is the last listener. The core releases that listener
    with a zero gradient after every update (``own_backbone_updates``, set up by
    the pipeline's ``nlp_tasks.pipeline_setup`` callback); ``SharedBackboneHead``
    does the same from inside the head and is kept only for compatibility.
    Docs whose entities were never set are missing (no loss); the reader marks
    every other token of an NER record "outside". The head shares activations
    with the other document-level heads.
    """
