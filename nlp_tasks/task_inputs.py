"""What a task reads from a record, and how a record becomes the doc its head reads.

A task declares its input with ``TaskInputs``: the text fields that make up its
doc (``segments``) and any other fields its head reads from the doc
(``extras``, set as ``Doc`` extensions). Sentiment reads ``text``; a
sentence-pair task reads ``text_a`` and ``text_b``; a task that answers
questions reads ``text`` plus a ``questions`` extra. The core builds every doc
from a record through these declarations (``predict``, ``process``, the
batch engines), and runs a head only on the docs its task accepts: a pair doc
gets nothing from a document head, a plain text nothing from a pair head, and
a doc without questions nothing from a head that needs them.

A doc of more than one segment holds the segments' texts one after another,
separated by a blank line, with a span per segment in
``doc.spans["segments"]`` labelled with its field name, so a head reads each
side with ``segment_spans(doc)``, and the backbone's span getter
(``nlp_tasks.segmented_spans.v1``) encodes each side on its own.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .doc_warnings import WARNINGS_FIELD
from .errors import ConfigError, Errors, FieldError, PluginError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span


#: The ``doc.spans`` key of the segment spans of a multi-segment doc.
SEGMENTS_KEY = "segments"
#: What separates the segments in the text of a multi-segment doc.
SEGMENT_SEPARATOR = "\n\n"
#: The segments of a doc made from one text, ``nlp(text)`` included.
TEXT = ("text",)
#: An output record's own fields, which no task may read or name a component after.
RECORD_FIELDS = ("line", "id", WARNINGS_FIELD)


def text_list(value: Any) -> list[str]:
    """Read a field that holds a list of strings (questions to ask, say).

    A list (or tuple) of strings is taken as it is. A string is a CSV cell:
    a JSON list if it starts with ``[``, otherwise one item. An empty or blank
    string in the list is refused: there is nothing in it for a head to read
    (a blank question), and the head would fail on it as if it had a bug.

    value (Any): The field's value.
    RETURNS (list[str]): The strings. Raises ``ValueError``, whose message
        says what the value must be.
    """
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except (json.JSONDecodeError, RecursionError):
                return [value]
        else:
            return [value] if value.strip() else []
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ValueError("a list of strings")
    if not all(item.strip() for item in value):
        raise ValueError("a list of strings none of which is empty or blank")
    return list(value)


@dataclass(frozen=True)
class ExtraField:
    """A record field a task reads besides its text, kept on the doc as ``doc._.NAME``.

    name (str): The field's name, and the name of its ``Doc`` extension.
    parse (Callable[[Any], Any]): Turns the record's value into what the head
        reads; raises ``ValueError`` whose message says what the value must be
        ("a list of strings"). ``text_list`` by default.
    """

    name: str
    parse: Callable[[Any], Any] = text_list


@dataclass(frozen=True)
class TaskInputs:
    """The fields of a record a task reads, and so the docs its head runs on.

    segments (tuple[str, ...]): The text fields that make the doc, in order:
        ``("text",)`` for a document task, ``("text_a", "text_b")`` for a
        sentence-pair task. Every one is required, and with more than one,
        none may be blank.
    extras (tuple[ExtraField, ...]): Other fields the head reads from the doc
        (``doc._.NAME``). A record may leave them out; the head then gives no
        output for that doc (it does not run on it).
    """

    segments: tuple[str, ...] = TEXT
    extras: tuple[ExtraField, ...] = ()

    def __post_init__(self) -> None:
        segments = (self.segments,) if isinstance(self.segments, str) else tuple(self.segments)
        extras = tuple(
            ExtraField(extra) if isinstance(extra, str) else extra for extra in self.extras
        )
        object.__setattr__(self, "segments", segments)
        object.__setattr__(self, "extras", extras)
        names = [*segments, *(extra.name for extra in extras)]
        problem = ""
        if not segments:
            problem = "no segments (a task reads at least one text field)"
        elif not all(isinstance(name, str) and name.isidentifier() for name in names):
            problem = f"field names that are not identifiers: {names}"
        elif len(set(names)) != len(names):
            problem = f"a field twice: {names}"
        elif set(names) & set(RECORD_FIELDS):
            taken = [name for name in names if name in RECORD_FIELDS]
            problem = f"fields named like an output record's own ({taken}): {names}"
        if problem:
            raise PluginError(Errors.E082.format(problem=problem))

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the task reads: its segments, then its extras."""
        return (*self.segments, *(extra.name for extra in self.extras))

    def accepts(self, doc: "Doc") -> bool:
        """Whether the task's head runs on a doc: the doc was made from this
        task's segments, and has every extra set.

        doc (Doc): The doc.
        RETURNS (bool): True if the head should process the doc.
        """
        if doc_segments(doc) != self.segments:
            return False
        return all(getattr(doc._, extra.name, None) is not None for extra in self.extras)

    def make_doc(self, nlp: "Language", record: "Mapping[str, Any]") -> "Doc":
        """Check a record against this declaration and make its doc.

        For a task's ``make_example``: the doc its head will see at prediction,
        built as ``predict`` and ``process`` build it. The extras are set on the
        doc (register their extensions first, or let this do it).

        nlp (Language): The pipeline, for its tokenizer.
        record (Mapping[str, Any]): The record.
        RETURNS (Doc): The doc. Raises ``FieldError`` (a ``RecordError``) naming
            the field that is missing, of the wrong type or empty.
        """
        texts = {
            name: checked_text(record, name, pair=len(self.segments) > 1) for name in self.segments
        }
        extras = {}
        for extra in self.extras:
            value = parse_extra(extra, record.get(extra.name))
            if value is not None:
                extras[extra.name] = value
        return build_doc(nlp, texts, extras)


def checked_text(record: "Mapping[str, Any]", name: str, *, pair: bool = False) -> str:
    """A text field of a record, checked: present, a string, and (in a pair) not blank.

    record (Mapping[str, Any]): The record.
    name (str): The field.
    pair (bool): The field is one of several segments, so it may not be blank.
    RETURNS (str): The text. Raises ``FieldError`` otherwise.
    """
    if name not in record:
        keys = sorted(str(key) for key in record)[:20]
        raise FieldError("E050", field=name, keys=keys, hint="")
    text = record[name]
    if isinstance(text, (bytes, bytearray, memoryview)):
        raise FieldError("E057", what=f"field {name!r}", type=type(text).__name__)
    if not isinstance(text, str):
        kind = "null" if text is None else type(text).__name__
        raise FieldError("E051", field=name, type=kind, value=_clip(text))
    if pair and not text.strip():
        raise FieldError("E080", field=name)
    return text


def parse_extra(extra: ExtraField, value: Any) -> Any:
    """An extra field's value as its head reads it; None if the record has none.

    extra (ExtraField): The declared field.
    value (Any): The record's value (None if absent).
    RETURNS (Any): The parsed value, or None. Raises ``FieldError`` (E054) if
        the value cannot be parsed.
    """
    if value is None:
        return None
    try:
        parsed = extra.parse(value)
    except (ValueError, TypeError) as error:
        raise FieldError("E054", field=extra.name, rule=str(error), value=_clip(value)) from None
    # Tokenizers encode text as UTF-8, which a lone surrogate (a bad "\udXXX"
    # escape in JSON) cannot be: refused here, not as a head's failure.
    strings = [parsed] if isinstance(parsed, str) else parsed
    if isinstance(strings, (list, tuple)) and not all(
        is_utf8_encodable(item) for item in strings if isinstance(item, str)
    ):
        rule = "valid Unicode text (it holds a lone surrogate)"
        raise FieldError("E054", field=extra.name, rule=rule, value=_clip(value))
    return parsed if parsed not in ([], "", ()) else None


def is_utf8_encodable(text: str | None) -> bool:
    """Whether a string can be encoded as UTF-8: False if it holds a lone surrogate.

    text (str | None): The string; None counts as encodable.
    RETURNS (bool): Whether ``text.encode("utf-8")`` succeeds.
    """
    try:
        (text or "").encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def build_doc(
    nlp: "Language", texts: "Mapping[str, str]", extras: "Mapping[str, Any] | None" = None
) -> "Doc":
    """The doc of checked input values: its segments' texts and its extras.

    One ``text`` segment makes a plain doc, exactly ``nlp.make_doc(text)``.
    Other segments are stripped and joined with a blank line, each marked by a
    span in ``doc.spans["segments"]``.

    nlp (Language): The pipeline, for its tokenizer.
    texts (Mapping[str, str]): Segment name to its text, in order.
    extras (Mapping[str, Any]): Extension name to value, set on the doc.
    RETURNS (Doc): The doc.
    """
    from spacy.tokens import Doc

    if tuple(texts) == TEXT:
        doc = nlp.make_doc(texts["text"])
    else:
        parts = [(name, text.strip()) for name, text in texts.items()]
        doc = nlp.make_doc(SEGMENT_SEPARATOR.join(text for _, text in parts))
        spans, start = [], 0
        for name, text in parts:
            span = doc.char_span(start, start + len(text), label=name, alignment_mode="expand")
            spans.append(span if span is not None else doc[0:0])
            start += len(text) + len(SEGMENT_SEPARATOR)
        doc.spans[SEGMENTS_KEY] = spans
    for name, value in (extras or {}).items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)
        setattr(doc._, name, value)
    return doc


