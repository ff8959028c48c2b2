"""How an NER output looks: the text with its entities marked, as displaCy draws them."""

from typing import Any

from nlp_tasks.views import Block, Mark, MarkedText

#: Colours for CoNLL's labels, which displaCy (OntoNotes labels) has none for;
#: PER takes displaCy's PERSON colour.
COLORS = {"PER": "#aa9cfc", "MISC": "#e4e7d2"}


def view(output: dict[str, Any], inputs: dict[str, Any]) -> list[Block]:
    """The blocks of one NER output (``Task.view``).

    output (dict[str, Any]): ``to_json``'s ``{"ents": [{"start", "end", "label", ...}]}``,
        character offsets into the ``text`` input.
    inputs (dict[str, Any]): The record's input fields; ``text`` is marked.
    RETURNS (list[Block]): One ``MarkedText``.
    """
    marks = [
        Mark(ent["start"], ent["end"], ent["label"], color=COLORS.get(ent["label"]))
        for ent in output.get("ents", [])
    ]
    return [MarkedText(inputs["text"], marks)]
