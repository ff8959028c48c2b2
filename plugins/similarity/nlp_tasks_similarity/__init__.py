"""Sentence-pair semantic textual similarity head for nlp-tasks.

``similarity(nlp, pairs)`` scores pairs of texts with a pipeline. It is imported
on first use, so importing this package (as nlp-tasks does to find the plugin)
stays cheap.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["similarity"]

if TYPE_CHECKING:
    from .pairs import similarity


def __getattr__(name: str) -> Any:
    if name == "similarity":
        from .pairs import similarity

        return similarity
    raise AttributeError(f"module 'nlp_tasks_similarity' has no attribute '{name}'")
