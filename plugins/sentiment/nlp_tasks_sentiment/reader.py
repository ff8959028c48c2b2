"""Sentiment records: ``{"text": str, "label": str}``."""

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from nlp_tasks import RecordError, ensure_doc_extensions, require_text


def make_example(nlp: Language, record: dict[str, Any]) -> Example:
    """Turn a sentiment record into an Example with one positive category.

    The other labels of the classifier count as 0 for this example; examples
    of other tasks carry no categories and are masked out of the loss.

    nlp (Language): The pipeline, for its tokenizer.
    record (dict[str, Any]): ``{"text": str, "label": str}``.
    RETURNS (Example): The example.
    """
    text = require_text(record)
    label = record.get("label")
    if not isinstance(label, str) or not label.strip():
        raise RecordError(f"'label' must be a non-empty string, got {label!r}")
    doc = nlp.make_doc(text)
    return Example.from_dict(doc, {"cats": {label: 1.0}})


def labels_of(example: Example) -> list[str]:
    """The labels an example uses.

    example (Example): A sentiment example.
    RETURNS (list[str]): Its positive label.
    """
    return [label for label, value in example.reference.cats.items() if value]


def to_json(doc: Doc) -> dict[str, Any]:
    """The sentiment output of a processed doc.

    doc (Doc): A doc processed by a pipeline with a sentiment component.
    RETURNS (dict[str, Any]): ``{"label", "score", "cats"}``.
    """
    ensure_doc_extensions("sentiment", "sentiment_score")
    return {
        "label": doc._.sentiment,
        "score": doc._.sentiment_score,
        "cats": dict(doc.cats),
    }
