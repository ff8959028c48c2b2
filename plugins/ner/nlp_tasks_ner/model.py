"""The NER head's token features: the shared listener plus spaCy's surface features."""

from spacy.ml.models.tok2vec import MultiHashEmbed
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, concatenate
from thinc.types import Floats2d


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
        raise ValueError(f"attrs and rows differ in length: {attrs} vs {rows}")
    surface = MultiHashEmbed(
        width=width, attrs=list(attrs), rows=list(rows), include_static_vectors=False
    )
    return concatenate(listener, surface)
