"""Batch processing of document corpora: reading inputs, the record processor,
the local and Ray engines, the checkpointed job and its outputs.

``process_records`` (an iterable of texts or records to JSON-ready results) and
``process_file`` (a file to an output file, resumable) are the entry points.
"""

from typing import TYPE_CHECKING, Any

__all__ = ["process_file", "process_records"]

if TYPE_CHECKING:
    from .process import process_file, process_records


def __getattr__(name: str) -> Any:
    # Lazy, so that reading an input module does not import spaCy and torch.
    if name in __all__:
        from . import process

        return getattr(process, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
