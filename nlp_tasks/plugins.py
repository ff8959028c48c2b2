"""One plugin manager: discovery, controlled loading, quarantine and listing.

Entry points in the ``nlp_tasks`` group are read as metadata first and imported
only when something needs the registry of tasks or backbones, so ``import
nlp_tasks`` and ``spacy.blank()`` never import a plugin. A plugin that fails to
import, or whose hook raises, is quarantined with a warning and shown by
``nlp-tasks plugins``; the other plugins keep working.

Environment:
- ``NLP_TASKS_LOAD_PLUGINS``: unset loads every plugin, empty loads none, a
  comma-separated list of distribution names loads only those.
- ``NLP_TASKS_BLOCK_PLUGINS``: comma-separated distribution names never loaded.
- ``NLP_TASKS_STRICT_PLUGINS=1``: re-raise a plugin's failure instead.
"""

import os
import sys
import traceback
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from . import hookspecs
from .errors import Errors, Warnings
from .task import PLUGIN_API_VERSION, Task

ENTRY_POINT_GROUP = "nlp_tasks"
LOAD_ENV = "NLP_TASKS_LOAD_PLUGINS"
BLOCK_ENV = "NLP_TASKS_BLOCK_PLUGINS"
STRICT_ENV = "NLP_TASKS_STRICT_PLUGINS"
#: Modules of the core that register through the same hooks as any plugin.
BUILTIN_MODULES = ("nlp_tasks.default_backbones",)


class PluginError(RuntimeError):
    """A plugin problem: a conflict, an unsupported API version, a missing task."""


class PluginWarning(UserWarning):
    """A plugin was skipped; the others still work."""


@dataclass
class PluginInfo:
    """What is known about one plugin, loaded or not.

    name (str): The distribution name (or module name for a built-in).
    version (str | None): The distribution version.
    entry_point (str): Where the plugin lives, "module" or "module:attr".
    status (str): "loaded", "failed", "blocked" or "not requested".
    error (str | None): Why it failed, when it did.
    tasks (list[str]): Task names it registers.
    factories (list[str]): spaCy factories its distribution declares.
    builtin (bool): Whether it is part of the core.
    """

    name: str
    version: str | None
    entry_point: str
    status: str = "not requested"
    error: str | None = None
    tasks: list[str] = field(default_factory=list)
    factories: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    builtin: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _State:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.loaded = False
        self.tasks: dict[str, Task] = {}
        self.task_owner: dict[str, str] = {}
        self.task_conflicts: dict[str, tuple[str, str]] = {}
        self.tasks_built = False


_state = _State()


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0", "false")


