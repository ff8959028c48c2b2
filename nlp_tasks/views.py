"""Views of a pipeline's outputs: HTML (with displaCy) and the terminal (with rich).

A task says how its output looks through ``Task.view``: given its ``to_json``
output and the record's input fields, it returns a few blocks (``MarkedText``,
``Score``, ``Note``, ``Columns``). The core draws the blocks; it never names a
task. A task without a view shows its output as JSON.

The HTML is offline: inline styles, no scripts, no fonts or files from elsewhere.
"""

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .doc_warnings import WARNINGS_FIELD

if TYPE_CHECKING:
    from rich.console import Group
    from spacy.language import Language

    from .task import Task


@dataclass(frozen=True)
class Mark:
    """A marked span of a text, by character offsets.

    start (int): The first character.
    end (int): One past the last character.
    label (str): The label drawn beside it.
    color (str | None): A CSS colour for the mark; None takes displaCy's
        colour for the label (its entity colours), or grey.
    """

    start: int
    end: int
    label: str
    color: str | None = None


@dataclass(frozen=True)
class MarkedText:
    """A text with spans marked, drawn as displaCy draws entities.

    text (str): The text.
    marks (Sequence[Mark]): Spans of it, in any order; they must not overlap.
    title (str): A line above the text, e.g. a question.
    """

    text: str
    marks: Sequence[Mark] = ()
    title: str = ""

    def __post_init__(self) -> None:
        previous_end = 0
        for mark in sorted(self.marks, key=lambda mark: mark.start):
            if not 0 <= mark.start < mark.end <= len(self.text):
                raise ValueError(
                    f"mark {mark.label!r} at [{mark.start}, {mark.end}) is not a span of a "
                    f"text of {len(self.text)} characters"
                )
            if mark.start < previous_end:
                raise ValueError(
                    f"mark {mark.label!r} at [{mark.start}, {mark.end}) overlaps another"
                )
            previous_end = mark.end


@dataclass(frozen=True)
class Score:
    """A labelled number from 0 to 1, drawn as a bar.

    label (str): What the number is, e.g. a class label.
    value (float | None): The number; None draws "no score".
    title (str): A line above the bar.
    """

    label: str
    value: float | None
    title: str = ""


@dataclass(frozen=True)
class Note:
    """A titled piece of text: a generated summary, an answer, a remark.

    title (str): What the text is.
    text (str | None): The text; None draws "none".
    """

    title: str
    text: str | None


@dataclass(frozen=True)
class Columns:
    """Titled texts side by side: a source and its translation, two sides of a pair.

    columns (Sequence[tuple[str, str | None]]): (title, text) pairs, left to right.
    """

    columns: Sequence[tuple[str, str | None]] = field(default_factory=tuple)


#: What a task's view returns a list of.
Block = MarkedText | Score | Note | Columns
#: ``Task.view``: the task's output and the record's input fields to blocks.
TaskView = Callable[[dict[str, Any], dict[str, Any]], Sequence[Block]]


