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


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing it when its name ends in ``.gz``.

    path (str | Path): The file.
    RETURNS (IO[bytes]): The open file.
    """
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def read_lines(path: str | Path, *, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Stream the lines of a text file (gzip by the ``.gz`` suffix), one at a time.

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