def doc_segments(doc: "Doc") -> tuple[str, ...]:
    """The segments a doc was made from: ``("text",)`` for a plain doc.

    doc (Doc): The doc.
    RETURNS (tuple[str, ...]): The segment names, in order.
    """
    if SEGMENTS_KEY not in doc.spans:
        return TEXT
    return tuple(span.label_ for span in doc.spans[SEGMENTS_KEY]) or TEXT


def segment_spans(doc: "Doc") -> "dict[str, Span]":
    """Each segment of a doc as a span: ``{"text": doc[:]}`` for a plain doc.

    doc (Doc): The doc.
    RETURNS (dict[str, Span]): Segment name to its span, in order.
    """
    if SEGMENTS_KEY not in doc.spans or not len(doc.spans[SEGMENTS_KEY]):
        return {"text": doc[:]}
    return {span.label_: span for span in doc.spans[SEGMENTS_KEY]}


@dataclass
class CheckedInput:
    """A record's input, checked against the pipeline's declared inputs.

    texts (dict[str, str]): Segment name to its text, in order.
    extras (dict[str, Any]): Extra field name to its parsed value (present ones only).
    """

    texts: dict[str, str]
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def segments(self) -> tuple[str, ...]:
        """The segment names."""
        return tuple(self.texts)

    @property
    def length(self) -> int:
        """Characters in all segments."""
        return sum(len(text) for text in self.texts.values())

    def words(self) -> int:
        """Whitespace-separated words in all segments, a cheap stand-in for tokens."""
        return sum(len(text.split()) for text in self.texts.values())

    def to_json(self) -> dict[str, Any]:
        """The input as a record: the segments' texts, then the extras."""
        return {**self.texts, **self.extras}


