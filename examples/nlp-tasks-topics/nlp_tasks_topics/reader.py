"""Topic records: ``{"text": str, "topics": [str, ...]}``; an empty list means no topic."""

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from nlp_tasks import RecordError, gold_example, require_text

from .component import install_extensions


def make_example(nlp: Language, record: dict[str, Any]) -> Example:
    """Turn a topic record into an Example whose reference doc carries the topics.

    The gold goes in ``doc._.topics`` of the reference doc, not in
    ``doc.cats``: in a pipeline with a sentiment head, ``doc.cats`` holds
    sentiment's exclusive labels, and that head would read topic labels there
    as its own classes.

    nlp (Language): The pipeline, for its tokenizer.
    record (dict[str, Any]): ``{"text": str, "topics": list[str]}``.
    RETURNS (Example): The example.
    """
    text = require_text(record)
    topics = record.get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
        raise RecordError(f"'topics' must be a list of non-empty strings, got {topics!r}")
    install_extensions()
    return gold_example(nlp, text, {"topics": sorted(set(topics))})


def labels_of(example: Example) -> list[str]:
    """The topics an example is tagged with.

    example (Example): A topics example.
    RETURNS (list[str]): Its gold topics.
    """
    return list(example.reference._.topics or [])


def to_json(doc: Doc) -> dict[str, Any]:
    """The topic output of a processed doc.

    doc (Doc): A doc processed by a pipeline with a topics component.
    RETURNS (dict[str, Any]): ``{"topics": [...], "scores": {topic: probability}}``;
        ``{"topics": [], "scores": {}}`` for a blank doc (no tokens, or only whitespace).
    """
    install_extensions()
    return {"topics": list(doc._.topics or []), "scores": dict(doc._.topic_scores or {})}
