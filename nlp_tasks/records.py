"""Input records for batch processing: JSONL, plain text, CSV and Parquet; gzip accepted.

Readers stream: one record at a time, never the whole file. A bad record does not
stop the stream; it comes out as an ``InputRecord`` whose ``error`` says what is
wrong (with its code, file and line), so the caller can write it to an errors file
and go on. Only a problem with the whole input (an unknown format, a CSV or
Parquet file without the text column) raises ``InputError``.
"""

import csv
import gzip
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import Errors

#: The input formats ``read_records`` understands.
FORMATS = ("jsonl", "txt", "csv", "parquet")

_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "txt",
    ".text": "txt",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_GZIP_MAGIC = b"\x1f\x8b"
#: Most characters a document may have unless told otherwise. Memory and time grow
#: with a document's length (every strided window is in one forward pass), so a
#: stray multi-megabyte "document" goes to the errors file instead of stalling a run.
DEFAULT_MAX_CHARS = 100_000


class InputError(ValueError):
    """An input that cannot be read at all (as opposed to one bad record in it)."""


@dataclass
class InputRecord:
    """One record of the input, good or bad.

    line (int): 1-based line of the record in the input (its first line, for a CSV
        record spanning several); the row number for Parquet and for records given
        from Python.
    text (str | None): The text to process; None for a bad or skipped record.
    id (Any): The record's id, if it has one.
    has_id (bool): Whether the record has an id field (its value may be null).
    questions (list[str] | None): Questions to ask of the text, if the record has any.
    error (str | None): What is wrong with the record (a coded message), if anything.
    code (str | None): The error's code, e.g. "E042".
    skipped (bool): A blank line: not a record, counted as skipped.
    """

    line: int
    text: str | None = None
    id: Any = None
    has_id: bool = False
    questions: list[str] | None = None
    error: str | None = None
    code: str | None = None
    skipped: bool = False

    @property
    def ok(self) -> bool:
        """Whether the record is good and should be processed."""
        return self.error is None and not self.skipped


@dataclass(frozen=True)
class RecordFields:
    """Which fields of a record to read, and the longest text to accept.

    text (str): The field (or column) holding the text.
    id (str): The field holding the record's id, copied to the output when present.
    questions (str): The field holding questions to ask of the text.
    max_chars (int): Longest text in characters; a longer one is a bad record. 0: no limit.
    """

    text: str = "text"
    id: str = "id"
    questions: str = "questions"
    max_chars: int = DEFAULT_MAX_CHARS


def detect_format(path: str | Path, input_format: str | None = None) -> str:
    """The format of an input file, from ``input_format`` or the file's name.

    A ``.gz`` ending is ignored (gzip is detected from the content).

    path (str | Path): The input file.
    input_format (str | None): One of ``FORMATS``, to override the name.
    RETURNS (str): One of ``FORMATS``.
    """
    if input_format:
        if input_format not in FORMATS:
            raise InputError(
                Errors.E048.format(role="input", path=path, formats=", ".join(FORMATS))
            )
        return input_format
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    found = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if found is None:
        raise InputError(Errors.E048.format(role="input", path=path, formats=", ".join(FORMATS)))
    return found


def read_records(
    path: str | Path,
    *,
    input_format: str | None = None,
    fields: RecordFields = RecordFields(),
    start_after: int = 0,
) -> Iterator[InputRecord]:
    """Stream the records of an input file, bad ones included.

    path (str | Path): A JSONL, plain text (one document per line), CSV/TSV or
        Parquet file; JSONL, text and CSV may be gzipped.
    input_format (str | None): One of ``FORMATS``; None: from the file name.
    fields (RecordFields): Which fields to read, and the longest text.
    start_after (int): Skip records on lines (rows) up to and including this one,
        without parsing them; resuming a run uses it.
    YIELDS (InputRecord): Every record in input order, with its line number.
    """
    fmt = detect_format(path, input_format)
    if not Path(path).is_file():
        raise InputError(Errors.E049.format(path=path))
    if fmt == "parquet":
        yield from _read_parquet(Path(path), fields, start_after)
    elif fmt == "csv":
        yield from _read_csv(Path(path), fields, start_after)
    else:
        yield from _read_lines(Path(path), fmt, fields, start_after)


