"""An HTTP service for a trained pipeline (``nlp-tasks serve``)."""

from typing import TYPE_CHECKING, Any

__all__ = ["Batcher", "ServeSettings", "make_app", "run_app", "serve_command"]

if TYPE_CHECKING:
    from .app import make_app
    from .batcher import Batcher
    from .command import run_app, serve_command
    from .limits import ServeSettings

# Imported on first use: the command must not pull in Starlette or spaCy.
_LAZY = {
    "Batcher": "batcher",
    "ServeSettings": "limits",
    "make_app": "app",
    "run_app": "command",
    "serve_command": "command",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
