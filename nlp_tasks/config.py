"""Deprecated import path: ``nlp_tasks.config`` is now ``nlp_tasks.training.config``.

Kept for one release so that code and entry points written against the old
layout keep working; importing it warns with a ``DeprecationWarning``.
"""

import warnings
from typing import Any

from .training import config as _moved

warnings.warn(
    "nlp_tasks.config is now nlp_tasks.training.config; import from there.",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    return getattr(_moved, name)
