"""Writing a new task plugin distribution from the project's template."""

import re
from importlib.resources import files
from pathlib import Path
from string import Template

from .. import __version__
from ..errors import Errors, ScaffoldError
from ..task import PLUGIN_API_VERSION
from . import manager as plugins

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def new_plugin(name: str, directory: str | Path = ".", *, description: str = "") -> Path:
    """Write a ready-to-publish task plugin distribution.

    The plugin is a working document classifier on the shared transformer:
    ``pyproject.toml`` with its entry points, the component, a reader, a
    scorer, tests that train it end to end on a tiny backbone, a README and a
    ``.gitignore``.
    ``pip install -e`` it and ``nlp-tasks plugins`` lists it.

    name (str): The task name (lowercase letters, digits and underscores).
    directory (str | Path): Where to create ``nlp-tasks-<name>/``.
    description (str): One line for the package metadata and ``nlp-tasks plugins``.
    RETURNS (Path): The new distribution's directory.
    """
    if not _NAME.match(name):
        raise ScaffoldError(Errors.E041.format(name=name))
    installed = plugins.get_tasks()
    if name in installed:
        raise ScaffoldError(Errors.E042.format(name=name))
    dist = "nlp-tasks-" + name.replace("_", "-")
    target = Path(directory) / dist
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(Errors.E043.format(path=target))
    package = f"nlp_tasks_{name}"
    core_major, core_minor = (int(part) for part in __version__.split(".")[:2])
    api_major = int(PLUGIN_API_VERSION.split(".")[0])
    # 0.x releases may break the API in a minor release, so pin the minor.
    core_upper = f"{core_major}.{core_minor + 1}" if core_major == 0 else f"{core_major + 1}"
    values = {
        "task": name,
        "package": package,
        "dist": dist,
        "class_name": "".join(part.title() for part in name.split("_")) + "Classifier",
        "description": description or f"The {name} task for nlp-tasks.",
        "core_requirement": f"nlp-tasks>={core_major}.{core_minor},<{core_upper}",
        "api_range": f">={PLUGIN_API_VERSION},<{api_major + 1}",
    }
    template_root = files("nlp_tasks.registry") / "plugin_template"
    for source, relative in _template_files(template_root):
        relative = relative.replace("package/", f"{package}/").replace("test_task", f"test_{name}")
        relative = ".gitignore.tmpl" if relative == "gitignore.tmpl" else relative
        out = target / relative.removesuffix(".tmpl")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(Template(source.read_text(encoding="utf8")).substitute(values), "utf8")
    return target


def _template_files(root, prefix: str = ""):
    for entry in sorted(root.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir():
            yield from _template_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".tmpl"):
            yield entry, f"{prefix}{entry.name}"
