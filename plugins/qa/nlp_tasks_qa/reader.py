"""QA records, SQuAD style: ``{"id", "context", "question", "answers"}``."""

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from nlp_tasks import RecordError, gold_example

from .errors import Errors


def make_example(nlp: Language, record: dict[str, Any]) -> Example:
    """Turn a QA record into an Example whose reference carries the gold answers.

    The reference doc holds the record's id, question and answers in
    ``doc._.qa_gold``; both docs hold the question in ``doc._.questions``, so
    evaluating the pipeline answers it. The other heads see a plain document
    with no gold of theirs.

    nlp (Language): The pipeline, for its tokenizer.
    record (dict[str, Any]): ``{"id": str, "context": str, "question": str,
        "answers": {"text": [str], "answer_start": [int]}}``; ``title`` is ignored.
        Empty ``text`` and ``answer_start`` lists mark a question the context
        does not answer (SQuAD v2.0): the head learns to abstain on it.
    RETURNS (Example): The example.
    """
    from .component import install_extensions

    install_extensions()
    record_id = record.get("id", "<no id>")
    if not isinstance(record_id, (str, int)) or isinstance(record_id, bool):
        raise RecordError(
            Errors.QA001.format(
                id=repr(record_id), field="id", type=_type(record_id), value=_clip(record_id)
            )
        )
    context = _text(record, "context", record_id)
    question = _text(record, "question", record_id)
    answers = _answers(record, context, record_id)
    gold = {"id": record_id, "question": question, "answers": answers}
    return gold_example(nlp, context, {"qa_gold": gold}, inputs={"questions": [question]})


def _text(record: dict[str, Any], field: str, record_id: Any) -> str:
    value = record.get(field)
    if not isinstance(value, str):
        raise RecordError(
            Errors.QA001.format(
                id=repr(record_id), field=field, type=_type(value), value=_clip(value)
            )
        )
    if not value.strip():
        raise RecordError(Errors.QA002.format(id=repr(record_id), field=field))
    return value


def _answers(record: dict[str, Any], context: str, record_id: Any) -> list[list[Any]]:
    answers = record.get("answers")
    texts = answers.get("text") if isinstance(answers, dict) else None
    starts = answers.get("answer_start") if isinstance(answers, dict) else None
    if (
        not isinstance(texts, list)
        or not isinstance(starts, list)
        or len(texts) != len(starts)
        or not all(isinstance(t, str) and t.strip() for t in texts)
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in starts)
    ):
        raise RecordError(Errors.QA003.format(id=repr(record_id), value=_clip(answers)))
    checked = []
    for text, start in zip(texts, starts):
        if not 0 <= start < len(context):
            raise RecordError(
                Errors.QA005.format(id=repr(record_id), start=start, length=len(context))
            )
        found = context[start : start + len(text)]
        if found != text:
            raise RecordError(
                Errors.QA004.format(id=repr(record_id), text=text, start=start, found=found)
            )
        checked.append([text, start])
    return checked


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _clip(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_json(doc: Doc) -> dict[str, Any]:
    """The answers to the questions asked of a processed doc.

    doc (Doc): A doc processed by a pipeline with a QA component.
    RETURNS (dict[str, Any]): ``{"answers": [{"question", "text", "start", "end",
        "score"}, ...]}``, one entry per question in ``doc._.questions``, in order;
        ``text``, ``start``, ``end`` and ``score`` are null when no span reaches
        the threshold, and for every question of a blank doc (no tokens, or only
        whitespace). An empty list for a doc without questions.
    """
    from .component import install_extensions, questions_of

    install_extensions()
    questions = questions_of(doc)
    outputs = doc._.qa_output or [None] * len(questions)
    answers = []
    for question, output in zip(questions, outputs):
        if output is None:
            output = {"text": None, "start": None, "end": None, "score": None}
        answers.append({"question": question, **output})
    return {"answers": answers}