def record_blocks(
    record: Mapping[str, Any], tasks: Mapping[str, "Task"]
) -> list[tuple[str, list[Block]]]:
    """Each task's blocks for one output record of ``predict`` or ``process``.

    A task's view that fails draws the output as JSON, with the error in a note,
    so one plugin's bug hides nothing else. The record's warnings about a
    task's output (``nlp_tasks.doc_warnings``) follow its blocks as notes; those
    of a component with no output in the record come last, under "warnings".

    record (Mapping[str, Any]): Input fields, then component name to output.
    tasks (Mapping[str, Task]): Component name to task (``pipeline_tasks``).
    RETURNS (list[tuple[str, list[Block]]]): (component name, blocks), in
        pipeline order, for the components that have output in the record; then
        ("warnings", notes) if a warning belongs to none of them.
    """
    inputs = input_fields(record, tasks)
    warned = record.get(WARNINGS_FIELD) if WARNINGS_FIELD not in tasks else None
    views = []
    for name, task in tasks.items():
        if name not in record:
            continue
        notes = [
            Note("warning", _warning_text(warning))
            for warning in warned or ()
            if isinstance(warning, Mapping) and warning.get("component") == name
        ]
        output = record[name]
        view = getattr(task, "view", None)
        if view is None:
            views.append((name, [Note("output", _as_json(output)), *notes]))
            continue
        try:
            blocks = list(view(output, inputs))
            for block in blocks:
                if not isinstance(block, (MarkedText, Score, Note, Columns)):
                    raise TypeError(f"{type(block).__name__} is no view block")
        except Exception as error:  # noqa: BLE001 (a plugin's bug must not hide the rest)
            problem = f"the view of task {task.name!r} failed: {type(error).__name__}: {error}"
            blocks = [Note("output", _as_json(output)), Note("view error", problem)]
        views.append((name, blocks + notes))
    shown = {name for name, _ in views}
    others = [
        Note("warning", _warning_text(warning))
        for warning in warned or ()
        if not (isinstance(warning, Mapping) and warning.get("component") in shown)
    ]
    if others:  # from a component with no output in the record: still shown
        views.append((WARNINGS_FIELD, others))
    return views


def _warning_text(warning: Mapping[str, Any]) -> str:
    code, message = f"[{warning.get('code')}]", str(warning.get("message"))
    # Coded messages (CodedMessages) start with their code already.
    return message if message.startswith(code) else f"{code} {message}"


def input_fields(record: Mapping[str, Any], tasks: Mapping[str, "Task"]) -> dict[str, Any]:
    """The fields of an output record that are not a component's output.

    record (Mapping[str, Any]): An output record.
    tasks (Mapping[str, Task]): Component name to task.
    RETURNS (dict[str, Any]): The input fields (``text``, ``questions``, ``id``...).
    """
    return {
        key: value
        for key, value in record.items()
        if key not in tasks and not (key == WARNINGS_FIELD and isinstance(value, list))
    }


def render_html(
    records: Iterable[Mapping[str, Any]],
    tasks: Mapping[str, "Task"],
    *,
    page: bool = True,
    title: str = "nlp-tasks",
) -> str:
    """The HTML view of output records: the inputs, then each task's blocks.

    records (Iterable[Mapping[str, Any]]): Output records of ``predict`` or ``process``.
    tasks (Mapping[str, Task]): Component name to task (``pipeline_tasks``).
    page (bool): A whole page with its styles, or a fragment (``<div>``) to put
        in one; a fragment needs ``STYLE`` on its page.
    title (str): The page's title.
    RETURNS (str): The HTML.
    """
    body = "\n".join(_record_html(record, tasks) for record in records)
    fragment = f'<div class="nlp-tasks">\n{body}\n</div>'
    if not page:
        return fragment
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{fragment}\n</body>\n</html>\n"
    )


def render_text(records: Iterable[Mapping[str, Any]], tasks: Mapping[str, "Task"]) -> "Group":
    """The terminal view of output records, for ``rich.console.Console.print``.

    records (Iterable[Mapping[str, Any]]): Output records.
    tasks (Mapping[str, Task]): Component name to task.
    RETURNS (rich.console.Group): One part per record, a rule between them.
    """
    from rich.console import Group
    from rich.rule import Rule

    parts: list[Any] = []
    for index, record in enumerate(records):
        if index:
            parts.append(Rule(style="dim"))
        parts.extend(_record_text(record, tasks))
    return Group(*parts)


class Rendering:
    """Output records with their views: HTML, the terminal, and Jupyter.

    Made by ``nlp_tasks.render``. ``html()`` gives the page; in Jupyter the
    object shows as HTML, and ``rich.print`` shows its terminal view.

    records (list[dict[str, Any]]): The output records.
    tasks (dict[str, Task]): Component name to task.
    """

    def __init__(self, records: list[dict[str, Any]], tasks: Mapping[str, "Task"]) -> None:
        self.records = records
        self.tasks = dict(tasks)

    def html(self, *, page: bool = True) -> str:
        """The HTML view (``render_html``).

        page (bool): A whole page, or a fragment.
        RETURNS (str): The HTML.
        """
        return render_html(self.records, self.tasks, page=page)

    def _repr_html_(self) -> str:
        return f"<style>{STYLE}</style>\n" + self.html(page=False)

    def __rich__(self) -> "Group":
        return render_text(self.records, self.tasks)


