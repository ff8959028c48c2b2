"""Input records for batch processing: JSONL, plain text, CSV and Parquet; gzip accepted.

Readers stream: one record at a time, never the whole file. A bad record does not
stop the stream; it comes out as an ``InputRecord`` whose ``error`` says what is
wrong (with its code, file and line), so the caller can write it to an errors file
and go on. Only a problem with the whole input (an unknown format, a CSV or
Parquet file without the text column, compressed data that breaks off) raises
``InputError``. A leading UTF-8 byte-order mark is dropped in every format.
"""

import csv
import gzip
import io
import json
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from ..convert.lines import is_gzip, open_binary, whole_file_problem
from ..errors import Errors, InputError, OptionError, why_not_a_file
from ..task_inputs import (
    TEXT,
    CheckedInput,
    FieldError,
    PipelineInputs,
    TaskInputs,
    is_utf8_encodable,
)

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
_BOM = b"\xef\xbb\xbf"
#: What a broken gzip stream raises while it is read (BadGzipFile is an OSError).
_GZIP_ERRORS = (EOFError, OSError, zlib.error)
#: Most characters a document may have unless told otherwise. Memory and time grow
#: with a document's length (every strided window is in one forward pass), so a
#: stray multi-megabyte "document" goes to the errors file instead of stalling a run.
DEFAULT_MAX_CHARS = 100_000


@dataclass
class InputRecord:
    """One record of the input, good or bad.

    line (int): 1-based line of the record in the input (its first line, for a CSV
        record spanning several); the row number for Parquet and for records given
        from Python.
    input (CheckedInput | None): What the pipeline's tasks read from the record:
        its texts (one ``text``, or the segments of a pair) and any extra fields.
        None for a bad or skipped record.
    id (Any): The record's id, if it has one.
    has_id (bool): Whether the record has an id field (its value may be null).
    error (str | None): What is wrong with the record (a coded message), if anything.
    code (str | None): The error's code, e.g. "E050".
    skipped (bool): A blank line: not a record, counted as skipped.
    """

    line: int
    input: CheckedInput | None = None
    id: Any = None
    has_id: bool = False
    error: str | None = None
    code: str | None = None
    skipped: bool = False

    @property
    def ok(self) -> bool:
        """Whether the record is good and should be processed."""
        return self.error is None and not self.skipped

    @property
    def text(self) -> str | None:
        """The record's ``text`` field, for a record of one text; None otherwise."""
        return self.input.texts.get("text") if self.input is not None else None


@dataclass(frozen=True)
class RecordFields:
    """Which fields of a record to read, and the longest text to accept.

    text (str): The field (or column) holding the text (``--text-field``).
    id (str): The field holding the record's id, copied to the output when present.
    max_chars (int): Longest text in characters (all of a record's texts together);
        a longer one is a bad record. 0: no limit.
    fields (tuple[tuple[str, str], ...]): Task field name to the record's field
        name, for the other fields (``--field text_a=left``); a dict is taken too.
    inputs (tuple[TaskInputs, ...]): What the pipeline's tasks read
        (``Task.inputs``); none: one ``text`` field.
    """

    text: str = "text"
    id: str = "id"
    max_chars: int = DEFAULT_MAX_CHARS
    fields: tuple[tuple[str, str], ...] = ()
    inputs: tuple[TaskInputs, ...] = field(default=())

    def __post_init__(self) -> None:
        if isinstance(self.fields, dict):
            object.__setattr__(self, "fields", tuple(sorted(self.fields.items())))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        mapped = dict(self.fields).get("text")
        if self.text != "text" and mapped not in (None, self.text):
            option = "The text field (--text-field, text_field=) and the mapping (--field, fields=)"
            raise OptionError(
                Errors.E153.format(
                    option=option, name="text", first=f"text={self.text}", second=f"text={mapped}"
                )
            )

    @cached_property
    def pipeline_inputs(self) -> PipelineInputs:
        """The checker of records against the tasks' inputs, with the field names mapped."""
        mapping = dict(self.fields)
        if self.text != "text":
            mapping.setdefault("text", self.text)
        return PipelineInputs(self.inputs, mapping)

    @property
    def text_column(self) -> str:
        """The first field a record must have (the text field, for document tasks)."""
        inputs = self.pipeline_inputs
        return inputs.source(inputs.shapes[0][0])

    def describe(self) -> dict[str, Any]:
        """The settings as a checkpoint records them: a rerun with others is another job.

        RETURNS (dict[str, Any]): Setting name to value.
        """
        mapping = {name: source for name, source in self.fields}
        return {
            "text field": self.text,
            "id field": self.id,
            "fields": mapping,
            "max chars": self.max_chars,
        }


