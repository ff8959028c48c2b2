"""nlp-tasks: multi-task spaCy pipelines on one shared transformer backbone.

Heavy modules (spaCy pipelines, torch, transformers) are imported only when a
function that needs them is called, so importing this package is cheap.
"""

from typing import TYPE_CHECKING, Any

from .doc_warnings import clear_doc_warnings, doc_warnings, warn_doc
from .errors import CodedMessages, ConfigError, NlpTasksError
from .registry.hookspecs import hookimpl
from .task import PLUGIN_API_VERSION, RecordError, Task, is_blank, require_text
from .task_inputs import ExtraField, TaskInputs, doc_segments, segment_spans, text_list

__version__ = "0.1.0"
__all__ = [
    "CodedMessages",
    "ConfigError",
    "ExtraField",
    "NlpTasksError",
    "PLUGIN_API_VERSION",
    "GenerativeHead",
    "RecordError",
    "SharedBackboneHead",
    "Task",
    "TaskInputs",
    "accepted_docs",
    "clear_doc_warnings",
    "doc_warnings",
    "doc_segments",
    "ensure_doc_extensions",
    "examples_with_gold",
    "gold_example",
    "hookimpl",
    "is_blank",
    "listener_config",
    "load",
    "make_doc",
    "predict",
    "read_jsonl",
    "render",
    "require_text",
    "segment_spans",
    "shared_transformer",
    "text_list",
    "warn_doc",
]

if TYPE_CHECKING:
    from .components.extensions import ensure_doc_extensions
    from .components.head import SharedBackboneHead, listener_config, shared_transformer
    from .components.routing import accepted_docs
    from .generation.head import GenerativeHead
    from .inference import load, make_doc, predict
    from .training.corpus import read_jsonl
    from .training.examples import gold_example
    from .training.scoring import examples_with_gold
    from .views import render

_LAZY = {
    "GenerativeHead": "generation.head",
    "load": "inference",
    "make_doc": "inference",
    "predict": "inference",
    "SharedBackboneHead": "components.head",
    "listener_config": "components.head",
    "shared_transformer": "components.head",
    "read_jsonl": "training.corpus",
    "render": "views",
    "ensure_doc_extensions": "components.extensions",
    "accepted_docs": "components.routing",
    "gold_example": "training.examples",
    "examples_with_gold": "training.scoring",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'nlp_tasks' has no attribute '{name}'")