def render(
    nlp: "Language",
    texts: "Iterable[str | Mapping[str, Any]]",
    *,
    batch_size: int = 32,
    fields: Mapping[str, str] | None = None,
) -> Rendering:
    """Run a pipeline over texts or records, and view the outputs.

    nlp (Language): The pipeline.
    texts (Iterable[str | Mapping[str, Any]]): Texts, or records, as ``predict`` takes.
    batch_size (int): Docs per batch.
    fields (Mapping[str, str] | None): Task field name to the records' field name.
    RETURNS (Rendering): ``.html()`` for the page; shows itself in Jupyter.
    """
    from .inference import pipeline_tasks, predict

    records = predict(nlp, texts, batch_size=batch_size, fields=fields)
    return Rendering(records, pipeline_tasks(nlp))


# HTML


def _record_html(record: Mapping[str, Any], tasks: Mapping[str, "Task"]) -> str:
    inputs = "\n".join(
        _field_html(name, value) for name, value in input_fields(record, tasks).items()
    )
    parts = [f'<div class="inputs">\n{inputs}\n</div>']
    for name, blocks in record_blocks(record, tasks):
        rendered = "\n".join(_block_html(block) for block in blocks)
        parts.append(
            f'<div class="task" data-task="{html.escape(name)}">\n'
            f"<h3>{html.escape(name)}</h3>\n{rendered}\n</div>"
        )
    return '<section class="record">\n' + "\n".join(parts) + "\n</section>"


def _field_html(name: str, value: Any) -> str:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = "".join(f"<li>{html.escape(item)}</li>" for item in value)
        shown = f"<ul>{items}</ul>"
    elif isinstance(value, str):
        shown = f"<p>{html.escape(value)}</p>"
    else:
        shown = f"<p>{html.escape(_as_json(value))}</p>"
    return f'<div class="field"><span class="name">{html.escape(name)}</span>{shown}</div>'


def _block_html(block: Block) -> str:
    if isinstance(block, MarkedText):
        return _marked_html(block)
    if isinstance(block, Score):
        title = f'<div class="title">{html.escape(block.title)}</div>' if block.title else ""
        if block.value is None:
            return f'{title}<div class="score">{html.escape(block.label)}: no score</div>'
        value = min(max(float(block.value), 0.0), 1.0)
        return (
            f'{title}<div class="score"><span class="label">{html.escape(block.label)}</span>'
            f'<span class="bar"><span style="width: {100 * value:.1f}%"></span></span>'
            f'<span class="value">{float(block.value):.3f}</span></div>'
        )
    if isinstance(block, Note):
        text = "none" if block.text is None else block.text
        return (
            f'<div class="note"><span class="name">{html.escape(block.title)}</span>'
            f"<p>{html.escape(text)}</p></div>"
        )
    if isinstance(block, Columns):
        cells = "".join(
            f'<div class="column"><span class="name">{html.escape(title)}</span>'
            f"<p>{html.escape('none' if text is None else text)}</p></div>"
            for title, text in block.columns
        )
        return f'<div class="columns">{cells}</div>'
    raise TypeError(f"a view returned {type(block).__name__}, which is no view block")


_CSS_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]+|(rgb|hsl)a?\([0-9.,% ]+\)")


