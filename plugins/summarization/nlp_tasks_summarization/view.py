"""How a summary looks: its sentences marked in place, or the new text beside."""

from typing import Any

from nlp_tasks.views import Block, Mark, MarkedText, Note

#: The colour of a summary sentence's mark.
SUMMARY_COLOR = "#fde9a9"


def view(output: dict[str, Any], inputs: dict[str, Any]) -> list[Block]:
    """The blocks of one summarization output (``Task.view``).

    output (dict[str, Any]): ``to_json``'s ``{"summary", "sentences"}``; an
        extractive summary's sentences carry offsets into the ``text`` input.
    inputs (dict[str, Any]): The record's input fields.
    RETURNS (list[Block]): Extractive: the text with the chosen sentences
        marked. Abstractive: the summary as a note.
    """
    sentences = output.get("sentences") or []
    if not sentences:
        return [Note("summary", output.get("summary"))]
    marks = [Mark(s["start"], s["end"], "SUMMARY", color=SUMMARY_COLOR) for s in sentences]
    return [MarkedText(inputs["text"], marks)]
