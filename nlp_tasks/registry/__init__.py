"""The plugin registry: discovery of plugins through entry points, their tasks,
their spaCy factories, the hook specifications, the built-in backbone aliases,
and the scaffold of a new plugin.

``spacy_factories`` is the gate that a plugin's ``spacy_factories`` entry points
name: spaCy reads it each time it builds a pipeline, and reading it imports the
factories of the plugins the environment allows.
"""

from typing import Any

from .manager import (
    PluginInfo,
    get_task,
    get_tasks,
    load_factories,
    load_plugins,
    plugin_infos,
)

__all__ = [
    "PluginInfo",
    "get_task",
    "get_tasks",
    "load_factories",
    "load_plugins",
    "plugin_infos",
]


def __getattr__(name: str) -> Any:
    # spaCy reads this attribute through the `spacy_factories` entry points of the
    # plugins, each time it builds a Language: the moment their factories must exist.
    if name == "spacy_factories":
        return load_factories()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
