"""Reading the lines of a text input, gzip or not, with errors that name file and line."""

import codecs
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import ConvertError, DataError, Errors

# What a truncated or damaged gzip stream raises while it is read.
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)
# ASCII text a line reader's encoding must decode as ASCII does: the lines are told
# apart by their b"\n" bytes before they are decoded, and CSV needs its quotes.
_ASCII_PROBE = b'text\tlabel,"0 1"\r\n'


def encoding_problem(encoding: str) -> str:
    """What is wrong with an encoding for reading a file line by line, if anything.

    ``read_lines`` splits the bytes into lines before it decodes them, which only
    an ASCII-compatible encoding allows: UTF-16 and UTF-32 are refused, not misread.

    encoding (str): The encoding's name, as given (``--encoding``).
    RETURNS (str): The problem, worded to follow "--encoding" in a message; "" if
        the encoding can be used.
    """
    try:
        codecs.lookup(encoding)
        decoded = _ASCII_PROBE.decode(encoding)
    except UnicodeDecodeError:
        decoded = None
    except (LookupError, UnicodeError, TypeError):
        return "is not a text encoding Python knows (e.g. utf-8, latin-1, cp1252)"
    if decoded == _ASCII_PROBE.decode("ascii"):
        return ""
    return (
        "is not ASCII-compatible, so the lines of a file cannot be read one at a time: "
        "re-encode the file to UTF-8 first (e.g. iconv -f UTF-16 -t UTF-8 IN > OUT) and "
        "leave --encoding out"
    )


def parse_encoding(value: str) -> str:
    """Check an ``--encoding`` option's value, for ``Option(parse=...)``.

    value (str): The encoding's name.
    RETURNS (str): The name, as given.
    """
    problem = encoding_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def where(path: str | Path, line: int) -> str:
    """The place of a line in a file, as messages name it: ``path:line``.

    path (str | Path): The file.
    line (int): The 1-based line number.
    RETURNS (str): E.g. "train.conll:12".
    """
    return f"{path}:{line}"


_GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: str | Path) -> bool:
    """Whether a file is gzip-compressed, by its first bytes (not its name).

    path (str | Path): The file.
    RETURNS (bool): True if it starts with gzip's magic number.
    """
    with Path(path).open("rb") as file:
        return file.read(2) == _GZIP_MAGIC


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing it when it is gzip-compressed.

    Decided by the file's first bytes, so a ``.GZ`` file, or gzip data under
    another name, is read alike, and a plain file named ``.gz`` as it is.

    path (str | Path): The file.
    RETURNS (IO[bytes]): The open file.
    """
    if is_gzip(path):
        return gzip.open(path, "rb")
    return Path(path).open("rb")


#: Byte-order marks of the Unicode encodings other than UTF-8, longest first.
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
#: How much of an input is looked at for its line endings.
_LINE_ENDINGS_SAMPLE = 1 << 20


def whole_file_problem(path: str | Path) -> str:
    """Why a text input cannot be read one line at a time, if it cannot; "" if it can.

    A UTF-16 or UTF-32 file (what some Windows editors save) would fail on every
    line, or decode as nonsense (E170); a file whose lines end at a carriage
    return alone (classic Mac OS) would be read as one line holding all of them
    (E171). The message gives the shell command that writes a fixed copy.

    path (str | Path): The file, gzip or not.
    RETURNS (str): The coded message, or "".
    """
    path = Path(path)
    start = _read_start(path, _LINE_ENDINGS_SAMPLE)
    for bom, encoding in _OTHER_BOMS:
        if start.startswith(bom):
            command = fix_command(path, f"iconv -f {encoding} -t UTF-8", "utf8")
            return Errors.E170.format(
                path=path, encoding=encoding, bom=bom.hex(" "), command=command
            )
    if b"\r" in start and b"\n" not in start:
        return Errors.E171.format(path=path, command=fix_command(path, "tr '\\r' '\\n'", "lf"))
    return ""


def _read_start(path: Path, size: int) -> bytes:
    # As much of the first ``size`` bytes as can be read: a gzip stream that breaks
    # off early is reported where the lines are read, with the lines before it.
    blocks: list[bytes] = []
    remaining = size
    try:
        with open_binary(path) as file:
            while remaining > 0 and (block := file.read(min(remaining, 1 << 16))):
                blocks.append(block)
                remaining -= len(block)
    except _GZIP_ERRORS:
        pass
    return b"".join(blocks)


def fix_command(path: str | Path, text_filter: str, tag: str) -> str:
    """The shell command that writes a fixed, uncompressed copy of an input beside it.

    path (str | Path): The input, gzip or not.
    text_filter (str): The command that fixes the text, e.g. "tr '\\r' '\\n'".
    tag (str): What the copy's name gets before its suffix, e.g. "lf".
    RETURNS (str): E.g. "tr '\\r' '\\n' < in.jsonl > in-lf.jsonl".
    """
    path = Path(path)
    name = path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name
    stem, dot, suffix = name.rpartition(".")
    fixed = path.with_name(f"{stem}-{tag}.{suffix}" if dot else f"{name}-{tag}")
    if is_gzip(path):
        return f"gunzip -c {path} | {text_filter} > {fixed}"
    return f"{text_filter} < {path} > {fixed}"


def read_lines(path: str | Path, *, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Stream the lines of a text file (gzip or not, by its first bytes), one at a time.

    Line endings (``\\n``, ``\\r\\n``) and a UTF-8 byte order mark are removed.

    path (str | Path): The file.
    encoding (str): Its text encoding, which must be ASCII-compatible
        (``encoding_problem``).
    YIELDS (tuple[int, str]): The 1-based line number and the line's text.
    """
    # Converters check their --encoding when it is parsed; this covers any other caller.
    problem = encoding_problem(encoding)
    if problem:
        raise ConvertError(Errors.E148.format(path=path, encoding=encoding, problem=problem))
    problem = whole_file_problem(path)
    if problem:
        raise ConvertError(problem)
    number = 0
    try:
        with open_binary(path) as file:
            for number, raw in enumerate(file, start=1):
                yield number, _decode(raw, path, number, encoding)
    except _GZIP_ERRORS as error:
        place = f"after line {number}" if number else "from its first line on"
        raise DataError(Errors.E117.format(path=path, place=place, error=error)) from None


def _decode(raw: bytes, path: str | Path, number: int, encoding: str) -> str:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise DataError(
            Errors.E116.format(where=where(path, number), encoding=encoding, error=error)
        ) from None
    if number == 1:
        text = text.removeprefix("\ufeff")
    return text.rstrip("\r\n")