def _marked_html(block: MarkedText) -> str:
    from spacy import displacy

    marks = sorted(block.marks, key=lambda mark: mark.start)
    # displaCy escapes the text, but puts labels and colours into the page as they
    # are: a label is escaped here, and a colour that is not a plain CSS colour is
    # dropped (the label's default colour is used).
    colors = {
        html.escape(mark.label): mark.color
        for mark in marks
        if mark.color and _CSS_COLOR.fullmatch(mark.color)
    }
    ents = [
        {"start": mark.start, "end": mark.end, "label": html.escape(mark.label)} for mark in marks
    ]
    drawn = displacy.render(
        {"text": block.text, "ents": ents, "title": None},
        style="ent",
        manual=True,
        page=False,
        jupyter=False,
        options={"colors": colors},
    )
    title = f'<div class="title">{html.escape(block.title)}</div>' if block.title else ""
    return f'<div class="marked">{title}{drawn}</div>'


#: The page's styles; a page that holds a fragment (``page=False``) needs them.
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
.nlp-tasks .record { border: 1px solid #ddd; border-radius: 6px; padding: 1em; margin: 1em 0; }
.nlp-tasks .name { display: block; font-size: 0.8em; font-weight: bold; color: #666;
  text-transform: uppercase; letter-spacing: 0.05em; }
.nlp-tasks .task { border-top: 1px solid #eee; margin-top: 0.8em; padding-top: 0.4em; }
.nlp-tasks h3 { font-size: 0.95em; margin: 0.2em 0; color: #345; }
.nlp-tasks .title { font-style: italic; margin: 0.4em 0 0.2em; }
.nlp-tasks .score { display: flex; align-items: center; gap: 0.6em; margin: 0.2em 0; }
.nlp-tasks .score .label { min-width: 8em; }
.nlp-tasks .bar { display: inline-block; width: 12em; height: 0.8em; background: #eee;
  border-radius: 3px; overflow: hidden; }
.nlp-tasks .bar span { display: block; height: 100%; background: #4a7ebb; }
.nlp-tasks .columns { display: flex; gap: 1.5em; }
.nlp-tasks .column { flex: 1; }
.nlp-tasks p { margin: 0.2em 0; white-space: pre-wrap; }
"""


# The terminal


def _record_text(record: Mapping[str, Any], tasks: Mapping[str, "Task"]) -> list[Any]:
    from rich.text import Text

    lines: list[Any] = []
    for name, value in input_fields(record, tasks).items():
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = " | ".join(value)
        elif not isinstance(value, str):
            value = _as_json(value)
        lines.append(Text.assemble((f"{name}: ", "bold"), value))
    for name, blocks in record_blocks(record, tasks):
        lines.append(Text(name, style="bold cyan"))
        lines.extend(_block_text(block) for block in blocks)
    return lines


def _block_text(block: Block) -> Any:
    from rich.padding import Padding
    from rich.text import Text

    if isinstance(block, MarkedText):
        text = Text()
        if block.title:
            text.append(block.title + "\n", style="italic")
        position = 0
        for mark in sorted(block.marks, key=lambda mark: mark.start):
            text.append(block.text[position : mark.start])
            text.append(block.text[mark.start : mark.end], style="bold reverse")
            text.append(f" {mark.label}", style="dim")
            position = mark.end
        text.append(block.text[position:])
        shown: Any = text
    elif isinstance(block, Score):
        prefix = f"{block.title}: " if block.title else ""
        if block.value is None:
            shown = Text(f"{prefix}{block.label}: no score")
        else:
            value = min(max(float(block.value), 0.0), 1.0)
            filled = round(value * 20)
            shown = Text.assemble(
                prefix,
                (f"{block.label} ", "bold"),
                ("█" * filled, "blue"),
                ("░" * (20 - filled), "dim"),
                f" {float(block.value):.3f}",
            )
    elif isinstance(block, Note):
        shown = Text.assemble(
            (f"{block.title}: ", "italic"), "none" if block.text is None else block.text
        )
    elif isinstance(block, Columns):
        from rich.table import Table

        table = Table(box=None, show_edge=False, pad_edge=False, expand=True)
        for title, _ in block.columns:
            table.add_column(title, ratio=1, overflow="fold")
        table.add_row(*("none" if text is None else text for _, text in block.columns))
        shown = table
    else:
        raise TypeError(f"a view returned {type(block).__name__}, which is no view block")
    return Padding(shown, (0, 0, 0, 2))


def _as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
