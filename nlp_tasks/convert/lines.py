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