def detect_format(path: str | Path, input_format: str | None = None) -> str:
    """The format of an input file, from ``input_format`` or the file's name.

    A ``.gz`` ending is ignored (gzip is detected from the content).

    path (str | Path): The input file.
    input_format (str | None): One of ``FORMATS``, to override the name.
    RETURNS (str): One of ``FORMATS``.
    """
    if input_format:
        if input_format not in FORMATS:
            rule = f"one of {', '.join(FORMATS)}"
            raise InputError(
                Errors.E065.format(name="--input-format", rule=rule, value=input_format)
            )
        return input_format
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    found = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if found is None:
        raise InputError(Errors.E058.format(path=path, formats=", ".join(FORMATS)))
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
    _check_is_file(Path(path))
    if fmt == "parquet":
        yield from _read_parquet(Path(path), fields, start_after)
    elif fmt == "csv":
        yield from _read_csv(Path(path), fields, start_after)
    else:
        yield from _read_lines(Path(path), fmt, fields, start_after)


def _check_is_file(path: Path) -> None:
    if not path.is_file():
        raise InputError(Errors.E059.format(path=path, problem=why_not_a_file(path)))


def check_input(
    path: str | Path, input_format: str | None = None, *, fields: "RecordFields | None" = None
) -> str:
    """Check that an input can be read before a run creates any output.

    path (str | Path): The input file.
    input_format (str | None): One of ``FORMATS``; None: from the file name.
    fields (RecordFields | None): The fields to read: a CSV or Parquet file must
        have the columns of one of the tasks' inputs, and plain text needs a
        task that reads one text.
    RETURNS (str): The input's format.
    """
    fields = fields or RecordFields()
    fmt = detect_format(path, input_format)
    path = Path(path)
    _check_is_file(path)
    if fmt != "parquet" and is_gzip(path):
        # A bad header or first block: refuse before the run creates any output.
        # Damage further in shows up while reading (E061).
        try:
            with gzip.open(path, "rb") as file:
                file.read(1)
        except _GZIP_ERRORS as error:
            raise InputError(Errors.E062.format(path=path, error=_describe(error))) from None
    if fmt != "parquet":
        problem = whole_file_problem(path)
        if problem:
            raise InputError(problem)
    if fmt == "txt" and TEXT not in fields.pipeline_inputs.shapes:
        raise InputError(Errors.E084.format(path=path, shapes=_shapes(fields)))
    columns: list[str] | None = None
    if fmt == "parquet":
        columns = list(_parquet_file(path).schema_arrow.names)
    elif fmt == "csv":
        limit = _record_limit(RecordFields())
        with _CsvLines(path) as lines:
            columns = _csv_header(_csv_chunks(lines, _delimiter(path), limit), path, limit)
    if columns is not None:
        _check_columns(path, columns, fields)
    return fmt


def _shapes(fields: RecordFields) -> str:
    inputs = fields.pipeline_inputs
    return " or ".join("+".join(map(inputs.source, shape)) for shape in inputs.shapes)