def check_input(path: str | Path, input_format: str | None = None, *, field: str = "text") -> str:
    """Check that an input can be read before a run creates any output.

    path (str | Path): The input file.
    input_format (str | None): One of ``FORMATS``; None: from the file name.
    field (str): The text field: a CSV or Parquet file must have this column.
    RETURNS (str): The input's format.
    """
    fmt = detect_format(path, input_format)
    path = Path(path)
    if not path.is_file():
        raise InputError(Errors.E049.format(path=path))
    columns: list[str] | None = None
    if fmt == "parquet":
        columns = list(_parquet_file(path).schema_arrow.names)
    elif fmt == "csv":
        with _open_binary(path) as raw:
            text_file = io.TextIOWrapper(raw, encoding="utf8", errors="surrogateescape", newline="")
            columns = next(csv.reader(text_file, delimiter=_delimiter(path)), None)
    if columns is not None and field not in columns:
        raise InputError(Errors.E050.format(path=path, field=field, columns=columns[:30]))
    return fmt


def records_from_python(
    records: Iterable[str | Mapping[str, Any]],
    *,
    fields: RecordFields = RecordFields(),
    source: str = "<records>",
) -> Iterator[InputRecord]:
    """Check records given from Python: texts, or dicts with a text field.

    records (Iterable[str | Mapping]): Texts, or mappings such as parsed JSON objects.
    fields (RecordFields): Which fields to read, and the longest text.
    source (str): Names the input in error messages.
    YIELDS (InputRecord): One per record, numbered from 1.
    """
    for number, record in enumerate(records, start=1):
        if isinstance(record, str):
            record = {fields.text: record}
        if not isinstance(record, Mapping):
            yield _bad(number, "E041", path=source, field=fields.text, type=_type_name(record))
            continue
        yield check_record(record, number, fields=fields, source=source)


def check_record(
    data: Mapping[str, Any], line: int, *, fields: RecordFields, source: str
) -> InputRecord:
    """Validate one parsed record and pick out its text, id and questions.

    data (Mapping[str, Any]): The parsed record.
    line (int): Its line or row number, for messages.
    fields (RecordFields): Which fields to read, and the longest text.
    source (str): Names the input in messages.
    RETURNS (InputRecord): A good record, or a bad one with its error.
    """
    record = _check(data, line, fields, source)
    if fields.id in data:
        record.id, record.has_id = data[fields.id], True
    return record


def _check(data: Mapping[str, Any], line: int, fields: RecordFields, source: str) -> InputRecord:
    if fields.text not in data:
        keys = sorted(str(key) for key in data)[:20]
        return _bad(line, "E042", path=source, field=fields.text, keys=keys)
    text = data[fields.text]
    if not isinstance(text, str):
        return _bad(
            line, "E043", path=source, field=fields.text, type=_type_name(text), value=_clip(text)
        )
    if fields.max_chars and len(text) > fields.max_chars:
        return _too_long(line, source, len(text), fields.max_chars)
    if not _encodes(text):
        # A lone surrogate: a stray byte in CSV input, or a bad "\udXXX" escape in JSON.
        return _bad(line, "E045", path=source, error="a lone surrogate or a byte that is not UTF-8")
    questions = data.get(fields.questions)
    if isinstance(questions, str):
        questions = _parse_questions(questions)
    if questions is not None and (
        not isinstance(questions, (list, tuple)) or not all(isinstance(q, str) for q in questions)
    ):
        return _bad(
            line, "E046", path=source, field=fields.questions, value=_clip(data[fields.questions])
        )
    return InputRecord(
        line=line, text=text, questions=list(questions) if questions is not None else None
    )


def count_records(path: str | Path, input_format: str | None = None) -> int | None:
    """How many records (lines, or rows) an input has, when that is cheap to know.

    Uncompressed line formats are counted by scanning for newlines; Parquet
    files say in their metadata; for gzipped and CSV input the answer is None.

    path (str | Path): The input file.
    input_format (str | None): One of ``FORMATS``; None: from the file name.
    RETURNS (int | None): The number of lines or rows, or None if unknown.
    """
    fmt = detect_format(path, input_format)
    path = Path(path)
    if fmt == "parquet":
        return _parquet_file(path).metadata.num_rows
    if fmt == "csv" or _is_gzip(path):
        return None
    count, last = 0, b"\n"
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _bad(line: int, code: str, **values: Any) -> InputRecord:
    message = getattr(Errors, code).format(line=line, **values)
    return InputRecord(line=line, error=message, code=code)


