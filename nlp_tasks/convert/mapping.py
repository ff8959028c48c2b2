"""Which columns of a table become which fields of a record: ``--map``, ``--label-map``,
``--keep`` and ``--number``, shared by the ``columns`` and ``hf`` converters."""

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConvertError, DataError, Errors
from .converter import Option

#: The options of a column mapping, for a converter's ``options``.
MAPPING_OPTIONS = (
    Option(
        "map",
        "TASK_FIELD=COLUMN: write the column COLUMN as the record's field TASK_FIELD "
        "(e.g. text=sentence). Without any, every column is written under its own name.",
        kind="list",
        metavar="TASK_FIELD=COLUMN",
    ),
    Option(
        "label-map",
        "VALUE=LABEL: write LABEL where the label field holds VALUE (e.g. 1=positive "
        "0=negative). A value with no LABEL is an error.",
        kind="list",
        metavar="VALUE=LABEL",
    ),
    Option(
        "label-field",
        "The record field --label-map applies to.",
        default="label",
        metavar="FIELD",
    ),
    Option(
        "keep",
        "COLUMN: also write this column, under its own name (repeatable).",
        kind="list",
        metavar="COLUMN",
    ),
    Option(
        "number",
        "TASK_FIELD: write this field as a number, not a string (e.g. score; repeatable).",
        kind="list",
        metavar="TASK_FIELD",
    ),
)


def split_pair(text: str, option: str, form: str, example: str) -> tuple[str, str]:
    """Split ``KEY=VALUE`` at its first ``=``, with a coded error for anything else.

    text (str): What was given.
    option (str): The option, for the message (``"--map"``).
    form (str): The expected form, for the message (``"TASK_FIELD=COLUMN"``).
    example (str): An example, for the message (``"text=sentence"``).
    RETURNS (tuple[str, str]): The key and the value, both non-empty.
    """
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise ConvertError(
            Errors.E102.format(option=option, form=form, example=example, value=text)
        )
    return key, value


