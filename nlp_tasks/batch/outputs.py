"""Durable, resumable output files for batch processing: JSONL, Parquet, the checkpoint.

A run appends to its files and, now and then, makes what it wrote durable (flush,
fsync) and records how far it got in a checkpoint, written atomically. A rerun
cuts each file back to its checkpointed size and goes on from there, so a record
is never lost or written twice, however the run was stopped. A lock file held for
the whole run keeps a second run off the same files.
"""

import errno
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import Errors, LockedError, OutputError, WriteError

#: The output formats ``open_output`` writes, by file ending.
OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an OSError while writing ``path`` into a ``WriteError`` naming it.

    path (Path): The file being written.
    """
    try:
        yield
    except OutputError:
        raise
    except OSError as error:
        raise WriteError(path, error) from error


def output_format(path: str | Path) -> str:
    """The format to write, from the output's file ending.

    path (str | Path): The output path.
    RETURNS (str): "jsonl" or "parquet".
    """
    found = OUTPUT_FORMATS.get(Path(path).suffix.lower())
    if found is None:
        raise OutputError(Errors.E078.format(path=path, formats=", ".join(OUTPUT_FORMATS)))
    return found


def json_line(record: Any) -> bytes:
    """One JSON line, UTF-8 encoded.

    record (Any): JSON-serializable data.
    RETURNS (bytes): The encoded line, newline included.
    """
    text = json.dumps(record, ensure_ascii=False)
    try:
        return (text + "\n").encode("utf8")
    except UnicodeEncodeError:
        # A lone surrogate (say in an id) cannot be UTF-8; JSON's \u escapes can hold it.
        return (json.dumps(record) + "\n").encode("utf8")


def temp_path(path: Path) -> Path:
    """Where a file is written before it atomically replaces ``path``.

    path (Path): The file.
    RETURNS (Path): ``<path>.tmp`` beside it.
    """
    return path.with_name(path.name + ".tmp")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace a file's content all at once: a reader sees the old or the new, never half.

    path (Path): The file.
    data (bytes): Its new content.
    """
    tmp = temp_path(path)
    with writing(path):
        with tmp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    _sync_dir(path.parent)


