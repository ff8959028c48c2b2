"""How QA answers look: each question, with its answer marked in the text."""

from typing import Any

from nlp_tasks.views import Block, Mark, MarkedText, Note

#: The colour of an answer's mark (displaCy has none for the label).
ANSWER_COLOR = "#c5e8b0"


def view(output: dict[str, Any], inputs: dict[str, Any]) -> list[Block]:
    """The blocks of one QA output (``Task.view``).

    output (dict[str, Any]): ``to_json``'s ``{"answers": [{"question", "text",
        "start", "end", "score"}]}``, offsets into the ``text`` input.
    inputs (dict[str, Any]): The record's input fields; ``text`` is marked.
    RETURNS (list[Block]): Per question, the text with its answer marked and
        the score in the title; a note where no span reached the threshold.
    """
    blocks: list[Block] = []
    for answer in output.get("answers", []):
        question = f"Q: {answer['question']}"
        if answer.get("start") is None:
            blocks.append(Note(question, "no answer"))
            continue
        mark = Mark(answer["start"], answer["end"], "ANSWER", color=ANSWER_COLOR)
        title = f"{question}  ->  {answer['text']}  (score {answer['score']:.2f})"
        blocks.append(MarkedText(inputs["text"], [mark], title=title))
    return blocks
