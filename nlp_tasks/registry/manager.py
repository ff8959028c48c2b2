"""One plugin manager: discovery, controlled loading, quarantine and listing.

Entry points in the ``nlp_tasks`` group are read as metadata first and imported
only when something needs the registry of tasks or backbones, so ``import
nlp_tasks`` imports no plugin. A plugin that fails to import, or whose hook
raises, is quarantined with a warning and shown by ``nlp-tasks plugins``; the
other plugins keep working.

spaCy imports every ``spacy_factories`` entry point each time it builds a
pipeline (``spacy.blank`` included), before any nlp-tasks code could step in.
So a plugin names its component factories in the ``nlp_tasks_factories`` group,
and its ``spacy_factories`` entry point names ``nlp_tasks.registry:spacy_factories``
instead of its own code: when spaCy reads that attribute, this module imports
the factory modules of the allowed plugins, under the same quarantine.

Environment:
- ``NLP_TASKS_LOAD_PLUGINS``: unset loads every plugin, empty loads none, a
  comma-separated list of distribution names loads only those, ``*`` all.
- ``NLP_TASKS_BLOCK_PLUGINS``: comma-separated distribution names never
  loaded (``*`` blocks every plugin). A plugin not loaded runs no code.
- ``NLP_TASKS_STRICT_PLUGINS=1``: re-raise a plugin's failure instead.
"""

import os
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from ..components.head_rates import is_learn_rate_scale
from ..errors import Errors, PluginError, PluginWarning, Warnings
from ..precision import PRECISIONS
from ..task import PLUGIN_API_VERSION, Task
from . import hookspecs

ENTRY_POINT_GROUP = "nlp_tasks"
#: The group in which a plugin names its spaCy component factories ("module:function").
FACTORY_GROUP = "nlp_tasks_factories"
#: What a plugin's ``spacy_factories`` entry point names, so that spaCy asks nlp-tasks.
SPACY_GATE = "nlp_tasks.registry:spacy_factories"
#: The gate's earlier name, which plugins published before 0.2 still name.
LEGACY_SPACY_GATE = "nlp_tasks.plugins:spacy_factories"
LOAD_ENV = "NLP_TASKS_LOAD_PLUGINS"
BLOCK_ENV = "NLP_TASKS_BLOCK_PLUGINS"
STRICT_ENV = "NLP_TASKS_STRICT_PLUGINS"
#: Modules of the core that register through the same hooks as any plugin.
BUILTIN_MODULES = ("nlp_tasks.registry.default_backbones", "nlp_tasks.convert.builtin")