def _too_long(line: int, source: str, length: int, limit: int) -> InputRecord:
    return _bad(line, "E044", path=source, length=f"{length} characters", limit=f"{limit}")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _clip(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_questions(value: str) -> Any:
    # A CSV cell holds a JSON list, or one question as plain text.
    if value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return [value] if value.strip() else None


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(2) == _GZIP_MAGIC


def _open_binary(path: Path) -> IO[bytes]:
    if _is_gzip(path):
        return gzip.open(path, "rb")
    return path.open("rb")


def _long_lines(file: IO[bytes], limit: int) -> Iterator[tuple[bytes | None, int]]:
    """Lines of a binary file; a line longer than ``limit`` bytes is read but not kept."""
    while True:
        line = file.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line, len(line)
            continue
        size = len(line)
        while line and not line.endswith(b"\n"):
            line = file.readline(1 << 20)
            size += len(line)
        yield None, size


def _line_limit(fields: RecordFields) -> int:
    # A UTF-8 character takes at most 4 bytes; JSON escapes and the other fields
    # need room too. Lines past this are bad records whatever they hold.
    if not fields.max_chars:
        return 1 << 62
    return 6 * fields.max_chars + (1 << 20)


def _read_lines(
    path: Path, fmt: str, fields: RecordFields, start_after: int
) -> Iterator[InputRecord]:
    source = str(path)
    limit = _line_limit(fields)
    with _open_binary(path) as file:
        for line_no, (raw, size) in enumerate(_long_lines(file, limit), start=1):
            if line_no <= start_after:
                continue
            if raw is None:
                yield _bad(
                    line_no, "E044", path=source, length=f"{size} bytes", limit=f"{limit} bytes"
                )
                continue
            try:
                line = raw.decode("utf8")
            except UnicodeDecodeError as error:
                yield _bad(line_no, "E045", path=source, error=error)
                continue
            if not line.strip():
                yield InputRecord(line=line_no, skipped=True)
                continue
            if fmt == "txt":
                text = line.rstrip("\r\n")
                if fields.max_chars and len(text) > fields.max_chars:
                    yield _too_long(line_no, source, len(text), fields.max_chars)
                else:
                    yield InputRecord(line=line_no, text=text)
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                yield _bad(line_no, "E040", path=source, error=f"invalid JSON: {error}")
                continue
            if not isinstance(data, dict):
                yield _bad(line_no, "E041", path=source, field=fields.text, type=_type_name(data))
                continue
            yield check_record(data, line_no, fields=fields, source=source)


def _read_csv(path: Path, fields: RecordFields, start_after: int) -> Iterator[InputRecord]:
    source = str(path)
    delimiter = _delimiter(path)
    # The csv module refuses fields past its (global) size limit; let through
    # anything up to our own limit, which then reports it as a bad record.
    wanted = max(_line_limit(fields), 1 << 20) if fields.max_chars else (1 << 31) - 1
    if csv.field_size_limit() < wanted:
        csv.field_size_limit(min(wanted, (1 << 31) - 1))
    with _open_binary(path) as raw:
        # surrogateescape keeps a stray non-UTF-8 byte from ending the whole read;
        # the record holding it is reported below.
        text_file = io.TextIOWrapper(raw, encoding="utf8", errors="surrogateescape", newline="")
        reader = csv.reader(text_file, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        if fields.text not in header:
            raise InputError(Errors.E050.format(path=path, field=fields.text, columns=header[:30]))
        previous = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                line_no, previous = previous + 1, reader.line_num
                if line_no > start_after:
                    yield _bad(line_no, "E040", path=source, error=f"malformed CSV: {error}")
                continue
            line_no, previous = previous + 1, reader.line_num
            if line_no <= start_after or not row:
                continue
            data = {key: value for key, value in zip(header, row) if value is not None}
            yield check_record(data, line_no, fields=fields, source=source)


def _delimiter(path: Path) -> str:
    return "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","


def _encodes(text: str | None) -> bool:
    try:
        (text or "").encode("utf8")
    except UnicodeEncodeError:
        return False
    return True


def _parquet_file(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(Errors.E054) from None
    return pq.ParquetFile(path)


def _read_parquet(path: Path, fields: RecordFields, start_after: int) -> Iterator[InputRecord]:
    source = str(path)
    parquet = _parquet_file(path)
    names = parquet.schema_arrow.names
    if fields.text not in names:
        raise InputError(Errors.E050.format(path=path, field=fields.text, columns=names[:30]))
    columns = [name for name in (fields.text, fields.id, fields.questions) if name in names]
    # Skip whole row groups before the resume point without reading them.
    first_group, row = 0, 0
    metadata = parquet.metadata
    while (
        first_group < metadata.num_row_groups
        and row + metadata.row_group(first_group).num_rows <= start_after
    ):
        row += metadata.row_group(first_group).num_rows
        first_group += 1
    groups = list(range(first_group, metadata.num_row_groups))
    if not groups:
        return
    for batch in parquet.iter_batches(batch_size=1024, columns=columns, row_groups=groups):
        for data in batch.to_pylist():
            row += 1
            if row <= start_after:
                continue
            yield check_record(data, row, fields=fields, source=source)
