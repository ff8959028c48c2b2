"""Reading the lines of a text input, gzip or not, with errors that name file and line."""

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import DataError, Errors

# What a truncated or damaged gzip stream raises while it is read.
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


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
    encoding (str): Its text encoding.
    YIELDS (tuple[int, str]): The 1-based line number and the line's text.
    """
    number = 0
    try:
        with open_binary(path) as file:
            for number, raw in enumerate(file, start=1):
                yield number, _decode(raw, path, number, encoding)
    except _GZIP_ERRORS as error:
        raise DataError(Errors.E117.format(path=path, line=number, error=error)) from None


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
