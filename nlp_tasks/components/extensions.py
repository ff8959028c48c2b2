"""``Doc`` extensions for a task's gold and output, set up once per process."""

from collections.abc import Callable
from typing import Any

from spacy.tokens import Doc


def ensure_doc_extensions(*names: str, **getters: Callable[[Doc], Any]) -> None:
    """Add ``Doc`` extensions that are not registered yet; safe to call again.

    A head keeps its gold and its output in extensions of its own
    (``doc._.keyphrases``), so it never reads or overwrites another head's
    fields. Its component, reader and ``to_json`` all call this before they
    touch them: each may be the first to run in a process (a pipeline loaded
    from disk, a batch worker, a corpus read before any pipeline exists). An
    extension that is already registered is left as it is, whoever added it.

    *names (str): Extensions that hold a value, None until set. Values live in
        ``doc.user_data``, so they survive ``Doc.to_bytes`` and
        ``DocBin(store_user_data=True)``.
    **getters (Callable[[Doc], Any]): Extensions computed from the doc, by name.
    """
    for name in names:
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)
    for name, getter in getters.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, getter=getter)
