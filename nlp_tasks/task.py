"""The description a plugin gives of one task."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import RecordError
from .precision import DEFAULT_TASK_PRECISIONS
from .task_inputs import TaskInputs

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.training import Example

    from .views import Block

#: The plugin API this core provides. A task declares the range it supports in
#: ``Task.api_version``; a minor release only adds to the API.
PLUGIN_API_VERSION = "1.7"


def require_text(record: "dict[str, Any]", field: str = "text") -> str:
    """A record's text field, checked: a string with something besides whitespace.

    record (dict[str, Any]): The parsed JSONL record.
    field (str): The field that holds the text.
    RETURNS (str): The text.
    """
    text = record.get(field)
    if not isinstance(text, str):
        raise RecordError(f"{field!r} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise RecordError(f"{field!r} is empty")
    return text


def is_blank(doc: "Doc") -> bool:
    """Whether a doc is blank: it has no tokens, or only whitespace tokens.

    Equivalently, ``not doc.text.strip()``: whitespace is what ``str.isspace``
    says it is (spaces, tabs, newlines, and the other Unicode spaces). Every
    built-in head gives no output for a blank doc (None, no label, no
    entities, no answer) instead of a guess; a task plugin should too.

    doc (Doc): The doc.
    RETURNS (bool): True if the doc has nothing but whitespace.
    """
    return all(token.is_space for token in doc)


@dataclass(frozen=True)
class Task:
    """A task that a plugin adds to nlp-tasks.

    name (str): The task's name, as used in ``--tasks`` and in corpus sources.
        Also the default name of its pipeline component.
    factory (str): The spaCy factory of the task's component. The plugin
        names it in an ``nlp_tasks_factories`` entry point (docs/plugins.md).
    make_example (Callable[[Language, dict], Example]): Turns one JSONL record
        into a training ``Example`` annotated for this task only. Raises
        ``RecordError`` for a bad record.
    to_json (Callable[[Doc], dict]): The task's output for one processed doc,
        as JSON-serializable data, for batch output and demos.
    labels_of (Callable[[Example], Iterable[str]] | None): The labels an example
        uses, checked against a trained component's labels.
    description (str): One line for listings.
    component_config (dict): Settings merged into the generated component config.
    api_version (str): The plugin API versions this task supports, as a PEP 440
        specifier (e.g. ">=1.0,<2").
    inputs (TaskInputs): The record fields the task reads at prediction, and so
        the docs its head runs on: one ``text`` field by default. A head runs
        only on the docs its task accepts; the others get no output from it
        (no key in ``process`` output).
    view (Callable[[dict, dict], Sequence[Block]] | None): How the task's
        output looks in ``nlp-tasks predict`` (terminal and ``--format
        html``), ``nlp_tasks.render`` and the service's page: given the task's
        ``to_json`` output and the record's input fields (``text``, ...), the
        blocks to draw (``nlp_tasks.views``: ``MarkedText``, ``Score``,
        ``Note``, ``Columns``). None shows the output as JSON.
    precisions (tuple[str, ...]): The precisions (``nlp_tasks.precision``) at
        which the task's head may run: those at which its metrics were shown to
        hold. A pipeline refuses to load at any other (E135). fp32 and bf16 by
        default; add "int8" only after measuring it (plugin API 1.4).
    learn_rate_scale (float): The head's learning rate as a multiple of the
        heads' rate (``[training.optimizer]``, the recipe's 1e-3), for a head
        that trains best faster or slower than the others. Generated configs
        write it into ``[nlp.after_pipeline_creation.learn_rate_scales]``, where
        a user can change it; 1.0 by default (plugin API 1.5).
    """

    name: str
    factory: str
    make_example: "Callable[[Language, dict[str, Any]], Example]"
    to_json: "Callable[[Doc], dict[str, Any]]"
    labels_of: "Callable[[Example], Iterable[str]] | None" = None
    description: str = ""
    component_config: dict[str, Any] = field(default_factory=dict)
    api_version: str = ">=1.0,<2"
    inputs: TaskInputs = field(default_factory=TaskInputs)
    view: "Callable[[dict[str, Any], dict[str, Any]], Sequence[Block]] | None" = None
    precisions: tuple[str, ...] = DEFAULT_TASK_PRECISIONS
    learn_rate_scale: float = 1.0

    def accepts(self, doc: "Doc") -> bool:
        """Whether this task's head runs on a doc (``TaskInputs.accepts``).

        doc (Doc): The doc.
        RETURNS (bool): True if the doc was made from this task's inputs.
        """
        return self.inputs.accepts(doc)

    def supports_api(self, version: str = PLUGIN_API_VERSION) -> bool:
        """Whether this task supports a plugin API version.

        version (str): The version to check, by default the core's.
        RETURNS (bool): True if ``version`` is in ``self.api_version``.
        """
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(self.api_version).contains(version, prereleases=True)
