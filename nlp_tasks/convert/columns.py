"""The ``columns`` converter: rows of a CSV, TSV, JSONL or Parquet table to records.

It names no task: ``--map TASK_FIELD=COLUMN`` says which column becomes which field
of the record, so one converter covers GLUE-style TSV files, review datasets,
sentence pairs with a score and article/summary pairs.
"""

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConvertError, DataError, Errors
from .converter import Converter, Option, Report
from .lines import read_lines, where
from .mapping import MAPPING_OPTIONS, ColumnMapping

FORMATS = ("csv", "tsv", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_SUFFIXES.update({".parquet": "parquet", ".pq": "parquet"})
#: Rows read from Parquet at a time.
BATCH_ROWS = 1024


def convert_columns(
    inputs: list[str], options: Mapping[str, Any], report: Report
) -> Iterator[dict[str, Any]]:
    """Stream the records of tables, one a row, through a column mapping.

    inputs (list[str]): CSV, TSV, JSONL or Parquet files (``.gz`` after the text
        formats), converted one after the other.
    options (Mapping[str, Any]): The parsed options of ``COLUMNS``.
    report (Report): Not used: every row becomes a record.
    YIELDS (dict[str, Any]): One record per row.
    """
    mapping = ColumnMapping.from_options(options, "columns")
    for path in inputs:
        input_format = detect_format(path, options.get("input_format"))
        if input_format == "parquet":
            yield from parquet_records(path, mapping)
        elif input_format == "jsonl":
            yield from _jsonl_records(path, mapping, options.get("encoding") or "utf-8")
        else:
            yield from _csv_records(path, mapping, input_format, options)


def detect_format(path: str, given: str | None = None) -> str:
    """The format of a table: the one given, or the one its name ends in.

    path (str): The file.
    given (str | None): The format asked for (``--input-format``), if any.
    RETURNS (str): One of ``FORMATS``.
    """
    if given:
        return given
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    found = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if found is None:
        raise ConvertError(
            Errors.E119.format(
                path=path, formats="|".join(FORMATS), suffixes=", ".join(sorted(_SUFFIXES))
            )
        )
    return found


def _csv_records(
    path: str, mapping: ColumnMapping, input_format: str, options: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    delimiter = "\t" if input_format == "tsv" else ","
    quoting = options.get("quoting") or ("none" if input_format == "tsv" else "csv")
    # Long documents (an article to summarize) pass the csv module's default limit.
    if csv.field_size_limit() < (1 << 31) - 1:
        csv.field_size_limit((1 << 31) - 1)
    lines = (
        text + "\n" for _, text in read_lines(path, encoding=options.get("encoding") or "utf-8")
    )
    if quoting == "none":
        reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE)
    else:
        # strict: a quote that never closes, or closes before more text, is an error;
        # the lenient reader took every row after it into one field, silently.
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows = 0
    end = 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:
                continue
            if header is None and not options.get("no_header"):
                header = row
                mapping.check_columns(path, header)
                continue
            if header is None:
                header = [str(i) for i in range(len(row))]
                mapping.check_columns(path, header, " (--no-header numbers them from 0)")
            if len(row) != len(header):
                raise DataError(
                    Errors.E109.format(
                        where=where(path, start),
                        count=len(row),
                        expected=len(header),
                        hint=_field_count_hint(quoting, delimiter),
                    )
                )
            rows += 1
            yield mapping.apply(dict(zip(header, row)), where(path, start))
    except csv.Error as error:
        reason = str(error)
        if quoting != "none":
            reason += (
                "; a quoted field of the row that starts there never closes, or closes "
                "before more text: quote the whole field and double each quote inside it "
                '(""), or give --quoting none if quotes are ordinary characters here'
            )
        raise DataError(
            Errors.E104.format(where=where(path, end + 1), what="the row", error=reason)
        ) from None
    if not rows:
        raise DataError(Errors.E105.format(path=path, what="rows" if header else "lines"))


def _field_count_hint(quoting: str, delimiter: str) -> str:
    if quoting == "none":
        return "Is a field quoted, holding the delimiter? Then give --quoting csv."
    name = "tab" if delimiter == "\t" else "comma"
    return (
        f"Is a {name} inside a field, or a stray quote? Quote such fields, or give "
        "--quoting none if quotes are ordinary characters in this file."
    )


def _jsonl_records(path: str, mapping: ColumnMapping, encoding: str) -> Iterator[dict[str, Any]]:
    rows = 0
    for number, text in read_lines(path, encoding=encoding):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise DataError(
                Errors.E104.format(where=where(path, number), what="the line as JSON", error=error)
            ) from None
        if not isinstance(row, dict):
            problem = f"expected a JSON object, got {type(row).__name__}"
            raise DataError(
                Errors.E104.format(where=where(path, number), what="the record", error=problem)
            )
        if not rows:
            mapping.check_columns(path, list(row), " (the fields of its first record)")
        rows += 1
        yield mapping.apply(row, where(path, number))
    if not rows:
        raise DataError(Errors.E105.format(path=path, what="records"))


def parquet_records(
    path: str, mapping: ColumnMapping, class_names: bool = False
) -> Iterator[dict[str, Any]]:
    """Stream the records of a Parquet file, a batch of rows at a time.

    path (str): The file.
    mapping (ColumnMapping): Which columns become which fields.
    class_names (bool): Write the names of a Hugging Face ``ClassLabel`` column's
        ids (from the schema's metadata) instead of the ids.
    YIELDS (dict[str, Any]): One record per row.
    """
    parquet = import_pyarrow("Reading Parquet", "parquet")
    try:
        table = parquet.ParquetFile(path)
        schema = table.schema_arrow
    except (OSError, ValueError) as error:
        raise DataError(Errors.E063.format(path=path, error=error)) from None
    mapping.check_columns(path, schema.names)
    check_json_types(path, schema, mapping)
    if class_names:
        from .hf import schema_class_names

        mapping.class_names = schema_class_names(schema)
    rows = 0
    for batch in _parquet_batches(table, path, mapping.columns(schema.names)):
        for row in batch:
            rows += 1
            yield mapping.apply(row, f"{path}, row {rows}")
    if not rows:
        raise DataError(Errors.E105.format(path=path, what="rows"))


def _parquet_batches(table: Any, path: str, columns: list[str]) -> Iterator[list[dict[str, Any]]]:
    # Only pyarrow's errors mean a damaged file: a bad row's DataError, raised by
    # the mapping outside this, must reach the user as it is, not as E063.
    batches = table.iter_batches(batch_size=BATCH_ROWS, columns=columns)
    while True:
        try:
            batch = next(batches, None)
            rows = None if batch is None else batch.to_pylist()
        except (OSError, ValueError) as error:
            raise DataError(Errors.E063.format(path=path, error=error)) from None
        if rows is None:
            return
        yield rows


def check_json_types(path: str, schema: Any, mapping: ColumnMapping) -> None:
    """Refuse a column the mapping reads whose values JSON cannot hold.

    Checked once, from the schema, so that a binary, date or decimal column is
    named with its type before any record is made, not reported as a bad record.

    path (str): The input, for the message.
    schema (pyarrow.Schema): The table's schema.
    mapping (ColumnMapping): Which columns are read.
    """
    for column in mapping.columns(schema.names):
        found = _non_json_type(schema.field(column).type)
        if found is not None:
            if mapping.fields:
                hint = ", or leave it out of --map and --keep"
            else:
                hint = ", or --map only the columns you need"
            raise DataError(Errors.E163.format(path=path, column=column, type=found, hint=hint))


def _non_json_type(arrow_type: Any) -> Any:
    # The values of these types come out of pyarrow as bytes, dates, times and
    # Decimals; the nested types are checked through.
    import pyarrow.types as types

    checks = (types.is_binary, types.is_large_binary, types.is_fixed_size_binary)
    checks += (types.is_temporal, types.is_decimal)
    if any(check(arrow_type) for check in checks):
        return arrow_type
    if types.is_struct(arrow_type):
        inner = [arrow_type.field(i).type for i in range(arrow_type.num_fields)]
    elif types.is_map(arrow_type):
        inner = [arrow_type.key_type, arrow_type.item_type]
    elif types.is_dictionary(arrow_type):
        inner = [arrow_type.value_type]
    elif hasattr(arrow_type, "value_type"):
        inner = [arrow_type.value_type]  # the list types
    else:
        inner = []
    for item in inner:
        found = _non_json_type(item)
        if found is not None:
            return found
    return None


def import_pyarrow(what: str, module: str = "") -> Any:
    """Import pyarrow (or one of its modules), with a coded hint when it is missing.

    what (str): What needs it, for the message ("Reading Parquet").
    module (str): The submodule wanted ("parquet", "ipc"), or "" for pyarrow itself.
    RETURNS (Any): The module.
    """
    import importlib

    try:
        return importlib.import_module(f"pyarrow.{module}" if module else "pyarrow")
    except ImportError:
        raise ConvertError(Errors.E110.format(what=what)) from None


COLUMNS = Converter(
    name="columns",
    task=None,
    description=(
        "CSV, TSV, JSONL or Parquet tables to records, one a row: --map TASK_FIELD=COLUMN "
        "names the fields (GLUE TSV, reviews, sentence pairs, article/summary pairs)."
    ),
    convert=convert_columns,
    options=(
        *MAPPING_OPTIONS,
        Option(
            "input-format",
            "The tables' format, when their names do not end in .csv, .tsv, .jsonl or "
            ".parquet (.gz may follow the text formats).",
            choices=FORMATS,
        ),
        Option(
            "quoting",
            'csv: a field may be quoted ("a, b"); none: quotes are ordinary characters, as in '
            "GLUE's TSV files. Default: csv for CSV, none for TSV.",
            choices=("csv", "none"),
        ),
        Option("no-header", "The first row is data: columns are named 0, 1, 2...", kind="flag"),
        Option("encoding", "The text encoding of CSV, TSV and JSONL files.", default="utf-8"),
    ),
)
