"""Deprecated import path: ``nlp_tasks.process`` is now ``nlp_tasks.batch``.

Kept for one release so that code and entry points written against the old
layout keep working; importing it warns with a ``DeprecationWarning``.
"""

import warnings
from typing import Any

from .batch import process as _moved

warnings.warn(
    "nlp_tasks.process is now nlp_tasks.batch; import from there.",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    return getattr(_moved, name)
