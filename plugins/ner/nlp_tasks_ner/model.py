"""The NER head's token features: the shared listener plus spaCy's surface features."""

from spacy.ml.models.tok2vec import MultiHashEmbed
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from nlp_tasks import ConfigError

from .errors import Errors


@registry.architectures("nlp_tasks_ner.ListenerWithShape.v1")
def build_listener_with_shape(
    listener: Model[list[Doc], list[Floats2d]],
    width: int = 64,
    attrs: list[str] = ["SHAPE", "PREFIX", "SUFFIX"],  # noqa: B006 (config default)
    rows: list[int] = [2500, 1000, 2500],  # noqa: B006
) -> Model[list[Doc], list[Floats2d]]:
    """Token vectors from the shared backbone, with hashed surface features beside them.

    Many backbones are uncased (the default, all-MiniLM-L6-v2, lowercases its
    input), yet capitalisation is one of the strongest signals for named
    entities. spaCy's tokens keep it: their SHAPE ("Xxxxx", "dd.dd") and
    affixes are embedded here and concatenated to the listener's vectors, so
    the entity recognizer sees both. Only these small tables are the head's
    own; the listener still reads, and trains, the shared transformer.

    listener (Model[List[Doc], List[Floats2d]]): The shared-transformer listener.
    width (int): Width of the surface-feature embedding.
    attrs (List[str]): Token attributes to embed (names of spaCy's ``attrs``).
    rows (List[int]): Hash-table rows for each attribute.
    RETURNS (Model[List[Doc], List[Floats2d]]): One vector per token, the listener's
        width plus ``width``.
    """
    if len(attrs) != len(rows):
        raise ConfigError(Errors.NER001.format(attrs=attrs, rows=rows))
    surface = MultiHashEmbed(
        width=width, attrs=list(attrs), rows=list(rows), include_static_vectors=False
    )
    return Model(
        "listener_with_shape",
        _forward,
        init=_init,
        layers=[listener, surface],
        dims={"nO": None},
    )


def _init(model: Model, X: list[Doc] | None = None, Y=None) -> None:
    listener, surface = model.layers
    listener.initialize(X=X)
    surface.initialize(X=X)
    if listener.has_dim("nO") is True:
        model.set_dim("nO", listener.get_dim("nO") + surface.get_dim("nO"))


def _forward(model: Model, docs: list[Doc], is_train: bool):
    # Not thinc's concatenate: its backprop adds up the input gradients, and
    # the listener gives None for those when its batch was already released
    # (a head with no gold in the batch); docs have no gradient anyway.
    listener, surface = model.layers
    vectors, backprop_vectors = listener(docs, is_train)
    shapes, backprop_shapes = surface(docs, is_train)
    xp = model.ops.xp
    width = vectors[0].shape[1] if vectors else 0
    output = [xp.hstack((v, s)) for v, s in zip(vectors, shapes)]

    def backprop(d_output: list[Floats2d]) -> list[Doc]:
        backprop_shapes([model.ops.as_contig(d[:, width:]) for d in d_output])
        backprop_vectors([model.ops.as_contig(d[:, :width]) for d in d_output])
        return []

    return output, backprop
