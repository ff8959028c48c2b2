"""What a converter is: its name, the task its records are for, its options.

A plugin describes each converter it contributes with a ``Converter`` and registers
it through the ``register_converters`` hook. The command line builds its options
from these descriptions, so a third-party converter gets ``--its-option`` and a
listing in ``nlp-tasks convert --list`` like the built-in ones.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConvertError, Errors
from .lines import parse_encoding

#: The kinds of option: one value, a repeatable value (a list), or a flag (a bool).
OPTION_KINDS = ("value", "list", "flag")


@dataclass(frozen=True)
class Option:
    """One option of a converter, given as ``--NAME VALUE`` (or ``-O NAME=VALUE``).

    name (str): The option's name, lowercase with dashes (``"tag-column"``); the
        converter receives it with underscores (``options["tag_column"]``).
    help (str): One line for ``nlp-tasks convert --list``.
    kind (str): "value" (one value), "list" (repeatable; the converter gets a
        list) or "flag" (no value; the converter gets True or False).
    default (Any): The value when the option is not given (a "list" gets a new
        empty list, a "flag" False, whatever this says).
    choices (tuple[str, ...]): The values allowed, if only some are.
    parse (Callable[[str], Any] | None): Turns the text given on the command line
        into the value (``int``, say); a ``ValueError`` it raises is reported.
    metavar (str): How ``--list`` shows the value.

    An option named ``encoding`` is taken to be the inputs' text encoding, for
    ``read_lines``: without a ``parse`` of its own it gets ``parse_encoding``, so
    an encoding Python does not know, or one whose lines cannot be read one at a
    time (UTF-16), is refused when the options are parsed, before any input is read.
    """

    name: str
    help: str
    kind: str = "value"
    default: Any = None
    choices: tuple[str, ...] = ()
    parse: Callable[[str], Any] | None = None
    metavar: str = "VALUE"

    def __post_init__(self) -> None:
        # Plugins' converters get the check without naming it (the dataclass is frozen).
        if self.name == "encoding" and self.parse is None:
            object.__setattr__(self, "parse", parse_encoding)

    @property
    def key(self) -> str:
        """The name the converter receives it under (dashes become underscores)."""
        return self.name.replace("-", "_")

    def usage(self) -> str:
        """How the option is written, e.g. ``--scheme iob1|iob2|biluo``.

        RETURNS (str): The usage text.
        """
        if self.kind == "flag":
            return f"--{self.name}"
        value = "|".join(self.choices) if self.choices else self.metavar
        return f"--{self.name} {value}" + (" (repeatable)" if self.kind == "list" else "")


@dataclass(frozen=True)
class Converter:
    """A converter from a format people have into one task's JSONL records.

    name (str): What ``nlp-tasks convert NAME`` calls it (``"conll"``).
    task (str | None): The task whose record format it writes (``"ner"``); None
        for a generic converter whose records take the fields it is told to write.
    description (str): One line: what it reads and what it writes.
    convert (Callable): ``convert(inputs, options, report)``: ``inputs`` is the list
        of input paths (``str``), ``options`` the parsed options by key, ``report``
        a ``Report`` for skipped items; returns an iterator of JSON-serializable
        records. It streams when it can, and raises a coded ``DataError`` that
        names the file and line for bad input.
    options (tuple[Option, ...]): The options it takes.
    inputs (str): How its inputs are shown in usage and messages
        (``"FILE..."``, ``"SOURCE_FILE TARGET_FILE"``).
    min_inputs (int): The fewest inputs it takes.
    max_inputs (int | None): The most inputs it takes; None for no limit.
    local_inputs (bool): Whether every input must be an existing file or folder
        (False for a converter that also takes names, such as a Hub dataset).
    """

    name: str
    task: str | None
    description: str
    convert: Callable[..., Iterable[dict[str, Any]]]
    options: tuple[Option, ...] = ()
    inputs: str = "FILE..."
    min_inputs: int = 1
    max_inputs: int | None = None
    local_inputs: bool = True

    def option(self, name: str) -> Option:
        """The option of this name (dashes or underscores), or a coded error.

        name (str): The option's name, e.g. "tag-column" or "tag_column".
        RETURNS (Option): The option.
        """
        wanted = name.replace("_", "-")
        for option in self.options:
            if option.name == wanted:
                return option
        raise ConvertError(
            Errors.E100.format(converter=self.name, option=name, options=self.option_names())
        )

    def option_names(self) -> str:
        """The options, as ``--list`` names them, for messages.

        RETURNS (str): E.g. "--scheme, --token-column", or "none".
        """
        return ", ".join(f"--{o.name}" for o in self.options) or "none"

    def parse_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Check the options given and fill in the defaults of the others.

        given (Mapping[str, Any]): Option name (dashes or underscores) to value: a
            string (or list of strings) from the command line, or a value already
            of the right type from Python.
        RETURNS (dict[str, Any]): Every option's value, by key.
        """
        values = {o.key: _default(o) for o in self.options}
        for name, value in given.items():
            option = self.option(name)
            values[option.key] = self._parse(option, value)
        return values

    def _parse(self, option: Option, value: Any) -> Any:
        if option.kind == "flag":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("", "1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise self._bad(option, value, "is a flag: give it alone, or true/false")
        if option.kind == "list":
            items = [value] if isinstance(value, str) or not isinstance(value, Sequence) else value
            return [self._one(option, item) for item in items]
        return self._one(option, value)

    def _one(self, option: Option, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if option.choices and value not in option.choices:
            raise self._bad(option, value, f"must be one of {', '.join(option.choices)}")
        if option.parse is None:
            return value
        try:
            return option.parse(value)
        except ValueError as error:
            # Python's own words for int("abc") name neither the option nor what it takes.
            plain = {int: "must be a whole number", float: "must be a number"}
            problem = plain.get(option.parse) or str(error) or "cannot be parsed"
            raise self._bad(option, value, problem) from None

    def _bad(self, option: Option, value: Any, problem: str) -> ConvertError:
        return ConvertError(
            Errors.E101.format(
                converter=self.name, option=option.name, problem=problem, value=value
            )
        )


def _default(option: Option) -> Any:
    if option.kind == "list":
        return list(option.default or ())
    if option.kind == "flag":
        return bool(option.default)
    return option.default


@dataclass
class Report:
    """What a conversion left out, and why; the command prints it at the end.

    skipped (Counter[str]): How many items were skipped, by reason
        (``"unanswerable questions"``).
    """

    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str, count: int = 1) -> None:
        """Count items left out of the output on purpose (an option asked for it).

        reason (str): What was left out, in the plural ("empty lines").
        count (int): How many.
        """
        self.skipped[reason] += count

    def describe(self) -> str:
        """The skipped counts as a phrase, e.g. "12 unanswerable questions".

        RETURNS (str): The phrase, or "" when nothing was skipped.
        """
        return ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
