"""How a sentiment output looks: a bar per label, the chosen one first."""

from typing import Any

from nlp_tasks.views import Block, Note, Score


def view(output: dict[str, Any], inputs: dict[str, Any]) -> list[Block]:
    """The blocks of one sentiment output (``Task.view``).

    output (dict[str, Any]): ``to_json``'s ``{"label", "score", "cats"}``.
    inputs (dict[str, Any]): The record's input fields (unused).
    RETURNS (list[Block]): One ``Score`` per label, highest first; a note for a
        doc with no label (a blank text).
    """
    cats = output.get("cats") or {}
    if output.get("label") is None or not cats:
        return [Note("label", None)]
    ranked = sorted(cats.items(), key=lambda item: -item[1])
    return [Score(label, value) for label, value in ranked]
