"""Deprecated import path: ``nlp_tasks.process`` is now ``nlp_tasks.batch``.

Kept for one release so that code and entry points written against the old
layout keep working; importing it warns with a ``DeprecationWarning``. The old
module's names now live in several modules of ``nlp_tasks.batch``; each is
looked up where it moved.
"""

import warnings
from importlib import import_module
from typing import Any

warnings.warn(
    "nlp_tasks.process is now nlp_tasks.batch; import from there.",
    DeprecationWarning,
    stacklevel=2,
)

#: Where the old module's names went, searched in this order.
_MOVED_TO = (
    "nlp_tasks.batch.process",
    "nlp_tasks.batch.job",
    "nlp_tasks.batch.files",
    "nlp_tasks.batch.local",
    "nlp_tasks.batch.processor",
    "nlp_tasks.batch.options",
    "nlp_tasks.batch.checkpoint",
    "nlp_tasks.errors",
)


def __getattr__(name: str) -> Any:
    for module_name in _MOVED_TO:
        module = import_module(module_name)
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