def _names_from_env(var: str) -> set[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return {_normalize(n) for n in value.split(",") if n.strip()}


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _distribution_factories(ep: EntryPoint) -> list[str]:
    dist = ep.dist
    if dist is None:
        return []
    return sorted(e.name for e in dist.entry_points if e.group == "spacy_factories")


def _quarantine(info: PluginInfo, error: BaseException, message: str) -> None:
    info.status = "failed"
    info.error = f"{type(error).__name__}: {error}"
    if _strict():
        raise error
    warnings.warn(message, PluginWarning, stacklevel=3)


def load_plugins() -> pluggy.PluginManager:
    """Import the plugins that the environment allows, once.

    Idempotent; a failing plugin is quarantined with a ``PluginWarning``.

    RETURNS (pluggy.PluginManager): The manager holding the loaded plugins.
    """
    if _state.loaded:
        return _state.pm
    _state.loaded = True
    for module_name in BUILTIN_MODULES:
        module = __import__(module_name, fromlist=["_"])
        _state.pm.register(module, name=module_name)
        _state.infos[module_name] = PluginInfo(
            module_name, None, module_name, status="loaded", builtin=True
        )
    allowed = _names_from_env(LOAD_ENV)
    blocked = _names_from_env(BLOCK_ENV) or set()
    seen: set[str] = set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist_name = ep.dist.name if ep.dist is not None else ep.name
        key = _normalize(dist_name)
        seen.add(key)
        info = PluginInfo(
            name=dist_name,
            version=ep.dist.version if ep.dist is not None else None,
            entry_point=ep.value,
            factories=_distribution_factories(ep),
        )
        _state.infos[dist_name] = info
        if key in blocked:
            info.status = "blocked"
            continue
        if allowed is not None and key not in allowed:
            continue
        try:
            plugin = ep.load()
            _state.pm.register(plugin, name=dist_name)
        except Exception as error:  # noqa: BLE001 - any import failure quarantines
            _quarantine(
                info,
                error,
                Warnings.W001.format(plugin=dist_name, entry_point=ep.value, error=error),
            )
            info.error += "\n" + "".join(traceback.format_exception(error)[-3:])
            continue
        info.status = "loaded"
    for name in sorted((allowed or set()) - seen):
        print(Warnings.W002.format(name=name, available=sorted(seen) or "none"), file=sys.stderr)
    _refresh_hook_names()
    return _state.pm


def _refresh_hook_names() -> None:
    for name, info in _state.infos.items():
        plugin = _state.pm.get_plugin(name)
        if plugin is not None:
            info.hooks = sorted(c.name for c in _state.pm.get_hookcallers(plugin) or [])


def register_plugin(plugin: object, name: str) -> None:
    """Register a plugin object directly, without an entry point.

    Used by tests and by applications that define tasks in their own code.

    plugin (object): A module or object with ``@hookimpl`` functions.
    name (str): The name it is listed under.
    """
    load_plugins()
    _state.pm.register(plugin, name=name)
    _state.infos[name] = PluginInfo(name, None, repr(plugin), status="loaded")
    _refresh_hook_names()
    _state.tasks_built = False


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with ``register_plugin``.

    name (str): The name it was registered under.
    """
    plugin = _state.pm.get_plugin(name)
    if plugin is not None:
        _state.pm.unregister(plugin)
    _state.infos.pop(name, None)
    _state.tasks_built = False


def reset() -> None:
    """Forget every loaded plugin, so the next use loads them again (for tests)."""
    global _state
    _state = _State()


def call_each(hook_name: str, **kwargs: Any) -> None:
    """Call one hook on every loaded plugin, quarantining a plugin whose hook raises.

    hook_name (str): The hook, e.g. "register_backbones".
    **kwargs: The hook's arguments; each implementation gets those it accepts.
    """
    load_plugins()
    caller = getattr(_state.pm.hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        info = _state.infos.get(impl.plugin_name)
        if info is not None and info.status == "failed":
            continue
        args = {name: kwargs[name] for name in impl.argnames}
        try:
            impl.function(**args)
        except PluginError:
            raise
        except Exception as error:  # noqa: BLE001 - a broken hook quarantines its plugin
            if info is None:
                raise
            _quarantine(
                info,
                error,
                Warnings.W003.format(plugin=impl.plugin_name, hook=hook_name, error=error),
            )


def _build_tasks() -> None:
    if _state.tasks_built:
        return
    _state.tasks, _state.task_owner, _state.task_conflicts = {}, {}, {}
    for info in _state.infos.values():
        info.tasks = []
    current: list[str] = []

    def register(task: Task) -> None:
        plugin = current[0]
        if not isinstance(task, Task):
            raise TypeError(Errors.E004.format(plugin=plugin, value=task))
        if not task.supports_api():
            raise PluginError(
                Errors.E003.format(
                    plugin=plugin,
                    task=task.name,
                    supported=task.api_version,
                    api_version=PLUGIN_API_VERSION,
                )
            )
        if task.name in _state.tasks:
            _state.task_conflicts[task.name] = (_state.task_owner[task.name], plugin)
        else:
            _state.tasks[task.name] = task
            _state.task_owner[task.name] = plugin
        _state.infos[plugin].tasks.append(task.name)

    load_plugins()
    caller = _state.pm.hook.register_tasks
    for impl in reversed(caller.get_hookimpls()):
        current[:] = [impl.plugin_name]
        info = _state.infos[impl.plugin_name]
        try:
            impl.function(register=register)
        except Exception as error:  # noqa: BLE001
            _quarantine(
                info,
                error,
                Warnings.W003.format(plugin=impl.plugin_name, hook="register_tasks", error=error),
            )
            for name in list(_state.tasks):
                if _state.task_owner[name] == impl.plugin_name:
                    del _state.tasks[name]
    _state.tasks_built = True


def get_tasks() -> dict[str, Task]:
    """All tasks of the loaded plugins, by name, conflicting names left out.

    RETURNS (dict[str, Task]): The available tasks.
    """
    _build_tasks()
    return {n: t for n, t in _state.tasks.items() if n not in _state.task_conflicts}


def get_task(name: str) -> Task:
    """The task of this name, with a coded error if none or two plugins provide it.

    name (str): The task name, e.g. "sentiment".
    RETURNS (Task): The task description.
    """
    _build_tasks()
    if name in _state.task_conflicts:
        first, second = _state.task_conflicts[name]
        raise PluginError(Errors.E001.format(task=name, first=first, second=second))
    if name not in _state.tasks:
        raise PluginError(Errors.E002.format(task=name, available=sorted(get_tasks()) or "none"))
    return _state.tasks[name]


def task_for_factory(factory: str) -> Task | None:
    """The task whose component is made by a spaCy factory, if any.

    factory (str): The factory name of a pipeline component.
    RETURNS (Task | None): The task, or None for a component of no task.
    """
    for task in get_tasks().values():
        if task.factory == factory:
            return task
    return None


def plugin_infos(all_plugins: bool = False) -> list[PluginInfo]:
    """What every discovered plugin is, and whether it loaded.

    all_plugins (bool): Include the core's built-in plugins.
    RETURNS (list[PluginInfo]): One entry per plugin.
    """
    _build_tasks()
    infos = sorted(_state.infos.values(), key=lambda i: (not i.builtin, i.name))
    return [i for i in infos if all_plugins or not i.builtin]


def iter_hook_names() -> Iterable[str]:
    """The names of every hook in the contract."""
    return sorted(n for n in dir(hookspecs) if n.startswith("register_"))