class PipelineInputs:
    """The inputs every task of a pipeline declares, and the docs made from records.

    A record is matched to one of the declared segment sets: the one whose
    fields it has (not null). If it has the fields of several, those whose
    texts are all blank are dropped (an empty CSV cell); if several remain, the
    record is ambiguous (E081). A record that matches none is missing the
    fields of the input it comes closest to (E050).

    inputs (Iterable[TaskInputs]): What the pipeline's tasks read
        (``Task.inputs``), in pipeline order. None (a pipeline of other
        components): one ``text`` field.
    fields (Mapping[str, str]): Task field name to the record's field name,
        for records whose fields are named otherwise (``--field``).
    """

    def __init__(
        self, inputs: "Iterable[TaskInputs]" = (), fields: "Mapping[str, str] | None" = None
    ) -> None:
        self.shapes: list[tuple[str, ...]] = []
        self.extras: dict[str, ExtraField] = {}
        for declared in list(inputs) or [TaskInputs()]:
            if declared.segments not in self.shapes:
                self.shapes.append(declared.segments)
            for extra in declared.extras:
                self.extras.setdefault(extra.name, extra)
        self.fields = dict(fields or {})
        known = {name for shape in self.shapes for name in shape} | set(self.extras)
        unknown = sorted(set(self.fields) - known)
        if unknown:
            raise ConfigError(Errors.E083.format(names=unknown, known=sorted(known)))

    def source(self, name: str) -> str:
        """The record field that holds a task field.

        name (str): The task's field name.
        RETURNS (str): The record's field name.
        """
        return self.fields.get(name, name)

    def describe(self) -> str:
        """The inputs a record may give, for messages: "'text', or 'left' (text_a) +
        'right' (text_b)" (a renamed field shows the task field it stands for).

        RETURNS (str): One alternative per declared segment set.
        """

        def field(name: str) -> str:
            source = self.source(name)
            return repr(source) if source == name else f"{source!r} ({name})"

        return ", or ".join(" + ".join(map(field, shape)) for shape in self.shapes)

    @property
    def record_fields(self) -> list[str]:
        """Every record field read, segments first (for choosing CSV or Parquet columns)."""
        names = [name for shape in self.shapes for name in shape] + list(self.extras)
        return list(dict.fromkeys(self.source(name) for name in names))

    def check(self, record: "Mapping[str, Any]") -> CheckedInput:
        """Check a record and pick out its input.

        record (Mapping[str, Any]): The record (a parsed JSON object, a CSV row).
        RETURNS (CheckedInput): The texts and extras. Raises ``FieldError``.
        """
        present = [
            shape
            for shape in self.shapes
            if all(record.get(self.source(name)) is not None for name in shape)
        ]
        if len(present) > 1:
            filled = [shape for shape in present if not self._all_blank(record, shape)]
            present = filled or present[:1]
        if len(present) > 1:
            shapes = " and ".join(
                "+".join(self.source(name) for name in shape) for shape in present
            )
            raise FieldError("E081", shapes=shapes)
        # No input matches: report the one the record comes closest to.
        shape = present[0] if present else max(self.shapes, key=lambda s: self._found(record, s))
        renamed = {name: record[self.source(name)] for name in shape if self.source(name) in record}
        texts = {}
        for name in shape:
            try:
                texts[name] = checked_text(renamed, name, pair=len(shape) > 1)
            except FieldError as error:
                error.values["field"] = self.source(name)
                if "what" in error.values:
                    error.values["what"] = f"field {self.source(name)!r}"
                if error.code == "E050":
                    error.values["keys"] = sorted(str(key) for key in record)[:20]
                    error.values["hint"] = (
                        f" If another field holds it, name that one: --field {name}=FIELD"
                        f" (fields={{{name!r}: FIELD}} in Python)."
                    )
                    if not present and len(self.shapes) > 1:
                        error.values["hint"] = (
                            f" The pipeline's tasks read {self.describe()}." + error.values["hint"]
                        )
                raise
        extras = {}
        for name, extra in self.extras.items():
            try:
                value = parse_extra(extra, record.get(self.source(name)))
            except FieldError as error:
                error.values["field"] = self.source(name)
                raise
            if value is not None:
                extras[name] = value
        return CheckedInput(texts=texts, extras=extras)

    def _found(self, record: "Mapping[str, Any]", shape: tuple[str, ...]) -> int:
        return sum(record.get(self.source(name)) is not None for name in shape)

    def _all_blank(self, record: "Mapping[str, Any]", shape: tuple[str, ...]) -> bool:
        values = [record.get(self.source(name)) for name in shape]
        return all(isinstance(value, str) and not value.strip() for value in values)

    def make_doc(self, nlp: "Language", checked: CheckedInput) -> "Doc":
        """The doc of a checked record.

        nlp (Language): The pipeline.
        checked (CheckedInput): From ``check``.
        RETURNS (Doc): The doc.
        """
        return build_doc(nlp, checked.texts, checked.extras)


def _clip(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
