"""Batch processing of document corpora: reading inputs, the record processor,
the local and Ray engines, the checkpointed job and its outputs.

``process_records`` (an iterable of texts or records to JSON-ready results) and
``process_file`` (a file to an output file, resumable) are the entry points.

The modules, each importing only those above it:

- ``inputs``: reading records (JSONL, text, CSV, Parquet); ``outputs``: the
  output, errors and checkpoint files; ``fingerprint``: a pipeline's digest.
- ``options``: the settings, their defaults and checks.
- ``processor``: what both engines run (``RecordProcessor``, ``chunk_records``).
- ``local`` and ``ray_engine``: the engines.
- ``process``: ``process_records``, records from Python through the local engine.
- ``files`` and ``checkpoint``: a file run's files, and what its checkpoint records.
- ``job``: ``process_file`` and the ``Job`` that checkpoints, resumes and commits.
"""

from typing import TYPE_CHECKING, Any

__all__ = ["process_file", "process_records"]

if TYPE_CHECKING:
    from .job import process_file
    from .process import process_records

_MODULES = {"process_file": "job", "process_records": "process"}


def __getattr__(name: str) -> Any:
    # Lazy, so that reading an input module does not import spaCy and torch.
    if name in _MODULES:
        from importlib import import_module

        return getattr(import_module(f".{_MODULES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
