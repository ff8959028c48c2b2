"""Summarization records, ``{"text": str, "summary": str}``, and the task's JSON output."""

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from nlp_tasks import RecordError, gold_example, require_text

from .extensions import SPANS_KEY, install_extensions


def make_example(nlp: Language, record: dict[str, Any]) -> Example:
    """Turn a summarization record into an Example with the reference summary.

    The summary travels in ``doc._.summary`` of the reference doc
    (``Example.from_dict`` takes no custom fields). Other fields of the record
    (``id``, ``title``, ``category``...) are ignored.

    nlp (Language): The pipeline, for its tokenizer.
    record (dict[str, Any]): ``{"text": str, "summary": str}``.
    RETURNS (Example): The example.
    """
    install_extensions()
    text = require_text(record)
    if "summary" not in record:
        raise RecordError(
            f"no 'summary' field (fields: {sorted(record)}); a summarization record is "
            '{"text": str, "summary": str}'
        )
    return gold_example(nlp, text, {"summary": require_text(record, "summary")})


def to_json(doc: Doc) -> dict[str, Any]:
    """The summary of a processed doc, with its sentences' character offsets and scores.

    doc (Doc): A doc processed by a pipeline with a summarization component.
    RETURNS (dict[str, Any]): ``{"summary": str, "sentences": [{"text", "start",
        "end", "score"}]}``; ``text == doc.text[start:end]``, in document order.
        A blank doc (no tokens, or only whitespace) has no summary:
        ``{"summary": None, "sentences": []}``.
    """
    install_extensions()
    group = doc.spans[SPANS_KEY] if SPANS_KEY in doc.spans else []
    scores = list(group.attrs.get("scores", [])) if group else []
    sentences = [
        {
            "text": span.text,
            "start": span.start_char,
            "end": span.end_char,
            "score": float(scores[i]) if i < len(scores) else None,
        }
        for i, span in enumerate(group)
    ]
    return {"summary": doc._.summary, "sentences": sentences}
