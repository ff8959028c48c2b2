"""How a similarity output looks: the score as a bar (the pair is the record's input)."""

from typing import Any

from nlp_tasks.views import Block, Score


def view(output: dict[str, Any], inputs: dict[str, Any]) -> list[Block]:
    """The blocks of one similarity output (``Task.view``).

    output (dict[str, Any]): ``to_json``'s ``{"score"}``, from 0 to 1.
    inputs (dict[str, Any]): The record's input fields (the pair, shown above
        the outputs by the core).
    RETURNS (list[Block]): The score.
    """
    return [Score("similarity", output.get("score"))]
