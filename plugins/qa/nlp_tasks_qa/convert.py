"""A converter into QA records: SQuAD v1.1 and v2.0 JSON files.

Records are ``{"id", "title", "context", "question", "answers": {"text": [str],
"answer_start": [int]}}``, one a question, as ``reader.make_example`` reads them.
A SQuAD v2.0 question with no answer becomes a record with empty answers, or
is left out with ``--skip-unanswerable``.
"""

import gzip
import json
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from nlp_tasks.convert import (
    Converter,
    DataError,
    Option,
    Report,
    empty_input,
    open_binary,
    undecodable,
    unparsable,
    where,
)

from .errors import Errors


def convert_squad(
    inputs: list[str], options: Mapping[str, Any], report: Report
) -> Iterator[dict[str, Any]]:
    """Stream QA records of SQuAD JSON files, one a question.

    Each file is read whole (SQuAD is one JSON document). Every answer is checked
    to be at its ``answer_start`` in the context.

    inputs (list[str]): SQuAD v1.1 or v2.0 JSON files.
    options (Mapping[str, Any]): ``skip_unanswerable``: leave out the questions
        with no answer (SQuAD v2.0's ``is_impossible``) instead of writing them
        with empty answers.
    report (Report): Counts the unanswerable questions left out.
    YIELDS (dict[str, Any]): ``{"id", "title", "context", "question", "answers"}``.
    """
    seen: dict[Any, str] = {}
    for path in inputs:
        questions = 0
        for place, record in _squad_records(path, _load(path)):
            here = f"{path}, {place}"
            first = seen.setdefault(record["id"], here)
            _expect(first == here, path, place, f"the id is taken by {first}")
            questions += 1
            if record["answers"]["text"] or not options.get("skip_unanswerable"):
                yield record
            else:
                report.skip("unanswerable questions")
        if not questions:
            raise empty_input(path, "questions")


def _load(path: str) -> Any:
    try:
        with open_binary(path) as file:  # gzip or not, told by the first bytes
            raw = file.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise unparsable(path, "the gzip stream", error) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise undecodable(path, "utf-8", error) from None
    if not text.strip():
        raise empty_input(path, "questions")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise unparsable(where(path, error.lineno), "the JSON", error) from None
    except RecursionError as error:
        raise unparsable(path, "the JSON", error) from None


def _squad_records(path: str, data: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    articles = data.get("data") if isinstance(data, dict) else None
    _expect(isinstance(articles, list), path, "the file", "expected an object with a 'data' list")
    for a, article in enumerate(articles):
        place = f"data[{a}]"
        _expect(isinstance(article, dict), path, place, "expected an article object")
        paragraphs = article.get("paragraphs")
        _expect(isinstance(paragraphs, list), path, place, "expected a 'paragraphs' list")
        title = article.get("title")
        for p, paragraph in enumerate(paragraphs):
            place = f"data[{a}].paragraphs[{p}]"
            _expect(isinstance(paragraph, dict), path, place, "expected a paragraph object")
            context, qas = paragraph.get("context"), paragraph.get("qas")
            _expect(isinstance(context, str), path, place, "expected a 'context' string")
            _expect(isinstance(qas, list), path, place, "expected a 'qas' list")
            for q, qa in enumerate(qas):
                yield f"{place}.qas[{q}]", _record(path, f"{place}.qas[{q}]", qa, context, title)


def _record(path: str, place: str, qa: Any, context: str, title: Any) -> dict[str, Any]:
    _expect(isinstance(qa, dict), path, place, "expected a question object")
    question_id, question = qa.get("id"), qa.get("question")
    _expect(isinstance(question_id, (str, int)), path, place, "expected an 'id'")
    _expect(isinstance(question, str), path, place, "expected a 'question' string")
    _expect(bool(question.strip()), path, place, "the question is empty")
    answers = qa.get("answers", [])
    _expect(isinstance(answers, list), path, place, "expected an 'answers' list")
    _expect(
        bool(answers) or qa.get("is_impossible") is not False,
        path,
        place,
        "'is_impossible' is false, but there is no answer",
    )
    texts: list[str] = []
    starts: list[int] = []
    # SQuAD v2.0 marks a question with no answer in the context "is_impossible"
    # (its "plausible_answers" are not answers, and are dropped).
    if not qa.get("is_impossible", False):
        for n, answer in enumerate(answers):
            text, start = _answer(path, f"{place}.answers[{n}]", answer)
            found = context[start : start + len(text)] if start >= 0 else ""
            if found != text:
                raise DataError(
                    Errors.QA030.format(
                        path=path, id=repr(question_id), text=text, start=start, found=found
                    )
                )
            texts.append(text)
            starts.append(start)
    record = {"id": question_id, "title": title, "context": context, "question": question}
    if title is None:
        del record["title"]
    record["answers"] = {"text": texts, "answer_start": starts}
    return record


def _answer(path: str, place: str, answer: Any) -> tuple[str, int]:
    text = answer.get("text") if isinstance(answer, dict) else None
    start = answer.get("answer_start") if isinstance(answer, dict) else None
    valid = isinstance(text, str) and isinstance(start, int) and not isinstance(start, bool)
    _expect(valid, path, place, "expected {'text': str, 'answer_start': int}")
    return text, start


def _expect(condition: bool, path: str, place: str, problem: str) -> None:
    if not condition:
        raise DataError(Errors.QA031.format(path=path, place=place, problem=problem))


SQUAD = Converter(
    name="squad",
    task="qa",
    description=(
        "SQuAD v1.1 or v2.0 JSON files to QA records, one a question; v2.0's unanswerable "
        "questions get empty answers."
    ),
    convert=convert_squad,
    options=(
        Option(
            "skip-unanswerable",
            "Leave out questions with no answer (SQuAD v2.0), to train on answerable "
            "questions alone as for SQuAD v1.1; the count is printed.",
            kind="flag",
        ),
    ),
)
