"""Writing converted records to a JSONL file all at once or not at all."""

import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..batch.outputs import json_line
from ..errors import ConvertError, Errors, WriteError, not_a_regular_file

#: Endings of files that are not JSONL, which is all ``write_jsonl`` writes.
OTHER_FORMATS = (".gz", ".bz2", ".xz", ".zip", ".parquet", ".arrow", ".csv", ".tsv", ".spacy")


def not_jsonl_ending(path: str | Path) -> str:
    """What is wrong with a JSONL output's name, if its ending says another format.

    path (str | Path): The output file.
    RETURNS (str): The problem, for an E047 message; "" if the name is fine.
    """
    path = Path(path)
    if not path.name.lower().endswith(OTHER_FORMATS):
        return ""
    return (
        f"JSONL is written, not what the ending '{path.suffix}' says; name it .jsonl "
        "(compress or convert it afterwards)"
    )


def write_jsonl(records: Iterable[dict[str, Any]], output: str | Path) -> int:
    """Write records to a JSONL file, one JSON object a line, atomically.

    The records go to a temporary file beside ``output``, which is renamed to
    ``output`` once the last record is written. If anything fails on the way (a
    bad input line, a full disk, Ctrl+C), the temporary file is removed and
    ``output`` is left as it was: there is never a partial output.

    records (Iterable[dict[str, Any]]): The records; consumed once.
    output (str | Path): The JSONL file to write; its folder is created. An existing
        one must be a regular file (``not_a_regular_file``).
    RETURNS (int): How many records were written.
    """
    output = Path(output)
    problem = not_a_regular_file(output)
    if problem:
        raise ConvertError(Errors.E047.format(path=output, option="output", problem=problem))
    # A fresh name opened with "x" (rather than mkstemp) gets the usual permissions.
    temp = output.parent / f".{output.name}.{os.getpid()}.{secrets.token_hex(4)}.partial"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(output)
        file = temp.open("xb")
    except OSError as error:
        raise WriteError(output, error) from None
    count = 0
    try:
        for record in records:
            count += 1
            _write(file, _line(record, count), output)
        _close(file, output)
        _replace(temp, output)
    finally:
        file.close()
        temp.unlink(missing_ok=True)
    return count


def _remove_stale_partials(output: Path) -> None:
    # The temporary files of earlier runs killed outright (SIGKILL, a power cut): a
    # run whose process is gone will never finish or remove its file.
    for temp in output.parent.glob(f".{output.name}.*.partial"):
        pid = temp.name[len(output.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            temp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, OSError):
        return True  # someone else's process, or a pid we cannot ask about: keep its file
    return True


def _line(record: Any, number: int) -> bytes:
    if not isinstance(record, dict):
        raise ConvertError(Errors.E118.format(number=number, error=f"got {type(record).__name__}"))
    try:
        return json_line(record)
    except (TypeError, ValueError) as error:
        raise ConvertError(Errors.E118.format(number=number, error=error)) from None


def _write(file: Any, line: bytes, output: Path) -> None:
    # Only errors of writing the output are write errors; an input that cannot be
    # read raises its own error from the records iterator.
    try:
        file.write(line)
    except OSError as error:
        raise WriteError(output, error) from None


def _close(file: Any, output: Path) -> None:
    try:
        file.flush()
        os.fsync(file.fileno())
        file.close()
    except OSError as error:
        raise WriteError(output, error) from None


def _replace(temp: Path, output: Path) -> None:
    try:
        os.replace(temp, output)
    except OSError as error:
        raise WriteError(output, error) from None