@dataclass
class PluginInfo:
    """What is known about one plugin, loaded or not.

    name (str): The distribution name (or module name for a built-in).
    version (str | None): The distribution version.
    entry_point (str): Where the plugin lives, "module" or "module:attr".
    status (str): "loaded", "failed", "blocked" or "not requested".
    error (str | None): Why it failed, when it did.
    tasks (list[str]): Task names it registers.
    descriptions (dict[str, str]): Each of its tasks' one-line description
        (``Task.description``), by task name.
    factories (list[str]): spaCy factories its distribution declares.
    hooks (list[str]): The hooks it implements.
    spacy_entry_points (list[str]): spaCy entry points ("group: name") that name
        the plugin's own code: spaCy imports those itself, so neither quarantine
        nor blocking covers them.
    builtin (bool): Whether it is a module of the core itself (the default
        backbones, the generic converters). The task plugins shipped beside the
        core (``nlp-tasks-sentiment`` ...) are distributions: False.
    """

    name: str
    version: str | None
    entry_point: str
    status: str = "not requested"
    error: str | None = None
    tasks: list[str] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)
    factories: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    spacy_entry_points: list[str] = field(default_factory=list)
    builtin: bool = False
    # Where each factory of ``factories`` is imported from, when nlp-tasks imports it.
    factory_entry_points: dict[str, EntryPoint] = field(default_factory=dict, repr=False)
    # Whether the load settings let this plugin's code run.
    allowed: bool = field(default=True, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The public fields, as ``nlp-tasks plugins`` prints them.

        RETURNS (dict[str, Any]): JSON-serializable data.
        """
        hidden = ("factory_entry_points", "allowed")
        return {k: v for k, v in self.__dict__.items() if k not in hidden}


class _State:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.discovered = False
        self.loaded = False
        self.entry_points: dict[str, EntryPoint] = {}
        self.factory_owner: dict[str, str] = {}
        self.factories: dict[str, Callable[..., Any]] = {}
        self.importing_factories = False
        self.tasks: dict[str, Task] = {}
        self.task_owner: dict[str, str] = {}
        self.task_conflicts: dict[str, tuple[str, str]] = {}
        self.tasks_built = False


_state = _State()
# Discovery and imports run once, whichever thread builds the first Language; the
# same thread may come back in (a factory module that builds a Language on import).
_lock = threading.RLock()


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0", "false")


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-")


class _Setting:
    """One of the load variables, parsed: unset, "*", or a set of names."""

    def __init__(self, var: str) -> None:
        self.var = var
        self.value = os.environ.get(var)
        items = [] if self.value is None else self.value.split(",")
        self.names = {_normalize(n) for n in items if n.strip() and n.strip() != "*"}
        self.everything = any(n.strip() == "*" for n in items)
        # "a,,b" or "," is a typo rather than a list; an empty value is not.
        self.malformed = bool(self.value and self.value.strip()) and any(
            not n.strip() for n in items
        )

    @property
    def is_set(self) -> bool:
        return self.value is not None

    def names_plugin(self, key: str) -> bool:
        return self.everything or key in self.names

    def describe(self) -> str:
        return f"{self.var}={self.value!r}"


def _own_spacy_entry_points(ep: EntryPoint) -> list[str]:
    dist = ep.dist
    if dist is None:
        return []
    return sorted(
        f"{e.group}: {e.name}"
        for e in dist.entry_points
        if e.group.startswith("spacy_")
        and e.value.replace(" ", "") not in (SPACY_GATE, LEGACY_SPACY_GATE)
    )


def _distribution_factories(ep: EntryPoint) -> dict[str, EntryPoint | None]:
    """The factories a distribution declares: those nlp-tasks imports (with their
    entry point) and those spaCy imports itself (None)."""
    dist = ep.dist
    if dist is None:
        return {}
    found: dict[str, EntryPoint | None] = {}
    for e in dist.entry_points:
        if e.group == FACTORY_GROUP:
            found[e.name] = e
        elif e.group == "spacy_factories":
            found.setdefault(e.name, None)
    return found


def _quarantine(info: PluginInfo, error: BaseException, message: str) -> None:
    info.status = "failed"
    info.error = f"{type(error).__name__}: {error}"
    # Its tasks, if already listed, go with it.
    _state.tasks_built = False
    if _strict():
        raise error
    warnings.warn(message, PluginWarning, stacklevel=3)


def _clause(error: BaseException | str) -> str:
    """An error's message without its full stop, for a message that goes on after it."""
    return str(error).rstrip().rstrip(".")


def _quarantine_import(info: PluginInfo, ep: EntryPoint, error: BaseException) -> None:
    _quarantine(
        info,
        error,
        Warnings.W001.format(plugin=info.name, entry_point=ep.value, error=_clause(error)),
    )
    info.error = (info.error or "") + "\n" + "".join(traceback.format_exception(error)[-3:])


def _installed_names() -> str:
    names = sorted(i.name for i in _state.infos.values() if not i.builtin)
    return ", ".join(names) or "none"


def _discover() -> None:
    """Read every plugin's entry points and the load settings, importing nothing."""
    with _lock:
        if not _state.discovered:
            _discover_now()
            _state.discovered = True


def _discover_now() -> None:
    allowed, blocked = _Setting(LOAD_ENV), _Setting(BLOCK_ENV)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist_name = ep.dist.name if ep.dist is not None else ep.name
        key = _normalize(dist_name)
        factories = _distribution_factories(ep)
        info = PluginInfo(
            name=dist_name,
            version=ep.dist.version if ep.dist is not None else None,
            entry_point=ep.value,
            factories=sorted(factories),
            spacy_entry_points=_own_spacy_entry_points(ep),
            factory_entry_points={n: e for n, e in factories.items() if e is not None},
        )
        _state.infos[dist_name] = info
        _state.entry_points[dist_name] = ep
        for factory in factories:
            _state.factory_owner.setdefault(factory, dist_name)
        if blocked.names_plugin(key):
            info.status, info.allowed = "blocked", False
        elif allowed.is_set and not allowed.names_plugin(key):
            info.allowed = False
    _check_settings(allowed, blocked)


def _check_settings(allowed: _Setting, blocked: _Setting) -> None:
    keys = {_normalize(i.name) for i in _state.infos.values()}
    available = _installed_names()
    for setting in (allowed, blocked):
        if setting.malformed:
            problem = "it has an empty name (a stray comma)"
            print(
                Warnings.W006.format(
                    setting=setting.describe(), problem=problem, available=available
                ),
                file=sys.stderr,
            )
    for name in sorted(allowed.names - keys):
        print(Warnings.W002.format(name=name, available=available), file=sys.stderr)
    for name in sorted(blocked.names - keys):
        problem = f"'{name}' is not the name of an installed plugin, so it blocks nothing"
        print(
            Warnings.W006.format(setting=blocked.describe(), problem=problem, available=available),
            file=sys.stderr,
        )
    for info in _state.infos.values():
        if not info.allowed and info.spacy_entry_points:
            warnings.warn(
                Warnings.W007.format(
                    plugin=info.name,
                    setting=_setting_for(info).describe(),
                    entry_points=", ".join(info.spacy_entry_points),
                    gate=SPACY_GATE,
                ),
                PluginWarning,
                stacklevel=4,
            )


def _setting_for(info: PluginInfo) -> _Setting:
    return _Setting(BLOCK_ENV if info.status == "blocked" else LOAD_ENV)


def load_plugins() -> pluggy.PluginManager:
    """Import the plugins that the environment allows, once.

    Idempotent; a failing plugin is quarantined with a ``PluginWarning``.

    RETURNS (pluggy.PluginManager): The manager holding the loaded plugins.
    """
    with _lock:
        if not _state.loaded:
            _state.loaded = True
            _load_plugins_now()
        return _state.pm


def _load_plugins_now() -> None:
    for module_name in BUILTIN_MODULES:
        module = __import__(module_name, fromlist=["_"])
        _state.pm.register(module, name=module_name)
        _state.infos[module_name] = PluginInfo(
            module_name, None, module_name, status="loaded", builtin=True
        )
    _discover()
    for dist_name, ep in _state.entry_points.items():
        info = _state.infos[dist_name]
        if not info.allowed or info.status == "failed":
            continue
        try:
            plugin = ep.load()
            _state.pm.register(plugin, name=dist_name)
        except Exception as error:  # noqa: BLE001 - any import failure quarantines
            _quarantine_import(info, ep, error)
            continue
        info.status = "loaded"
    _refresh_hook_names()


def load_factories() -> dict[str, Callable[..., Any]]:
    """Import the component factories of the plugins that the environment allows.

    spaCy calls this, through the ``spacy_factories`` entry points that name
    ``nlp_tasks.registry:spacy_factories``, whenever it builds a pipeline. A
    factory module that fails to import quarantines its plugin with a
    ``PluginWarning``; a blocked or not requested plugin is never imported.

    RETURNS (dict[str, Callable]): The imported factories, by name.
    """
    _discover()
    with _lock:
        if _state.importing_factories:
            # A factory module of this thread that builds a Language while it is imported.
            return dict(_state.factories)
        _state.importing_factories = True
        try:
            _load_factories_now()
        finally:
            _state.importing_factories = False
        return dict(_state.factories)


def _load_factories_now() -> None:
    for info in list(_state.infos.values()):
        if not info.allowed or info.status == "failed":
            continue
        for name, ep in info.factory_entry_points.items():
            if name in _state.factories:
                continue
            try:
                _state.factories[name] = ep.load()
            except Exception as error:  # noqa: BLE001 - any import failure quarantines
                _quarantine_import(info, ep, error)
                break


def factory_plugin(factory: str) -> PluginInfo | None:
    """The plugin whose distribution declares a spaCy factory, if any.

    Reads entry-point metadata only.

    factory (str): The factory name of a pipeline component.
    RETURNS (PluginInfo | None): The plugin, or None for a factory of no plugin.
    """
    _discover()
    owner = _state.factory_owner.get(factory)
    return None if owner is None else _state.infos.get(owner)


def require_factory(factory: str, component: str, pipeline: str) -> None:
    """Refuse a component whose plugin may not run or failed to load.

    factory (str): The component's factory.
    component (str): The component's name, for the message.
    pipeline (str): The pipeline's directory or name, for the message.
    """
    info = factory_plugin(factory)
    if info is None:
        return
    if not info.allowed:
        setting = _setting_for(info)
        raise PluginError(
            Errors.E006.format(
                component=component,
                factory=factory,
                path=pipeline,
                plugin=info.name,
                status=info.status,
                setting=setting.describe(),
                remedy=(
                    f"Remove '{info.name}' from {setting.var}"
                    if info.status == "blocked"
                    else f"Add '{info.name}' to {setting.var}"
                ),
            )
        )
    load_plugins()
    load_factories()
    # Building the tasks checks each one's API version; a plugin refused there is
    # quarantined too, and must not run on the first load of a process.
    _build_tasks()
    if info.status == "failed":
        raise PluginError(
            Errors.E007.format(
                component=component,
                factory=factory,
                path=pipeline,
                plugin=info.name,
                error=_clause((info.error or "").split("\n")[0]),
            )
        )


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
    with _lock:
        _state.pm.register(plugin, name=name)
        _state.infos[name] = PluginInfo(name, None, repr(plugin), status="loaded")
        _refresh_hook_names()
        _state.tasks_built = False


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with ``register_plugin``.

    name (str): The name it was registered under.
    """
    with _lock:
        plugin = _state.pm.get_plugin(name)
        if plugin is not None:
            _state.pm.unregister(plugin)
        _state.infos.pop(name, None)
        _state.tasks_built = False


def reset() -> None:
    """Forget every loaded plugin, so the next use loads them again (for tests)."""
    global _state
    _state = _State()


def call_each(
    hook_name: str, *, before_each: Callable[[str], None] | None = None, **kwargs: Any
) -> None:
    """Call one hook on every loaded plugin, quarantining a plugin whose hook raises.

    hook_name (str): The hook, e.g. "register_backbones".
    before_each (Callable[[str], None] | None): Called with each plugin's name
        before its hook runs, for callers that record who registered what.
    **kwargs: The hook's arguments; each implementation gets those it accepts.
    """
    load_plugins()
    caller = getattr(_state.pm.hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        info = _state.infos.get(impl.plugin_name)
        if info is not None and info.status == "failed":
            continue
        if before_each is not None:
            before_each(impl.plugin_name)
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
                Warnings.W003.format(plugin=impl.plugin_name, hook=hook_name, error=_clause(error)),
            )


def _build_tasks() -> None:
    if _state.tasks_built:
        return
    with _lock:
        if not _state.tasks_built:
            _build_tasks_now()


def _build_tasks_now() -> None:
    # Built aside and published at the end, so a reader never sees a half-built table.
    tasks: dict[str, Task] = {}
    owner: dict[str, str] = {}
    conflicts: dict[str, tuple[str, str]] = {}
    for info in _state.infos.values():
        info.tasks, info.descriptions = [], {}
    current: list[str] = []

    def register(task: Task) -> None:
        plugin = current[0]
        if not isinstance(task, Task):
            raise PluginError(Errors.E004.format(plugin=plugin, value=task))
        if not task.supports_api():
            raise PluginError(
                Errors.E003.format(
                    plugin=plugin,
                    task=task.name,
                    supported=task.api_version,
                    api_version=PLUGIN_API_VERSION,
                )
            )
        unknown = [value for value in task.precisions if value not in PRECISIONS]
        if unknown:
            raise PluginError(
                Errors.E134.format(value=unknown[0], choices=", ".join(PRECISIONS))
                + f" (Task.precisions of task '{task.name}', plugin '{plugin}')"
            )
        if not is_learn_rate_scale(task.learn_rate_scale):
            raise PluginError(
                Errors.E139.format(task=task.name, plugin=plugin, value=task.learn_rate_scale)
            )
        registered.append(task)

    load_plugins()
    caller = _state.pm.hook.register_tasks
    for impl in reversed(caller.get_hookimpls()):
        current[:] = [impl.plugin_name]
        info = _state.infos[impl.plugin_name]
        if info.status == "failed":
            continue
        # A plugin's tasks count only once its hook has returned: one that fails
        # halfway leaves no task, and no name conflict, behind.
        registered: list[Task] = []
        try:
            impl.function(register=register)
        except Exception as error:  # noqa: BLE001
            _quarantine(
                info,
                error,
                Warnings.W003.format(
                    plugin=impl.plugin_name, hook="register_tasks", error=_clause(error)
                ),
            )
            continue
        for task in registered:
            if task.name in tasks:
                conflicts[task.name] = (owner[task.name], impl.plugin_name)
            else:
                tasks[task.name] = task
                owner[task.name] = impl.plugin_name
            info.tasks.append(task.name)
            info.descriptions[task.name] = task.description
    _state.tasks, _state.task_owner, _state.task_conflicts = tasks, owner, conflicts
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
        failed = [info.name for info in _state.infos.values() if info.status == "failed"]
        if failed:
            hint = (
                f"Installed plugins that failed to load, whose tasks are missing: "
                f"{', '.join(failed)} (`nlp-tasks plugins` says why); fix or "
                "reinstall the one that provides it."
            )
        else:
            hint = (
                "Install the plugin that provides it (for example `pip install "
                f"nlp-tasks-{name}`); `nlp-tasks plugins` lists what is installed."
            )
        available = sorted(get_tasks()) or "none"
        raise PluginError(Errors.E002.format(task=name, available=available, hint=hint))
    return _state.tasks[name]


def doc_attributes(factory: str) -> list[str]:
    """The ``Doc._`` attributes a factory's components write, as its ``assigns`` says.

    factory (str): The factory name of a pipeline component.
    RETURNS (list[str]): Attribute names without the ``doc._.`` prefix, e.g.
        ``["summary"]``; empty for a factory that declares none or is unknown.
    """
    from spacy.language import Language

    load_factories()
    if not Language.has_factory(factory):
        return []
    assigns = Language.get_factory_meta(factory).assigns
    return [name.removeprefix("doc._.") for name in assigns if name.startswith("doc._.")]


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


@dataclass
class ConverterRegistry:
    """The converters the loaded plugins register, and who registers each.

    converters (dict[str, Any]): Name to ``nlp_tasks.convert.Converter``, names that
        two plugins register left out.
    owners (dict[str, str]): Name to the plugin that registers it (the first, for a
        conflict).
    conflicts (dict[str, tuple[str, str]]): Name to the two plugins that both
        register it.
    """

    converters: dict[str, Any] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, tuple[str, str]] = field(default_factory=dict)


def converter_registry() -> ConverterRegistry:
    """Collect the converters of the loaded plugins (``register_converters`` hook).

    Collected afresh at each call (it is cheap, and used by one command); a plugin
    whose hook raises is quarantined with a ``PluginWarning``, as for tasks.

    RETURNS (ConverterRegistry): The converters, their plugins and any conflicts.
    """
    from ..convert.converter import Converter

    found = ConverterRegistry()
    current: list[str] = []

    def register(converter: Converter) -> None:
        plugin = current[0]
        if not isinstance(converter, Converter):
            raise PluginError(Errors.E098.format(plugin=plugin, value=converter))
        name = converter.name
        if name in found.owners:
            found.conflicts[name] = (found.owners[name], plugin)
            found.converters.pop(name, None)
        else:
            found.converters[name] = converter
            found.owners[name] = plugin

    load_plugins()
    for impl in reversed(_state.pm.hook.register_converters.get_hookimpls()):
        current[:] = [impl.plugin_name]
        info = _state.infos.get(impl.plugin_name)
        if info is not None and info.status == "failed":
            continue
        try:
            impl.function(register=register)
        except Exception as error:  # noqa: BLE001 - a broken hook quarantines its plugin
            if info is None:
                raise
            _quarantine(
                info,
                error,
                Warnings.W003.format(
                    plugin=impl.plugin_name, hook="register_converters", error=_clause(error)
                ),
            )
            for name in [n for n, owner in found.owners.items() if owner == impl.plugin_name]:
                found.converters.pop(name, None)
                if name not in found.conflicts:
                    del found.owners[name]
    return found


def get_converters() -> dict[str, Any]:
    """Every converter of the loaded plugins, by name, conflicting names left out.

    RETURNS (dict[str, nlp_tasks.convert.Converter]): The available converters.
    """
    return converter_registry().converters


def get_converter(name: str) -> Any:
    """The converter of this name, with a coded error if none or two plugins provide it.

    name (str): The converter's name, e.g. "conll".
    RETURNS (nlp_tasks.convert.Converter): The converter.
    """
    from ..errors import ConvertError

    found = converter_registry()
    if name in found.conflicts:
        first, second = found.conflicts[name]
        raise PluginError(Errors.E097.format(name=name, first=first, second=second))
    if name not in found.converters:
        available = ", ".join(sorted(found.converters)) or "none"
        raise ConvertError(Errors.E099.format(name=name, available=available))
    return found.converters[name]
