"""The Doc extensions the summarization component writes and its reader fills."""

from spacy.tokens import Doc, Span

from nlp_tasks import ensure_doc_extensions

#: ``doc.spans`` key of the chosen sentences (scores in the group's ``attrs``).
SPANS_KEY = "summary"


def install_extensions() -> None:
    """Add ``Doc._.summary`` and ``Doc._.summary_sents``; safe to call again.

    ``summary`` (str) holds the predicted summary, or the gold one on a
    training example's reference doc. ``summary_sents`` reads the chosen
    sentences from ``doc.spans["summary"]``, which, unlike Spans kept in
    ``doc.user_data``, survive ``Doc.to_bytes`` and multiprocessing.
    """
    ensure_doc_extensions("summary", summary_sents=summary_sents)


def summary_sents(doc: Doc) -> list[Span]:
    """The sentences of a doc's summary, in document order.

    doc (Doc): A processed doc.
    RETURNS (list[Span]): The chosen sentences; empty if none (or not processed).
    """
    return list(doc.spans[SPANS_KEY]) if SPANS_KEY in doc.spans else []
