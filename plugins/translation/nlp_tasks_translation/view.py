"""How a translation looks: beside its source."""

from typing import Any

from nlp_tasks.views import Block, Columns


def view(output: dict[str, Any], inputs: dict[str, Any]) -> list[Block]:
    """The blocks of one translation output (``Task.view``).

    output (dict[str, Any]): ``to_json``'s ``{"translation"}``.
    inputs (dict[str, Any]): The record's input fields; ``text`` is the source.
    RETURNS (list[Block]): The source and the translation, side by side.
    """
    return [Columns([("source", inputs.get("text")), ("translation", output.get("translation"))])]