def _sync_dir(path: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Checkpoint:
    """How far a run got, in a JSON file next to the output.

    path (Path): The checkpoint file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None if there is no checkpoint.

        RETURNS (dict | None): The state.
        """
        if not self.path.exists():
            return None
        return json.loads(self.path.read_text(encoding="utf8"))

    def save(self, state: dict[str, Any]) -> None:
        """Save the state atomically.

        state (dict[str, Any]): JSON-serializable state.
        """
        write_atomic(self.path, (json.dumps(state, indent=1) + "\n").encode("utf8"))


class AppendFile:
    """A file that lines are appended to, cut back to a known size when a run resumes.

    The file is created on the first write, so a run without errors leaves no errors file.

    path (Path): The file.
    size (int): Bytes of it to keep; anything after is from a stopped run and goes.
    checkpoint (Path): Named in the error when the file is shorter than ``size``.
    """

    def __init__(self, path: Path, size: int = 0, *, checkpoint: Path | None = None) -> None:
        self.path = path
        self.size = size
        self._file: IO[bytes] | None = None
        actual = path.stat().st_size if path.exists() else 0
        if actual < size:
            raise OutputError(
                Errors.E071.format(
                    output=path,
                    checkpoint=checkpoint,
                    problem=f"{actual} bytes, the checkpoint says {size}",
                )
            )
        if path.exists():
            with writing(path):
                self._file = path.open("r+b")
                self._file.truncate(size)
                self._file.seek(size)

    def write(self, lines: Iterable[bytes]) -> None:
        """Append encoded lines.

        lines (Iterable[bytes]): The lines, each ending with a newline.
        """
        with writing(self.path):
            for line in lines:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = self.path.open("wb")
                self._file.write(line)
                self.size += len(line)

    def sync(self) -> int:
        """Make everything written so far durable.

        RETURNS (int): The file's size in bytes.
        """
        if self._file is not None:
            with writing(self.path):
                self._file.flush()
                os.fsync(self._file.fileno())
        return self.size

    def close(self) -> None:
        """Close the file.

        Bytes that a failed write left in the buffer are dropped, not flushed: they
        are after the checkpoint, and the next run cuts the file back anyway.
        """
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError:
                pass


class JsonlOutput:
    """Output records as JSON lines, durable at every ``commit``.

    path (Path): The output file.
    state (dict[str, Any]): The checkpoint's ``output`` state; empty for a new run.
    checkpoint (Path): Named in errors.
    """

    def __init__(self, path: Path, state: dict[str, Any], *, checkpoint: Path) -> None:
        self.file = AppendFile(path, state.get("bytes", 0), checkpoint=checkpoint)
        if not path.exists():
            with writing(path):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()

    def write(self, records: list[dict[str, Any]], first: int, last: int) -> None:
        """Append output records.

        records (list[dict[str, Any]]): The records, in order.
        first (int): Input line of the first of them, for messages.
        last (int): Input line of the last of them, for messages.
        """
        self.file.write(json_line(record) for record in records)

    #: Never forces a commit: a JSONL commit is cheap, so any time is a good time.
    due = False
    #: Nothing is ever held back from a commit.
    pending = 0

    def commit(self, *, final: bool = False) -> dict[str, Any]:
        """Make all written records durable.

        final (bool): The last commit of the run (the same for JSONL).
        RETURNS (dict[str, Any]): The state to checkpoint.
        """
        return {"bytes": self.file.sync()}

    def finish(self) -> None:
        """Close the output once the run is complete."""
        self.file.close()

    def close(self) -> None:
        """Close the output however the run ended; what was committed stays."""
        self.file.close()

    def cleanup(self) -> None:
        """Remove what only an unfinished run needs (nothing, for JSONL)."""


class ParquetOutput:
    """Output records as one Parquet file, built from parts written as the run goes.

    A Parquet file is only valid once closed, so the run writes numbered part files
    (each one atomically) into ``<output>.parts/`` and, at the end, merges them into
    the output. Parts close at the first chunk boundary after ``part_rows`` rows, so
    a resumed run cuts them exactly where an uninterrupted run would.

    path (Path): The output file.
    state (dict[str, Any]): The checkpoint's ``output`` state; empty for a new run.
    checkpoint (Path): Named in errors.
    part_rows (int): Rows per part file (at least).
    """

    def __init__(
        self, path: Path, state: dict[str, Any], *, checkpoint: Path, part_rows: int = 10_000
    ) -> None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise OutputError(Errors.E064) from None
        self.path = path
        self.parts_dir = path.with_name(path.name + ".parts")
        self.part_rows = part_rows
        self.parts = state.get("parts", 0)
        self.rows: list[dict[str, Any]] = []
        self.first_line = 0
        self.last_line = 0
        with writing(self.parts_dir):
            self.parts_dir.mkdir(parents=True, exist_ok=True)
        existing = sorted(self.parts_dir.glob("part-*.parquet"))
        if len(existing) < self.parts:
            raise OutputError(
                Errors.E071.format(
                    output=self.parts_dir,
                    checkpoint=checkpoint,
                    problem=f"{len(existing)} part files, the checkpoint says {self.parts}",
                )
            )
        for part in existing[self.parts :]:
            part.unlink()
        for stale in self.parts_dir.glob("*.tmp"):
            stale.unlink()
        self.schema = self._known_schema()

    def _part(self, number: int) -> Path:
        return self.parts_dir / f"part-{number:06d}.parquet"

    def _known_schema(self) -> Any:
        import pyarrow.parquet as pq

        schemas = [pq.read_schema(self._part(n)) for n in range(self.parts)]
        return _unify(schemas) if schemas else None

    def write(self, records: list[dict[str, Any]], first: int, last: int) -> None:
        """Buffer output records; a part is written at the next commit.

        records (list[dict[str, Any]]): The records, in order.
        first (int): Input line of the first of them, for messages.
        last (int): Input line of the last of them, for messages.
        """
        if records and not self.rows:
            self.first_line = first
        self.rows.extend(records)
        self.last_line = last

    @property
    def due(self) -> bool:
        """Whether a part's worth of rows is buffered, to be written now.

        RETURNS (bool): True if the next commit writes a part.
        """
        return len(self.rows) >= self.part_rows

    @property
    def pending(self) -> int:
        """Buffered rows while fewer than a part's worth; 0 once a part is due.

        RETURNS (int): Rows that a commit now would leave out of the checkpoint.
        """
        return len(self.rows) if len(self.rows) < self.part_rows else 0

    def commit(self, *, final: bool = False) -> dict[str, Any]:
        """Write the buffered rows as a part, if a part is due (or ``final``).

        final (bool): Write whatever is buffered.
        RETURNS (dict[str, Any]): The state to checkpoint.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.rows and (final or len(self.rows) >= self.part_rows):
            arrow_errors = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)
            rows = _same_keys(self.rows)
            try:
                table = pa.Table.from_pylist(rows)
            except arrow_errors as error:
                raise OutputError(
                    Errors.E154.format(
                        first=self.first_line,
                        last=self.last_line,
                        field=_mixed_field(rows),
                        error=error,
                    )
                ) from None
            try:
                schema = _unify([self.schema, table.schema] if self.schema else [table.schema])
            except arrow_errors as error:
                changed = [
                    name
                    for name in table.schema.names
                    if name in self.schema.names
                    and table.schema.field(name).type != self.schema.field(name).type
                ]
                raise OutputError(
                    Errors.E072.format(
                        first=self.first_line,
                        last=self.last_line,
                        fields=", ".join(map(repr, changed)) or "?",
                        error=error,
                    )
                ) from None
            part = self._part(self.parts)
            tmp = temp_path(part)
            with writing(part):
                pq.write_table(table, tmp)
                with tmp.open("rb") as file:
                    os.fsync(file.fileno())
                os.replace(tmp, part)
            _sync_dir(self.parts_dir)
            self.schema = schema
            self.parts += 1
            self.rows = []
        return {"parts": self.parts}

    def finish(self) -> None:
        """Merge the parts into the output file, atomically; ``cleanup`` removes them."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.commit(final=True)
        # From the part files, not from memory: a resumed run must merge with the very
        # schema an uninterrupted one does (Parquet renames list items, for one).
        schema = self._known_schema() or pa.schema([("line", pa.int64())])
        tmp = temp_path(self.path)
        with writing(self.path):
            with pq.ParquetWriter(tmp, schema) as writer:
                for number in range(self.parts):
                    writer.write_table(_conform(pq.read_table(self._part(number)), schema))
            with tmp.open("rb") as file:
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        _sync_dir(self.path.parent)

    def close(self) -> None:
        """Close the output however the run ended (each part file is closed once written)."""

    def cleanup(self) -> None:
        """Remove the part files, once the checkpoint says the output is complete.

        Until then they stay: a run stopped between merging and checkpointing merges
        them again on the rerun.
        """
        shutil.rmtree(self.parts_dir, ignore_errors=True)


def _same_keys(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # pyarrow takes the columns from the first row alone and drops any key it lacks.
    # Rows of a mixed stream differ (a pair has no sentiment, a text no similarity),
    # so every row gets every key, None where it has none, in order of appearance.
    keys = list(dict.fromkeys(key for row in rows for key in row))
    if all(len(row) == len(keys) for row in rows):
        return rows
    return [{key: row.get(key) for key in keys} for row in rows]


def _mixed_field(rows: list[dict[str, Any]]) -> str:
    # pyarrow's message names the types but not the column.
    import pyarrow as pa

    for key in rows[0]:
        try:
            pa.array([row[key] for row in rows])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return key
    return "?"


def _conform(table: Any, schema: Any) -> Any:
    # A part may lack a column a later part has (its rows had no such head's output):
    # the column is added, all null, and every column takes the merged type.
    import pyarrow as pa

    columns = [
        table.column(field.name).cast(field.type)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, type=field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _unify(schemas: list[Any]) -> Any:
    import pyarrow as pa

    # "permissive" lets a column that was all null in one part take the type of another.
    return pa.unify_schemas(schemas, promote_options="permissive")


def open_output(
    path: Path, fmt: str, state: dict[str, Any], *, checkpoint: Path, part_rows: int = 10_000
) -> JsonlOutput | ParquetOutput:
    """The output writer for a format, resumed from a checkpoint's state.

    path (Path): The output file.
    fmt (str): "jsonl" or "parquet".
    state (dict[str, Any]): The checkpoint's ``output`` state; empty for a new run.
    checkpoint (Path): Named in errors.
    part_rows (int): Rows per Parquet part file (at least).
    RETURNS (JsonlOutput | ParquetOutput): The writer.
    """
    if fmt == "parquet":
        return ParquetOutput(path, state, checkpoint=checkpoint, part_rows=part_rows)
    return JsonlOutput(path, state, checkpoint=checkpoint)


def remove_outputs(*paths: Path) -> None:
    """Delete earlier outputs of a run (files, or a Parquet parts directory), if any.

    *paths (Path): The files and directories.
    """
    for path in paths:
        if path.is_dir():
            if not path.name.endswith(".parts"):
                # JobFiles.check refuses such paths first; never remove a user's folder.
                raise IsADirectoryError(f"not removing the folder '{path}'")
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def lock_path(path: str | Path) -> Path:
    """The lock file of a file a run writes: ``<path>.lock``.

    path (str | Path): The output or errors file.
    RETURNS (Path): Its lock file.
    """
    path = Path(path)
    return path.with_name(f"{path.name}.lock")


class JobLock:
    """Exclusive locks on the files of a run, held from before its first write to its end.

    Each file gets a ``<file>.lock`` next to it, locked with ``flock`` (``msvcrt`` on
    Windows). The system drops such a lock when its process ends, however it ends,
    so a run killed with SIGKILL leaves a lock file that blocks nobody, and the
    rerun resumes. Where neither exists, the lock file is created exclusively and a
    killed run's lock file must be deleted by hand.

    files (Iterable[Path]): The files to lock (the output, the errors file).
    """

    def __init__(self, files: Iterable[Path]) -> None:
        self.files = list(dict.fromkeys(Path(file) for file in files))
        self._held: list[tuple[Path, int]] = []

    def __enter__(self) -> "JobLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Lock every file, or none: raise a ``LockedError`` if another run holds one."""
        try:
            for file in self.files:
                lock = lock_path(file)
                self._held.append((lock, _lock(file, lock)))
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Remove the lock files and let go of the locks."""
        while self._held:
            lock, fd = self._held.pop()
            # Removed while still locked: a run that opens it after this finds it
            # gone, or another file in its place, and locks that instead (_lock).
            try:
                os.unlink(lock)
            except OSError:
                pass
            if _msvcrt is not None:
                try:
                    os.lseek(fd, 0, os.SEEK_SET)
                    _msvcrt.locking(fd, _msvcrt.LK_UNLCK, 1)
                except OSError:
                    pass
            os.close(fd)


try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows
    _fcntl = None  # type: ignore[assignment]
try:
    import msvcrt as _msvcrt
except ImportError:
    _msvcrt = None  # type: ignore[assignment]


def _lock(file: Path, lock: Path) -> int:
    while True:
        if _fcntl is None and _msvcrt is None:  # pragma: no cover - neither available
            return _lock_exclusive(file, lock)
        with writing(lock):
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if _fcntl is not None:
                _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
            else:  # pragma: no cover - Windows
                _msvcrt.locking(fd, _msvcrt.LK_NBLCK, 1)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                raise LockedError(
                    Errors.E073.format(path=file, lock=lock, holder=_holder(lock))
                ) from None
            raise WriteError(lock, error) from None
        # The run that held it may have removed the file between our open and lock:
        # then this lock is on a file nobody else will find. Start again.
        try:
            same = os.path.samestat(os.stat(lock), os.fstat(fd))
        except OSError:
            same = False
        if not same:
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # only informative, for the message of a run refused by this lock
        return fd


def _lock_exclusive(file: Path, lock: Path) -> int:  # pragma: no cover - neither available
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        holder = _holder(lock) + (
            "; this system has no file locks, so a run that was killed leaves it behind: "
            "delete it if no run is going"
        )
        raise LockedError(Errors.E073.format(path=file, lock=lock, holder=holder)) from None
    except OSError as error:
        raise WriteError(lock, error) from None
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text(encoding="utf8").strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""
