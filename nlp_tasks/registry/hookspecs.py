"""The plugin contract: every hook a plugin may implement.

Each hook receives a ``register`` callback rather than returning a list, so the
core owns the collection (duplicates, aliases, versions) and can give
``register`` new keyword arguments without breaking plugins. Hooks only grow:
parameters are added, never renamed or removed. An implementation may accept
any subset of a hook's parameters. docs/plugin_hooks.md documents each one.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from ..convert import Converter
    from ..task import Task

PROJECT_NAME = "nlp_tasks"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_tasks(register: "Callable[[Task], None]") -> None:
    """Register task descriptions.

    :param register: Call ``register(task)`` once per :class:`nlp_tasks.Task`.

    Called the first time the core needs the task registry (a config, a corpus,
    a command), never at import.
    """


@hookspec
def register_backbones(register: "Callable[[str, str | Callable[[], str | None]], None]") -> None:
    """Register backbone aliases that resolve to a local model directory.

    :param register: Call ``register(alias, locate)``, where ``locate`` is a
        directory path, or a callable returning one, called only when the
        alias is used.

    Called when a backbone name is resolved, at training initialization.
    """


@hookspec
def register_commands(cli: "typer.Typer") -> None:
    """Add sub-commands to the ``nlp-tasks`` command line.

    :param cli: The ``typer.Typer`` application; use ``@cli.command()``.

    Called once when the command line starts.
    """


@hookspec
def register_converters(register: "Callable[[Converter], None]") -> None:
    """Register converters from other data formats into a task's JSONL records.

    :param register: Call ``register(converter)`` once per
        :class:`nlp_tasks.convert.Converter`.

    Called when ``nlp-tasks convert`` (or ``nlp_tasks.convert.convert``) looks a
    converter up or lists them, never at import.
    """
