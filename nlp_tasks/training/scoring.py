"""Choosing the examples a task's scorer counts."""

from collections.abc import Callable, Iterable
from typing import Any

from spacy.tokens import Doc
from spacy.training import Example


def examples_with_gold(
    examples: Iterable[Example], gold: str | Callable[[Doc], Any]
) -> list[Example]:
    """The examples annotated for one task, for its scorer.

    A multi-task dev set holds every task's examples, and a scorer that
    counted another task's example as a miss would punish the head for gold it
    never had. Score the examples this returns, and report None for every key
    when it is empty.

    examples (Iterable[Example]): Predicted and reference docs.
    gold (str | Callable[[Doc], Any]): Where the gold is: the name of a ``Doc``
        extension (an example has gold when the extension is registered and
        its value on the reference doc is not None), or a function of the
        reference doc that returns something true for an annotated doc.
    RETURNS (list[Example]): The annotated examples, in order.
    """
    if isinstance(gold, str):
        name = gold

        def has_gold(doc: Doc) -> bool:
            return doc.has_extension(name) and getattr(doc._, name) is not None

    else:

        def has_gold(doc: Doc) -> bool:
            return bool(gold(doc))

    return [eg for eg in examples if has_gold(eg.reference)]
