"""Deprecated import path: ``nlp_tasks.plugins`` is now ``nlp_tasks.registry``.

Kept for one release so that code and entry points written against the old
layout keep working; importing it warns with a ``DeprecationWarning``.
"""

import warnings
from typing import Any

from .registry import manager as _moved

warnings.warn(
    "nlp_tasks.plugins is now nlp_tasks.registry; import from there.",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    # A plugin published before the move names "nlp_tasks.plugins:spacy_factories".
    if name == "spacy_factories":
        return _moved.load_factories()
    return getattr(_moved, name)
