"""Writing a new task plugin distribution from the project's template.

``plugin_template/`` holds the files every plugin gets. A kind of input other
than one text has a folder of its own there (``pair/``) whose files replace
those of the same path, so the two kinds share everything they can.
"""

import keyword
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from .. import __version__
from ..errors import Errors, ScaffoldError
from ..task import PLUGIN_API_VERSION, Task
from ..task_inputs import RECORD_FIELDS
from . import manager as plugins

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class InputKind:
    """What a kind of task input changes in the template.

    overrides (tuple[str, ...]): Template folders whose files replace the
        common files of the same path, in order.
    read (tuple[str, ...]): The record fields the task reads.
    fields (str): The record fields the task reads, for the README.
    record (str): A training record, for the README.
    example (str): An item of ``nlp_tasks.predict``, for the README.
    """

    overrides: tuple[str, ...]
    read: tuple[str, ...]
    fields: str
    record: str
    example: str


#: The kinds of input a scaffolded task may read (``new_plugin(input_kind=...)``).
INPUT_KINDS: dict[str, InputKind] = {
    "text": InputKind(
        overrides=(),
        read=("text",),
        fields="`text`",
        record='{"text": "What time does the museum open?", "label": "question"}',
        example='"Where is the station?"',
    ),
    "pair": InputKind(
        overrides=("pair",),
        read=("text_a", "text_b"),
        fields="`text_a` and `text_b`",
        record='{"text_a": "The museum opens at nine.", "text_b": "At nine the museum '
        'opens.", "label": "paraphrase"}',
        example='{"text_a": "It opens at nine.", "text_b": "At nine it opens."}',
    ),
}


def new_plugin(
    name: str,
    directory: str | Path = ".",
    *,
    description: str = "",
    input_kind: str = "text",
) -> Path:
    """Write a ready-to-publish task plugin distribution.

    The plugin is a working classifier on the shared transformer:
    ``pyproject.toml`` with its entry points, the component, a reader, a
    scorer, tests that train it end to end on a tiny backbone, a README and a
    ``.gitignore``. ``pip install -e`` it and ``nlp-tasks plugins`` lists it.

    name (str): The task name (lowercase letters, digits and underscores).
    directory (str | Path): Where to create ``nlp-tasks-<name>/``.
    description (str): One line for the package metadata and ``nlp-tasks plugins``.
    input_kind (str): What the task reads from a record: ``"text"`` (one
        ``text`` field: a document classifier) or ``"pair"`` (``text_a`` and
        ``text_b``: a sentence-pair classifier).
    RETURNS (Path): The new distribution's directory.
    """
    if not _NAME.match(name):
        raise ScaffoldError(Errors.E041.format(name=name))
    if input_kind not in INPUT_KINDS:
        kinds = " or ".join(repr(kind) for kind in INPUT_KINDS)
        raise ScaffoldError(Errors.E086.format(kinds=kinds, value=input_kind))
    installed = plugins.get_tasks()
    if name in installed:
        raise ScaffoldError(Errors.E042.format(name=name))
    reason = _why_not_a_task_name(name, installed)
    if reason:
        raise ScaffoldError(Errors.E174.format(name=name, reason=reason))
    dist = "nlp-tasks-" + name.replace("_", "-")
    target = Path(directory) / dist
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(Errors.E043.format(path=target))
    kind = INPUT_KINDS[input_kind]
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
        "fields": kind.fields,
        "record": kind.record,
        "example": kind.example,
    }
    for source, relative in template_files(input_kind):
        relative = relative.replace("package/", f"{package}/").replace("test_task", f"test_{name}")
        relative = ".gitignore.tmpl" if relative == "gitignore.tmpl" else relative
        out = target / relative.removesuffix(".tmpl")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(Template(source.read_text(encoding="utf8")).substitute(values), "utf8")
    return target


#: The pipeline's shared transformer component, which a task cannot be named after.
BACKBONE_COMPONENT = "transformer"


def _why_not_a_task_name(name: str, installed: dict[str, Task]) -> str:
    """Why the scaffold's code would break under this task name; "" if it would not.

    The scaffold names the component, its ``Doc._`` attributes (``name`` and
    ``name_score``) and the output record's key after the task.
    """
    if keyword.iskeyword(name):
        return f"it is a Python keyword, and the plugin's code would write doc._.{name}"
    if name == BACKBONE_COMPONENT:
        return "it is the name of the pipeline's shared transformer component"
    fields = [*RECORD_FIELDS, *(f for kind in INPUT_KINDS.values() for f in kind.read)]
    for task in installed.values():
        fields += [field for field in task.inputs.fields if field not in fields]
    if name in fields:
        listed = ", ".join(fields)
        return (
            f"an output record of `nlp-tasks process` holds the fields {listed} beside each "
            "task's output, and a task of that name would replace one"
        )
    for task in installed.values():
        taken = {name, f"{name}_score"} & set(plugins.doc_attributes(task.factory))
        if taken:
            return (
                f"the plugin would write doc._.{min(taken)}, which the installed task "
                f"'{task.name}' writes: the two would overwrite each other's output"
            )
    return ""


def template_files(input_kind: str = "text") -> list[tuple[Any, str]]:
    """The template files of one input kind, each with its path in the plugin.

    input_kind (str): A key of ``INPUT_KINDS``.
    RETURNS (list[tuple[Traversable, str]]): Each file and its path relative to
        the template root (``package/reader.py.tmpl``), in path order; a file of
        an override folder replaces the common file of the same path.
    """
    root = files("nlp_tasks.registry") / "plugin_template"
    skip = {folder for kind in INPUT_KINDS.values() for folder in kind.overrides}
    chosen = dict(_walk(root, skip=skip))
    for folder in INPUT_KINDS[input_kind].overrides:
        chosen.update(_walk(root / folder))
    return [(chosen[relative], relative) for relative in sorted(chosen)]


def _walk(root: Any, prefix: str = "", *, skip: Collection[str] = ()) -> Iterator[tuple[str, Any]]:
    for entry in sorted(root.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir():
            if not prefix and entry.name in skip:
                continue
            yield from _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".tmpl"):
            yield f"{prefix}{entry.name}", entry
