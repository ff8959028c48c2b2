"""Translation records: ``{"src": str, "tgt": str}``."""

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from nlp_tasks import ensure_doc_extensions, gold_example, require_text


def install_extensions() -> None:
    """Add ``Doc._.translation``; safe to call twice."""
    ensure_doc_extensions("translation")


def make_example(nlp: Language, record: dict[str, Any]) -> Example:
    """Turn a translation record into an Example whose reference carries the target.

    The source is the doc; the target travels in ``doc._.translation`` of the
    reference doc, so examples of other tasks (no translation) are missing,
    not empty translations.

    nlp (Language): The pipeline, for its tokenizer.
    record (dict[str, Any]): ``{"src": str, "tgt": str}``.
    RETURNS (Example): The example.
    """
    install_extensions()
    source = require_text(record, "src")
    target = require_text(record, "tgt")
    return gold_example(nlp, source, {"translation": target})


def to_json(doc: Doc) -> dict[str, Any]:
    """The translation of a processed doc.

    doc (Doc): A doc processed by a pipeline with a translation component.
    RETURNS (dict[str, Any]): ``{"translation": str}``; ``{"translation": None}``
        for a blank doc (no tokens, or only whitespace).
    """
    install_extensions()
    return {"translation": doc._.translation}