@dataclass
class ColumnMapping:
    """How the columns of a row become a record.

    fields (dict[str, str]): Record field to column; empty writes every column
        under its own name.
    labels (dict[str, str]): Value (as text) to label, for ``label_field``.
    label_field (str): The record field the labels apply to.
    keep (list[str]): Columns also written under their own names.
    numbers (list[str]): Record fields written as numbers.
    class_names (dict[str, list[str]]): Column to the names of its class ids (a
        Hugging Face ``ClassLabel``), applied when set.
    """

    fields: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    label_field: str = "label"
    keep: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    class_names: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], converter: str) -> "ColumnMapping":
        """The mapping the options ask for.

        options (Mapping[str, Any]): The parsed options of ``MAPPING_OPTIONS``.
        converter (str): The converter's name, for messages.
        RETURNS (ColumnMapping): The mapping.
        """
        fields: dict[str, str] = {}
        for text in options.get("map") or ():
            name, column = split_pair(text, "--map", "TASK_FIELD=COLUMN", "text=sentence")
            if name in fields:
                raise ConvertError(
                    Errors.E101.format(
                        converter=converter,
                        option="map",
                        problem=f"maps the field {name!r} twice ({fields[name]!r} first)",
                        value=text,
                    )
                )
            fields[name] = column
        labels = dict(
            split_pair(text, "--label-map", "VALUE=LABEL", "1=positive")
            for text in options.get("label_map") or ()
        )
        mapping = cls(
            fields=fields,
            labels=labels,
            label_field=options.get("label_field") or "label",
            keep=list(options.get("keep") or ()),
            numbers=list(options.get("number") or ()),
        )
        mapping._check_fields(converter)
        return mapping

    def _check_fields(self, converter: str) -> None:
        if not self.fields:
            return
        written = set(self.fields) | set(self.keep)
        checks = [("number", name) for name in self.numbers]
        if self.labels:
            checks.insert(0, ("label-field", self.label_field))
        for option, name in checks:
            if name not in written:
                problem = (
                    f"names the field {name!r}, which the record does not get: its fields are "
                    f"{sorted(written)}. Map it with --map {name}=COLUMN"
                )
                raise ConvertError(
                    Errors.E101.format(
                        converter=converter, option=option, problem=problem, value=name
                    )
                )

    def columns(self, available: Sequence[str]) -> list[str]:
        """The columns the mapping reads, from the columns a table has.

        available (Sequence[str]): The table's columns, in order.
        RETURNS (list[str]): The columns read, each once.
        """
        wanted = list(self.fields.values()) + self.keep if self.fields else list(available)
        return list(dict.fromkeys(wanted))

    def check_columns(self, path: str, available: Sequence[str], described: str = "") -> None:
        """Refuse a mapping that names a column the table does not have.

        path (str): The input, for the message.
        available (Sequence[str]): The table's columns.
        described (str): How the columns were found, if that needs saying.
        """
        options = [(f"--map {f}={c}", c) for f, c in self.fields.items()]
        options += [(f"--keep {c}", c) for c in self.keep]
        for option, column in options:
            if column not in available:
                columns = ", ".join(repr(c) for c in available) or "none"
                raise ConvertError(
                    Errors.E106.format(
                        path=path, column=column, option=option, columns=columns + described
                    )
                )
        self._check_unique(path, available, {c: o for o, c in reversed(options)})

    def _check_unique(self, path: str, available: Sequence[str], named: dict[str, str]) -> None:
        # A row becomes a dict by column name: of two columns of one name, all but the
        # last would be dropped without a word.
        counts = Counter(available)
        for column in self.columns(available):
            if counts[column] < 2:
                continue
            if self.fields:
                problem = f"{named[column]} cannot tell which of them to read"
                hint = ", or leave them out of --map and --keep"
            else:
                problem = "written under their own names, all but the last would be lost"
                hint = ", or --map only the columns you need"
            raise DataError(
                Errors.E162.format(
                    path=path, count=counts[column], column=column, problem=problem, hint=hint
                )
            )

    def apply(self, row: Mapping[str, Any], where: str) -> dict[str, Any]:
        """The record of one row.

        row (Mapping[str, Any]): Column to value.
        where (str): The row's place (``file:line``), for messages.
        RETURNS (dict[str, Any]): The record.
        """
        pairs = list(self.fields.items()) if self.fields else [(c, c) for c in row]
        record: dict[str, Any] = {}
        for name, column in pairs:
            record[name] = self._value(row, column, where, f"--map {name}={column}")
            if column in self.class_names:
                record[name] = _class_name(record[name], self.class_names[column], column, where)
        for column in self.keep:
            if column not in record:
                record[column] = _json_value(row.get(column), column, where, f"--keep {column}")
        for name in self.numbers:
            if name in record:
                record[name] = _number(record[name], name, where)
        if self.labels and self.label_field in record:
            record[self.label_field] = self._label(record[self.label_field], where)
        return record

    def _value(self, row: Mapping[str, Any], column: str, where: str, option: str) -> Any:
        if column not in row:
            problem = f"is missing (the row's columns: {', '.join(map(repr, row)) or 'none'})"
            raise DataError(
                Errors.E107.format(where=where, column=column, option=option, problem=problem)
            )
        value = row[column]
        if value is None and self.fields:
            raise DataError(
                Errors.E107.format(where=where, column=column, option=option, problem="is null")
            )
        return _json_value(value, column, where, option)

    def _label(self, value: Any, where: str) -> Any:
        key = _label_key(value)
        if key not in self.labels:
            known = ", ".join(f"{k}={v}" for k, v in self.labels.items())
            raise DataError(
                Errors.E108.format(where=where, value=key, field=self.label_field, known=known)
            )
        return self.labels[key]


def _label_key(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _json_value(value: Any, column: str, where: str, option: str) -> Any:
    # A float column's NaN or infinity (pandas' missing value) would be written as a
    # bare NaN, which is not JSON: most readers other than Python's refuse the file.
    if isinstance(value, float) and not math.isfinite(value):
        problem = f"is {value}, which JSON has no value for"
        raise DataError(
            Errors.E107.format(where=where, column=column, option=option, problem=problem)
        )
    return value


def _number(value: Any, name: str, where: str) -> Any:
    # A NaN or infinite float never gets here: _json_value refused it when it was read.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    parsers: tuple[Callable[[str], Any], ...] = (int, float)
    for parse in parsers:
        try:
            number = parse(text)
        except ValueError:
            continue
        if isinstance(number, float) and not math.isfinite(number):
            break
        return number
    raise DataError(
        Errors.E107.format(
            where=where,
            column=name,
            option=f"--number {name}",
            problem=f"is not a number: {value!r}",
        )
    )


def _class_name(value: Any, names: list[str], column: str, where: str) -> Any:
    if isinstance(value, list):
        return [_class_name(v, names, column, where) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    problem = f"holds {value!r}, which is no class id of {names} (--label-names)"
    raise DataError(
        Errors.E107.format(where=where, column=column, option="--label-names", problem=problem)
    )
