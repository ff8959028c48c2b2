"""nlp-tasks: multi-task spaCy pipelines on one shared transformer backbone.

Heavy modules (spaCy pipelines, torch, transformers) are imported only when a
function that needs them is called, so importing this package is cheap.
"""

from typing import TYPE_CHECKING, Any

from .errors import CodedMessages
from .hookspecs import hookimpl
from .task import PLUGIN_API_VERSION, RecordError, Task, is_blank, require_text

__version__ = "0.1.0"
__all__ = [
    "CodedMessages",
    "PLUGIN_API_VERSION",
    "GenerativeHead",
    "RecordError",
    "SharedBackboneHead",
    "Task",
    "hookimpl",
    "is_blank",
    "listener_config",
    "load",
    "predict",
    "read_jsonl",
    "require_text",
    "shared_transformer",
]

if TYPE_CHECKING:
    from .generation import GenerativeHead
    from .pipe import SharedBackboneHead, listener_config, shared_transformer
    from .pipeline import load, predict
    from .readers import read_jsonl

_LAZY = {
    "GenerativeHead": "generation",
    "load": "pipeline",
    "predict": "pipeline",
    "SharedBackboneHead": "pipe",
    "listener_config": "pipe",
    "shared_transformer": "pipe",
    "read_jsonl": "readers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'nlp_tasks' has no attribute '{name}'")