def _check_columns(path: Path, columns: list[str], fields: RecordFields) -> None:
    # A CSV or Parquet input must hold every column of at least one input.
    inputs = fields.pipeline_inputs
    for shape in inputs.shapes:
        if all(inputs.source(name) in columns for name in shape):
            return
    shape = inputs.shapes[0]
    name = next(name for name in shape if inputs.source(name) not in columns)
    raise InputError(
        Errors.E060.format(path=path, field=inputs.source(name), name=name, columns=columns[:30])
    )


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
        if isinstance(record, _BYTES):
            yield _bad(number, "E057", path=source, what="the record", type=_type_name(record))
            continue
        if not isinstance(record, Mapping):
            yield _bad(
                number, "E049", path=source, field=fields.text_column, type=_type_name(record)
            )
            continue
        yield check_record(record, number, fields=fields, source=source)


def check_record(
    data: Mapping[str, Any], line: int, *, fields: RecordFields, source: str
) -> InputRecord:
    """Validate one parsed record and pick out its id and what the tasks read.

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
    try:
        checked = fields.pipeline_inputs.check(data)
    except FieldError as error:
        return InputRecord(line=line, error=error.located(source, line), code=error.code)
    if fields.max_chars and checked.length > fields.max_chars:
        return _too_long(line, source, checked.length, fields.max_chars)
    if not all(is_utf8_encodable(text) for text in checked.texts.values()):
        # A lone surrogate: a stray byte in CSV input, or a bad "\udXXX" escape in JSON.
        return _bad(line, "E053", path=source, error="a lone surrogate or a byte that is not UTF-8")
    return InputRecord(line=line, input=checked)


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
    if fmt == "csv" or is_gzip(path):
        return None
    count, last = 0, b"\n"
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


_BYTES = (bytes, bytearray, memoryview)


def _bad(line: int, code: str, **values: Any) -> InputRecord:
    message = getattr(Errors, code).format(line=line, **values)
    return InputRecord(line=line, error=message, code=code)


def _too_long(line: int, source: str, length: int, limit: int) -> InputRecord:
    what = "text (all the record's texts)"
    return _bad(line, "E052", path=source, what=what, length=f"{length} characters", limit=limit)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _describe(error: BaseException) -> str:
    kind = type(error)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    return f"{name}: {error}"


def _read_error(path: Path, line: int, error: BaseException) -> InputError:
    # Only gzip streams get here: a plain file has no format to break.
    if line == 0:
        return InputError(Errors.E062.format(path=path, error=_describe(error)))
    return InputError(Errors.E061.format(path=path, line=line, error=_describe(error)))


def _file_lines(path: Path, limit: int) -> Iterator[tuple[bytes | None, int]]:
    """The lines of a (maybe gzipped) file as ``_long_lines`` gives them, BOM dropped."""
    gzipped = is_gzip(path)
    with open_binary(path) as file:
        lines = _long_lines(file, limit)
        number = 0
        while True:
            try:
                raw, size = next(lines)
            except StopIteration:
                return
            except _GZIP_ERRORS as error:
                if not gzipped:
                    raise
                raise _read_error(path, number, error) from None
            number += 1
            if number == 1 and raw is not None and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            yield raw, size


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
    for line_no, (raw, size) in enumerate(_file_lines(path, limit), start=1):
        if line_no <= start_after:
            continue
        if raw is None:
            # Whatever field is long: the line is not parsed, so it is named as a line.
            what = "line (all its fields; the limit is 6 x --max-chars + 1 MiB)"
            length, most = f"{size} bytes", f"{limit} bytes"
            yield _bad(line_no, "E052", path=source, what=what, length=length, limit=most)
            continue
        try:
            line = raw.decode("utf8")
        except UnicodeDecodeError as error:
            yield _bad(line_no, "E053", path=source, error=error)
            continue
        if not line.strip():
            yield InputRecord(line=line_no, skipped=True)
            continue
        if fmt == "txt":
            text = line.rstrip("\r\n")
            if fields.max_chars and len(text) > fields.max_chars:
                yield _too_long(line_no, source, len(text), fields.max_chars)
            else:
                yield InputRecord(line=line_no, input=CheckedInput({"text": text}))
            continue
        try:
            data = json.loads(line)
        # A valid line nested thousands deep overflows the decoder: bad like any other.
        except (json.JSONDecodeError, RecursionError) as error:
            yield _bad(line_no, "E048", path=source, error=f"invalid JSON: {error}")
            continue
        if not isinstance(data, dict):
            yield _bad(
                line_no, "E049", path=source, field=fields.text_column, type=_type_name(data)
            )
            continue
        yield check_record(data, line_no, fields=fields, source=source)


def _record_limit(fields: RecordFields) -> int | None:
    # The most characters one CSV record may span: the bound a line of the line
    # formats has. Past it the record is a bad one and no more of it is kept.
    return _line_limit(fields) if fields.max_chars else None


class _CsvLines:
    """Numbered lines of a CSV file that can be put back, or read again from the file.

    Lines end where the csv module ends them: at \\n, \\r or \\r\\n.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.gzipped = is_gzip(path)
        self._pending: deque[tuple[int, str]] = deque()
        self._file: IO[str] | None = None
        self._read = 0
        self._open()

    def __enter__(self) -> "_CsvLines":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _open(self) -> None:
        self.close()
        # utf-8-sig drops a byte-order mark. surrogateescape keeps a stray non-UTF-8
        # byte from ending the whole read; the record holding it is reported (E053).
        raw = open_binary(self.path)
        self._file = io.TextIOWrapper(
            raw, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        self._read = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def next(self) -> tuple[int, str] | None:
        """The next line and its number, or None at the end of the file."""
        if self._pending:
            return self._pending.popleft()
        assert self._file is not None
        try:
            line = self._file.readline()
        except _GZIP_ERRORS as error:
            if not self.gzipped:
                raise
            raise _read_error(self.path, self._read, error) from None
        if not line:
            return None
        self._read += 1
        return self._read, line

    def put_back(self, lines: list[tuple[int, str]]) -> None:
        """Have ``next`` give these lines again, before any other."""
        self._pending.extendleft(reversed(lines))

    def restart_at(self, number: int) -> None:
        """Have ``next`` go on from line ``number``, reading the file again."""
        self._pending.clear()
        self._open()
        while self._read < number - 1 and self.next() is not None:
            pass


class _QuoteScanner:
    """Follows the quotes of a CSV record line by line, as the csv module reads them.

    The csv module reads a quoted field up to its closing quote, across lines. One
    stray or unescaped quote then joins every line up to the next quote, or up to
    the end of the file, into one record. Scanning first tells where a record ends,
    and finds a quote that spans lines and then never closes or closes out of
    place (followed by something other than a delimiter or the line's end). A
    quote that closes out of place on the line it opened on joins no lines; it is
    read leniently, as the csv module reads it.
    """

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self.quoted = False
        self.quote_line = 0
        self.misplaced = ""

    def feed(self, line: str, number: int, *, first: bool = False) -> str:
        """Scan the next line of the record ("first": the line a record starts with).

        RETURNS (str): "end" when the record ends with this line, "open" when a
            quoted field goes on past it, "misplaced" when a quote that opened on an
            earlier line closes out of place on it (``misplaced`` holds what follows).
        """
        if first:
            self.quoted = False
            if '"' not in line:
                return "end"
        quoted, delimiter = self.quoted, self.delimiter
        pos, end = 0, len(line)
        field_start = not quoted
        while pos < end:
            if quoted:
                close = line.find('"', pos)
                if close < 0:
                    break
                if line.startswith('"', close + 1):  # "" stands for one quote
                    pos = close + 2
                    continue
                quoted = False
                after = line[close + 1 : close + 2]
                if after == delimiter:
                    pos, field_start = close + 2, True
                elif after in ("", "\r", "\n"):
                    break
                elif self.quote_line != number:
                    self.quoted, self.misplaced = False, after
                    return "misplaced"
                else:
                    pos, field_start = close + 1, False
            elif field_start and line.startswith('"', pos):
                quoted, self.quote_line = True, number
                pos += 1
            else:
                found = line.find(delimiter, pos)
                if found < 0:
                    break
                pos, field_start = found + 1, True
        self.quoted = quoted
        return "open" if quoted else "end"


@dataclass
class _CsvChunk:
    """The lines of one CSV record, or of a record whose quote went wrong."""

    first: int
    last: int
    lines: list[str]
    size: int
    problem: str | None = None
    quote_line: int = 0
    misplaced: str = ""


def _csv_chunks(lines: _CsvLines, delimiter: str, limit: int | None) -> Iterator[_CsvChunk]:
    """Split the lines of a CSV file into records, before the csv module parses them.

    A record that runs past ``limit`` characters keeps only its lines up to the
    limit. A quote that spans lines and never closes, or closes out of place, ends
    its record with the line it opened on; the lines after that are read afresh.
    """
    scanner = _QuoteScanner(delimiter)
    while (item := lines.next()) is not None:
        first, line = item
        kept, size, last = [line], len(line), first
        state = scanner.feed(line, first, first=True)
        while state == "open" and (item := lines.next()) is not None:
            last, line = item
            size += len(line)
            if limit is None or size <= limit:
                kept.append(line)
            state = scanner.feed(line, last)
        whole = limit is None or size <= limit
        if state == "end":
            yield _CsvChunk(first, last, kept, size, None if whole else "long")
            continue
        quote = scanner.quote_line
        yield _CsvChunk(
            first,
            last,
            kept[: quote - first + 1],
            size,
            "unclosed" if state == "open" else "misplaced",
            quote,
            scanner.misplaced,
        )
        if whole:
            lines.put_back(list(enumerate(kept[quote - first + 1 :], start=quote + 1)))
        else:
            lines.restart_at(quote + 1)


def _parse_row(lines: list[str], delimiter: str) -> list[str]:
    reader = csv.reader(lines, delimiter=delimiter)
    row = next(reader, [])
    if reader.line_num < len(lines):
        # The scan and the csv module disagree on where the record ends: report it
        # rather than drop lines.
        raise csv.Error(f"the record ends on its line {reader.line_num} of {len(lines)}")
    return row


def _quote_error(chunk: _CsvChunk, source: str, outcome: str) -> str:
    if chunk.problem == "unclosed":
        problem = "is never closed (the file ends inside it)"
    else:
        problem = (
            f"closes on line {chunk.last} followed by {chunk.misplaced!r} instead of a "
            "delimiter or the end of the line"
        )
    return Errors.E056.format(
        path=source, line=chunk.first, quote_line=chunk.quote_line, problem=problem, outcome=outcome
    )


def _long_csv_record(chunk: _CsvChunk, source: str, limit: int | None) -> InputRecord:
    where = f" on lines {chunk.first}-{chunk.last}" if chunk.last > chunk.first else ""
    length = f"{chunk.size} characters{where}"
    what = "CSV record (all its cells)"
    return _bad(
        chunk.first, "E052", path=source, what=what, length=length, limit=f"{limit} characters"
    )


def _csv_header(chunks: Iterator[_CsvChunk], path: Path, limit: int | None) -> list[str] | None:
    chunk = next(chunks, None)
    if chunk is None:
        return None
    source = str(path)
    if chunk.problem == "long":
        raise InputError(_long_csv_record(chunk, source, limit).error)
    if chunk.problem is not None:
        raise InputError(_quote_error(chunk, source, "The header cannot be read."))
    try:
        return _parse_row(chunk.lines, _delimiter(path))
    except csv.Error as error:
        raise InputError(Errors.E048.format(path=source, line=1, error=error)) from None


def _csv_record(
    chunk: _CsvChunk,
    header: list[str],
    delimiter: str,
    fields: RecordFields,
    source: str,
    limit: int | None,
) -> InputRecord:
    if chunk.problem is None:
        try:
            row = _parse_row(chunk.lines, delimiter)
        except csv.Error as error:
            return _bad(chunk.first, "E048", path=source, error=f"malformed CSV: {error}")
        if not row:
            return InputRecord(line=chunk.first, skipped=True)
        if any(cell and cell.strip() for cell in row[len(header) :]):
            # Most often a text with the delimiter in it, unquoted: reading the first
            # cells alone would cut the text short without a word. Empty cells past
            # the header (a trailing delimiter) hold nothing to lose.
            error = (
                f"the row has {len(row)} fields but the header has {len(header)}; quote a "
                "field that holds the delimiter"
            )
            return _bad(chunk.first, "E048", path=source, error=error)
        data = {key: value for key, value in zip(header, row) if value is not None}
        return check_record(data, chunk.first, fields=fields, source=source)
    if chunk.problem == "long":
        record = _long_csv_record(chunk, source, limit)
    else:
        outcome = (
            f"The record goes to the errors file and reading goes on after line {chunk.quote_line}."
        )
        message = _quote_error(chunk, source, outcome)
        record = InputRecord(line=chunk.first, error=message, code="E056")
    # The fields before the broken one are whole: a bad record keeps its id.
    try:
        row = next(csv.reader(chunk.lines, delimiter=delimiter), [])
    except csv.Error:
        row = []
    if fields.id in header and header.index(fields.id) < len(row) - 1:
        record.id, record.has_id = row[header.index(fields.id)], True
    return record


def _read_csv(path: Path, fields: RecordFields, start_after: int) -> Iterator[InputRecord]:
    source = str(path)
    limit = _record_limit(fields)
    # The csv module refuses fields past its (global) size limit; records are cut
    # at our own limit before they get to it.
    wanted = (1 << 31) - 1 if limit is None else min(max(limit, 1 << 20), (1 << 31) - 1)
    if csv.field_size_limit() < wanted:
        csv.field_size_limit(wanted)
    delimiter = _delimiter(path)
    with _CsvLines(path) as lines:
        chunks = _csv_chunks(lines, delimiter, limit)
        header = _csv_header(chunks, path, limit)
        if header is None:
            return
        _check_columns(path, header, fields)
        for chunk in chunks:
            if chunk.first > start_after:
                yield _csv_record(chunk, header, delimiter, fields, source, limit)


def _delimiter(path: Path) -> str:
    return "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","


def _parquet_file(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(Errors.E064) from None
    try:
        return pq.ParquetFile(path)
    except _parquet_errors() as error:
        raise InputError(Errors.E063.format(path=path, error=_describe(error))) from None


def _parquet_errors() -> tuple[type[BaseException], ...]:
    import pyarrow

    # ArrowInvalid is a ValueError, Arrow's I/O errors are OSErrors.
    return (pyarrow.ArrowException, OSError, ValueError)


def _parquet_batches(parquet: Any, path: Path, **options: Any) -> Iterator[Any]:
    batches = parquet.iter_batches(**options)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except _parquet_errors() as error:
            raise InputError(Errors.E063.format(path=path, error=_describe(error))) from None
        yield batch


def _read_parquet(path: Path, fields: RecordFields, start_after: int) -> Iterator[InputRecord]:
    source = str(path)
    parquet = _parquet_file(path)
    names = parquet.schema_arrow.names
    _check_columns(path, names, fields)
    wanted = [*fields.pipeline_inputs.record_fields, fields.id]
    columns = [name for name in names if name in wanted]
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
    for batch in _parquet_batches(
        parquet, path, batch_size=1024, columns=columns, row_groups=groups
    ):
        for data in batch.to_pylist():
            row += 1
            if row <= start_after:
                continue
            yield check_record(data, row, fields=fields, source=source)
