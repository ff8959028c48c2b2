"""Deprecated import path: ``nlp_tasks.readers`` is now ``nlp_tasks.training.corpus``.

Kept for one release so that code and entry points written against the old
layout keep working; importing it warns with a ``DeprecationWarning``.
"""

import warnings
from typing import Any

from .training import corpus as _moved

warnings.warn(
    "nlp_tasks.readers is now nlp_tasks.training.corpus; import from there.",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    return getattr(_moved, name)
