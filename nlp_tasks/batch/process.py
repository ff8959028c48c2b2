"""Batch processing: a pipeline over a stream of records, in order, bad records kept aside.

``process_records`` is the iterator API for apps that feed their own data: records
in, one ``RecordResult`` out per record, in input order. ``process_file`` runs a
whole file (JSONL, text, CSV, Parquet; gzip accepted) into a JSONL or Parquet
output, with an errors file, a checkpoint to resume from, a progress bar and a
summary; ``nlp-tasks process`` is its command line.

Memory stays flat: records stream from the input, are grouped into chunks of at
most ``batch_size`` documents and ``batch_words`` words, and each chunk's outputs
are written before more input is read (with worker processes, a few chunks are in
flight at once). The transformer's activations (``doc._.trf_data``) are freed as
soon as the heads have read them.
"""

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Errors, OptionError, ProcessError
from .fingerprint import (
    PipelineFingerprint,
    pipeline_directory,
    pipeline_files,
    pipeline_fingerprint,
)
from .inputs import (
    DEFAULT_MAX_CHARS,
    InputError,
    InputRecord,
    RecordFields,
    check_input,
    count_records,
    read_records,
    records_from_python,
)

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

#: Most words (whitespace-separated) in one batch, unless told otherwise: bounds the
#: activations held at once whatever the documents' lengths.
DEFAULT_BATCH_WORDS = 16_384
DEFAULT_BATCH_SIZE = 64
ENGINES = ("local", "ray")
#: Bad records and blank lines gathered in one chunk at most, when no document ends it.
_MAX_CHUNK_ITEMS = 4096
#: 2: the pipeline's digest and the settings that change bytes are recorded.
_CHECKPOINT_VERSION = 2


@dataclass
class RecordResult:
    """What became of one input record.

    line (int): The record's line (or row) in the input, from 1.
    id (Any): The record's id, if it has one.
    has_id (bool): Whether the record has an id field.
    output (dict[str, Any] | None): Each head's output (component name to its task's
        ``to_json``), for a processed record.
    error (str | None): Why the record failed (a coded message), for a failed one.
    code (str | None): The error's code, e.g. "E042".
    skipped (bool): A blank line: nothing to process.
    text (str | None): The text, when asked for (``include_text``).
    doc (Doc | None): The processed Doc, when asked for (``return_docs``).
    """

    line: int
    id: Any = None
    has_id: bool = False
    output: dict[str, Any] | None = None
    error: str | None = None
    code: str | None = None
    skipped: bool = False
    text: str | None = None
    doc: "Doc | None" = None

    @property
    def ok(self) -> bool:
        """Whether the record was processed."""
        return self.output is not None

    def to_json(self) -> dict[str, Any]:
        """The output record: line, id (if any), text (if kept), then each head's output.

        RETURNS (dict[str, Any]): JSON-serializable data.
        """
        record: dict[str, Any] = {"line": self.line}
        if self.has_id:
            record["id"] = self.id
        if self.text is not None:
            record["text"] = self.text
        record.update(self.output or {})
        return record

    def error_json(self, source: str) -> dict[str, Any]:
        """The errors-file record of a failed record.

        source (str): The input it came from.
        RETURNS (dict[str, Any]): Line, id (if known), code, message and input.
        """
        record: dict[str, Any] = {"line": self.line}
        if self.has_id:
            record["id"] = self.id
        record.update({"code": self.code, "error": self.error, "input": source})
        return record


class RecordProcessor:
    """Runs a pipeline over one chunk of records and reads each head's output.

    Used alike in the calling process, in worker processes and in Ray actors.
    If the pipeline raises on a chunk, its records are retried one at a time, so
    only the record that fails is reported as failed (code E047).

    nlp (Language): The pipeline.
    include_text (bool): Copy each text into its result.
    return_docs (bool): Keep each processed Doc in its result.
    keep_trf_data (bool): Keep ``doc._.trf_data`` on returned Docs; by default it is
        freed once the heads have read it.
    """

    def __init__(
        self,
        nlp: "Language",
        *,
        include_text: bool = False,
        return_docs: bool = False,
        keep_trf_data: bool = False,
    ) -> None:
        from spacy.tokens import Doc

        from ..inference import pipeline_tasks

        if not Doc.has_extension("questions"):
            Doc.set_extension("questions", default=None)
        self.nlp = nlp
        self.tasks = pipeline_tasks(nlp)
        self.include_text = include_text
        self.return_docs = return_docs
        self.keep_trf_data = keep_trf_data
        self._free = Doc.has_extension("trf_data") and not keep_trf_data

    def __call__(self, chunk: list[InputRecord]) -> list[RecordResult]:
        """Process the good records of a chunk.

        chunk (list[InputRecord]): Records in input order, bad ones included.
        RETURNS (list[RecordResult]): One result per record, in the same order.
        """
        good = [record for record in chunk if record.ok]
        done = iter(self._run(good))
        results = []
        for record in chunk:
            if record.ok:
                results.append(next(done))
            else:
                results.append(
                    RecordResult(
                        line=record.line,
                        id=record.id,
                        has_id=record.has_id,
                        error=record.error,
                        code=record.code,
                        skipped=record.skipped,
                    )
                )
        return results

    def _run(self, records: list[InputRecord]) -> list[RecordResult]:
        if not records:
            return []
        try:
            docs = self.nlp.pipe(self._docs(records), batch_size=len(records))
            return [self._result(record, doc) for record, doc in zip(records, docs)]
        except Exception as error:
            if len(records) == 1:
                record = records[0]
                message = Errors.E047.format(
                    path="<pipeline>", line=record.line, error=f"{type(error).__name__}: {error}"
                )
                return [
                    RecordResult(
                        line=record.line,
                        id=record.id,
                        has_id=record.has_id,
                        error=message,
                        code="E047",
                    )
                ]
        return [result for record in records for result in self._run([record])]

    def _docs(self, records: list[InputRecord]) -> Iterator["Doc"]:
        for record in records:
            doc = self.nlp.make_doc(record.text)
            doc._.questions = record.questions
            yield doc

    def _result(self, record: InputRecord, doc: "Doc") -> RecordResult:
        output = {name: task.to_json(doc) for name, task in self.tasks.items()}
        if self._free:
            doc._.trf_data = None
        return RecordResult(
            line=record.line,
            id=record.id,
            has_id=record.has_id,
            output=output,
            text=record.text if self.include_text else None,
            doc=doc if self.return_docs else None,
        )


def chunk_records(
    records: Iterable[InputRecord], *, batch_size: int, batch_words: int
) -> Iterator[list[InputRecord]]:
    """Group records into chunks of at most ``batch_size`` docs and ``batch_words`` words.

    Words are counted by whitespace, a cheap stand-in for tokens. A document
    longer than ``batch_words`` gets a chunk of its own. Bad records and blank
    lines ride along in the chunk they fall in. The grouping depends only on the
    records from the start of a chunk on, so a run resumed at a chunk boundary
    batches exactly like an uninterrupted run, and gives the same bytes.

    records (Iterable[InputRecord]): Records in input order.
    batch_size (int): Most documents per chunk.
    batch_words (int): Most words per chunk; 0 for no limit.
    YIELDS (list[InputRecord]): The chunks, in order.
    """
    chunk: list[InputRecord] = []
    try:
        yield from _fill_chunks(records, chunk, batch_size, batch_words)
    except InputError:
        # The input broke off (a truncated gzip, say): the records read before the
        # break are processed and checkpointed before the error stops the run.
        if chunk:
            yield chunk[:]
        raise


def _fill_chunks(
    records: Iterable[InputRecord], chunk: list[InputRecord], batch_size: int, batch_words: int
) -> Iterator[list[InputRecord]]:
    # Fills ``chunk`` in place, so the caller still holds the unfinished chunk
    # when reading the input fails.
    docs = words = 0
    for record in records:
        full = False
        if record.ok:
            size = len(record.text.split()) if batch_words else 0
            full = bool(docs and batch_words and words + size > batch_words)
        else:
            full = len(chunk) >= _MAX_CHUNK_ITEMS
        if full:
            yield chunk[:]
            chunk.clear()
            docs = words = 0
        if record.ok:
            docs += 1
            words += size
        chunk.append(record)
        if docs >= batch_size:
            yield chunk[:]
            chunk.clear()
            docs = words = 0
    if chunk:
        yield chunk[:]
        chunk.clear()


@dataclass
class ProcessOptions:
    """How to run a pipeline over records; see ``process_records`` for each setting."""

    batch_size: int = DEFAULT_BATCH_SIZE
    batch_words: int = DEFAULT_BATCH_WORDS
    n_process: int = 1
    gpu_id: int = -1
    threads: int = 0
    include_text: bool = False
    return_docs: bool = False
    keep_trf_data: bool = False
    engine: str = "local"
    ray_address: str | None = None
    ray_init: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raise an ``OptionError`` (a ValueError) for a setting out of range."""
        rules = [
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("batch_words", self.batch_words >= 0, "0 (no limit) or more"),
            ("n_process", self.n_process >= 1, "at least 1"),
            ("threads", self.threads >= 0, "0 (automatic) or more"),
            ("engine", self.engine in ENGINES, f"one of {', '.join(ENGINES)}"),
        ]
        for name, ok, rule in rules:
            if not ok:
                raise OptionError(
                    Errors.E057.format(name=name, rule=rule, value=getattr(self, name))
                )
        if self.return_docs and (self.n_process > 1 or self.engine != "local"):
            raise OptionError(Errors.E058)

    def processor_options(self) -> dict[str, Any]:
        """The settings a ``RecordProcessor`` takes.

        RETURNS (dict[str, Any]): Keyword arguments.
        """
        return {
            "include_text": self.include_text,
            "return_docs": self.return_docs,
            "keep_trf_data": self.keep_trf_data,
        }


def process_records(
    pipeline: "Language | str | Path",
    records: Iterable[str | Mapping[str, Any]],
    *,
    text_field: str = "text",
    id_field: str = "id",
    questions_field: str = "questions",
    max_chars: int = DEFAULT_MAX_CHARS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    batch_words: int = DEFAULT_BATCH_WORDS,
    n_process: int = 1,
    gpu_id: int = -1,
    threads: int = 0,
    include_text: bool = False,
    return_docs: bool = False,
    keep_trf_data: bool = False,
) -> Iterator[RecordResult]:
    """Run a pipeline over records and yield each one's outputs, in input order.

    Records stream: the input is read as the results are consumed. A bad record
    (no text, text not a string, text too long, a failure inside the pipeline)
    gives a result with ``error`` and ``code`` set, and the stream goes on.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or package
        name (with ``n_process`` > 1 each worker loads it once).
    records (Iterable[str | Mapping[str, Any]]): Texts, or dicts with a text field
        and optionally an id and a list of questions.
    text_field (str): The field holding the text.
    id_field (str): The field holding the id, copied to the result when present.
    questions_field (str): The field holding questions to ask of the text; a head
        that answers questions reads them from ``doc._.questions``.
    max_chars (int): Longest text in characters; a longer one fails. 0: no limit.
    batch_size (int): Most documents per batch.
    batch_words (int): Most words per batch, so long documents make smaller
        batches; 0: no limit.
    n_process (int): Worker processes, each loading the pipeline once.
    gpu_id (int): GPU to run on; -1 for CPU.
    threads (int): PyTorch threads per process; 0: the CPU cores shared out.
    include_text (bool): Copy each text into its result.
    return_docs (bool): Keep each processed Doc in ``RecordResult.doc`` (n_process=1).
    keep_trf_data (bool): Keep ``doc._.trf_data`` on returned Docs.
    YIELDS (RecordResult): One per record, in input order.
    """
    options = ProcessOptions(
        batch_size=batch_size,
        batch_words=batch_words,
        n_process=n_process,
        gpu_id=gpu_id,
        threads=threads,
        include_text=include_text,
        return_docs=return_docs,
        keep_trf_data=keep_trf_data,
    )
    options.check()
    fields = RecordFields(
        text=text_field, id=id_field, questions=questions_field, max_chars=max_chars
    )
    checked = records_from_python(records, fields=fields)
    chunks = chunk_records(checked, batch_size=batch_size, batch_words=batch_words)
    for results in run_chunks(pipeline, chunks, options):
        yield from results


def run_chunks(
    pipeline: "Language | str | Path",
    chunks: Iterable[list[InputRecord]],
    options: ProcessOptions,
) -> Iterator[list[RecordResult]]:
    """Process chunks of records in this process or in worker processes, keeping order.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or package name.
    chunks (Iterable[list[InputRecord]]): Chunks from ``chunk_records``.
    options (ProcessOptions): How to run.
    YIELDS (list[RecordResult]): Each chunk's results, in order.
    """
    if options.n_process == 1:
        processor = RecordProcessor(_load(pipeline, options), **options.processor_options())
        for chunk in chunks:
            yield processor(chunk)
        return
    with _saved_pipeline(pipeline) as path:
        yield from _run_pool(path, chunks, options)


def _load(pipeline: "Language | str | Path", options: ProcessOptions) -> "Language":
    from spacy.language import Language

    if isinstance(pipeline, Language):
        return pipeline
    _setup_torch(options.gpu_id, options.threads)
    from ..inference import load

    return load(pipeline)


def _setup_torch(gpu_id: int, threads: int) -> None:
    if gpu_id >= 0:
        import spacy

        spacy.require_gpu(gpu_id)
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def cpu_count() -> int:
    """CPU cores this process may use.

    RETURNS (int): The count.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class _saved_pipeline:
    """A pipeline's path for worker processes; a loaded pipeline is saved to a temp dir."""

    def __init__(self, pipeline: "Language | str | Path") -> None:
        self.pipeline = pipeline
        self._tmp: Any = None

    def __enter__(self) -> str:
        from spacy.language import Language

        if not isinstance(self.pipeline, Language):
            _check_pipeline_exists(self.pipeline)
            return str(self.pipeline)
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="nlp-tasks-pipeline-")
        self.pipeline.to_disk(self._tmp.name)
        return self._tmp.name

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _check_pipeline_exists(name: str | Path) -> None:
    # Workers load the pipeline; catch a wrong name here, with the usual message,
    # rather than as a broken worker pool.
    from spacy.util import get_installed_models

    from ..inference import PipelineNotFoundError

    if not Path(name).exists() and str(name) not in get_installed_models():
        raise PipelineNotFoundError(Errors.E006.format(name=name))


# Worker processes ----------------------------------------------------------------

_worker_processor: RecordProcessor | None = None


def _worker_init(
    pipeline: str, gpu_id: int, threads: int, options: dict[str, Any], parent: int
) -> None:
    import threading

    def exit_with_parent() -> None:
        # A parent killed by a signal cannot stop its workers; they notice and go.
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    _setup_torch(gpu_id, threads)
    from ..inference import load

    global _worker_processor
    _worker_processor = RecordProcessor(load(pipeline), **options)


def _worker_run(chunk: list[InputRecord]) -> list[RecordResult]:
    assert _worker_processor is not None
    return _worker_processor(chunk)


def _run_pool(
    pipeline: str, chunks: Iterable[list[InputRecord]], options: ProcessOptions
) -> Iterator[list[RecordResult]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    threads = options.threads or max(1, cpu_count() // options.n_process)
    # spawn, not fork: a forked copy of a process that has run PyTorch can deadlock,
    # and each worker loading the pipeline itself works the same on every platform.
    executor = ProcessPoolExecutor(
        max_workers=options.n_process,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(pipeline, options.gpu_id, threads, options.processor_options(), os.getpid()),
    )
    pending: deque = deque()
    try:
        try:
            for chunk in chunks:
                pending.append((chunk, executor.submit(_worker_run, chunk)))
                # Two chunks a worker in flight keeps every worker busy and memory bounded.
                if len(pending) >= 2 * options.n_process:
                    yield _result_of(*pending.popleft(), BrokenProcessPool)
        except InputError:
            # The input broke off: finish the chunks in flight, so every record read
            # before the break is written and checkpointed, then stop.
            while pending:
                yield _result_of(*pending.popleft(), BrokenProcessPool)
            raise
        while pending:
            yield _result_of(*pending.popleft(), BrokenProcessPool)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _result_of(chunk: list[InputRecord], future: Any, broken: type) -> list[RecordResult]:
    try:
        return future.result()
    except broken as error:
        raise ProcessError(
            Errors.E056.format(error=error, first=chunk[0].line, last=chunk[-1].line)
        ) from None


# Files ---------------------------------------------------------------------------


@dataclass
class Summary:
    """The counts of a file run, over all its runs when it was resumed.

    processed (int): Records processed.
    failed (int): Records that failed, each in the errors file.
    skipped (int): Blank lines.
    resumed_after (int): Input line (row) an earlier run had finished; 0 for a fresh run.
    seconds (float): Wall time of this run.
    processed_now (int): Records processed by this run.
    output (str): The output file.
    errors (str): The errors file (written only if a record failed).
    complete (bool): Whether the whole input is done.
    already_complete (bool): Whether an earlier run had already completed the job.
    """

    processed: int = 0
    failed: int = 0
    skipped: int = 0
    resumed_after: int = 0
    seconds: float = 0.0
    processed_now: int = 0
    output: str = ""
    errors: str = ""
    complete: bool = False
    already_complete: bool = False

    @property
    def docs_per_second(self) -> float:
        """Records processed per second by this run.

        RETURNS (float): The rate.
        """
        return self.processed_now / self.seconds if self.seconds else 0.0


def default_errors_path(output: str | Path) -> Path:
    """Where the errors of a run go unless told: ``<output stem>.errors.jsonl``.

    output (str | Path): The output file.
    RETURNS (Path): The errors file.
    """
    output = Path(output)
    return output.with_name(f"{output.stem}.errors.jsonl")


def checkpoint_path(output: str | Path) -> Path:
    """The checkpoint file of an output: ``<output>.checkpoint.json``.

    output (str | Path): The output file.
    RETURNS (Path): The checkpoint file.
    """
    output = Path(output)
    return output.with_name(f"{output.name}.checkpoint.json")


def process_file(
    pipeline: "Language | str | Path",
    input_path: str | Path,
    output_path: str | Path,
    *,
    errors_path: str | Path | None = None,
    input_format: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    questions_field: str = "questions",
    max_chars: int = DEFAULT_MAX_CHARS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    batch_words: int = DEFAULT_BATCH_WORDS,
    n_process: int = 1,
    gpu_id: int = -1,
    threads: int = 0,
    include_text: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
    ray_init: dict[str, Any] | None = None,
    overwrite: bool = False,
    checkpoint_seconds: float = 10.0,
    parquet_part_rows: int = 10_000,
    progress: bool | None = None,
    on_chunk: Callable[[Summary], None] | None = None,
) -> Summary:
    """Run a pipeline over a file into a JSONL or Parquet output, resumably.

    One output record per processed input record, in input order: its ``line``,
    its ``id`` (when it has one), then each head's output under its component
    name. A bad record goes to the errors file instead (line, id, code, reason).

    The run keeps a checkpoint next to the output; run the same call again after
    a crash, a kill or a full disk and it goes on where the checkpoint says, with
    output byte-identical to an uninterrupted run's. The checkpoint records what
    the output depends on (the input, the fields, a digest of the pipeline's files
    or weights, the batch size and words, CPU or GPU), and a rerun that changes
    any of them is refused rather than mixing two kinds of output. A lock on
    ``<output>.lock`` (and ``<errors>.lock``) keeps a second run off the same
    files; the system drops it when the run ends, however it ends. The output's
    folders are created if missing.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or package name.
    input_path (str | Path): JSONL, text (one document per line), CSV/TSV or Parquet;
        gzip accepted for all but Parquet.
    output_path (str | Path): A .jsonl or .parquet file.
    errors_path (str | Path | None): The errors file; default ``<output stem>.errors.jsonl``.
    input_format (str | None): "jsonl", "txt", "csv" or "parquet"; default from the name.
    text_field (str): The field (column) holding the text.
    id_field (str): The field holding the id, copied to the output when present.
    questions_field (str): The field holding questions to ask of the text.
    max_chars (int): Longest text in characters; a longer one fails. 0: no limit.
    batch_size (int): Most documents per batch.
    batch_words (int): Most words per batch; 0: no limit.
    n_process (int): Worker processes (local engine) or Ray actors (Ray engine).
    gpu_id (int): GPU to run on; -1 for CPU. With Ray, each actor gets one GPU.
    threads (int): PyTorch threads per process or actor; 0: the CPU cores shared out.
    include_text (bool): Copy each text into its output record.
    engine (str): "local", or "ray" for Ray Data (needs the ``ray`` extra).
    ray_address (str | None): Ray cluster to connect to; None starts a local Ray.
    ray_init (dict[str, Any] | None): More ``ray.init`` arguments (e.g. ``num_cpus``).
    overwrite (bool): Start again, replacing an earlier output, errors file and checkpoint.
    checkpoint_seconds (float): Seconds between checkpoints (0: after every batch).
    parquet_part_rows (int): Rows per part of a Parquet output (at least): a part is
        written, and checkpointed, once that many rows are in; the merged file has
        a row group per part.
    progress (bool | None): Show a progress bar; None: only on a terminal.
    on_chunk (Callable[[Summary], None] | None): Called with the running counts after
        each batch is written.
    RETURNS (Summary): The counts, over all runs of this job.
    """
    from spacy.language import Language

    from .outputs import Checkpoint, JobLock, WriteError, output_format, writing

    options = ProcessOptions(
        batch_size=batch_size,
        batch_words=batch_words,
        n_process=n_process,
        gpu_id=gpu_id,
        threads=threads,
        include_text=include_text,
        engine=engine,
        ray_address=ray_address,
        ray_init=dict(ray_init or {}),
    )
    options.check()
    input_path, output_path = Path(input_path), Path(output_path)
    fmt = check_input(input_path, input_format, field=text_field)
    out_fmt = output_format(output_path)
    if not isinstance(pipeline, Language):
        _check_pipeline_exists(pipeline)
    errors_file = Path(errors_path) if errors_path else default_errors_path(output_path)
    fields = RecordFields(
        text=text_field, id=id_field, questions=questions_field, max_chars=max_chars
    )
    for path, name in ((output_path, "the output"), (errors_file, "the errors file")):
        if path.resolve() == input_path.resolve():
            raise OptionError(
                Errors.E057.format(name=name, rule="another file than the input", value=str(path))
            )
    files = _JobFiles(output_path, errors_file)
    pipeline_dir = pipeline_directory(pipeline)
    pipeline_parts = pipeline_files(pipeline_dir) if pipeline_dir is not None else []
    files.check(input_path, pipeline_dir, pipeline_parts)
    fingerprint = pipeline_fingerprint(pipeline, pipeline_parts)
    job = _job(pipeline, input_path, fmt, fields, include_text, out_fmt, fingerprint)
    checkpoint = Checkpoint(files.checkpoint)
    try:
        # Output folders are created, as spaCy's commands do for theirs.
        for folder in dict.fromkeys((output_path.parent, errors_file.parent)):
            with writing(folder):
                folder.mkdir(parents=True, exist_ok=True)
        with JobLock([output_path, errors_file]):
            return _run_job(
                pipeline,
                input_path,
                fmt,
                fields,
                options,
                files,
                checkpoint,
                job,
                fingerprint,
                overwrite=overwrite,
                checkpoint_seconds=checkpoint_seconds,
                parquet_part_rows=parquet_part_rows,
                progress=progress,
                on_chunk=on_chunk,
            )
    except WriteError as error:
        raise _write_failed(error, checkpoint, output_path) from None


def _run_job(
    pipeline: "Language | str | Path",
    input_path: Path,
    fmt: str,
    fields: RecordFields,
    options: ProcessOptions,
    files: "_JobFiles",
    checkpoint: Any,
    job: dict[str, Any],
    fingerprint: PipelineFingerprint,
    *,
    overwrite: bool,
    checkpoint_seconds: float,
    parquet_part_rows: int,
    progress: bool | None,
    on_chunk: Callable[[Summary], None] | None,
) -> Summary:
    # Runs with the job's locks held: nothing above touched a file of the job.
    from .outputs import (
        AppendFile,
        OutputError,
        json_line,
        open_output,
        remove_outputs,
    )

    output_path, errors_file, parts_dir = files.output, files.errors, files.parts_dir
    settings = _settings(options)
    summary = Summary(output=str(output_path), errors=str(errors_file))
    if overwrite:
        remove_outputs(output_path, errors_file, parts_dir, checkpoint.path)
    try:
        state = checkpoint.load()
    except ValueError as error:
        raise OutputError(
            Errors.E053.format(
                output=output_path,
                checkpoint=checkpoint.path,
                problem=f"the checkpoint cannot be read: {error}",
            )
        ) from None
    if state is not None:
        _check_job(state, job, fingerprint, checkpoint.path)
        _restore(summary, state)
        if state["complete"]:
            if not output_path.exists():
                raise OutputError(
                    Errors.E053.format(
                        output=output_path, checkpoint=checkpoint.path, problem="it is missing"
                    )
                )
            # A run stopped after its last checkpoint but before tidying up.
            remove_outputs(parts_dir)
            summary.already_complete = True
            return summary
        _check_settings(state, settings, checkpoint.path)
    else:
        for existing in (output_path, parts_dir):
            if existing.exists():
                raise ProcessError(Errors.E051.format(output=existing, checkpoint=checkpoint.path))
        if errors_file.exists():
            # Another job's, most likely: never delete it unasked.
            raise ProcessError(Errors.E090.format(errors=errors_file, output=output_path))
        state = _new_state(job, fingerprint, settings)
        checkpoint.save(state)

    summary.resumed_after = state["done"]
    output = open_output(
        output_path,
        files.out_fmt,
        state["output"],
        checkpoint=checkpoint.path,
        part_rows=parquet_part_rows,
    )
    errors = AppendFile(errors_file, state["errors_bytes"], checkpoint=checkpoint.path)
    bar = None
    source = str(input_path)
    start = last_commit = time.monotonic()
    done = state["done"]
    # False while a chunk is half written: a checkpoint then would count its first
    # records as done and its last ones not, and a rerun would lose or repeat some.
    at_boundary = True

    def commit(final: bool = False) -> None:
        nonlocal last_commit
        state["output"] = output.commit(final=final)
        state["errors_bytes"] = errors.sync()
        state.update(processed=summary.processed, failed=summary.failed, skipped=summary.skipped)
        state["done"] = done
        checkpoint.save(state)
        last_commit = time.monotonic()

    try:
        for results in _engine_results(pipeline, input_path, fmt, fields, state["done"], options):
            at_boundary = False
            records_out = [result.to_json() for result in results if result.ok]
            output.write(records_out, results[0].line, results[-1].line)
            errors.write(json_line(result.error_json(source)) for result in results if result.error)
            for result in results:
                if result.ok:
                    summary.processed += 1
                    summary.processed_now += 1
                elif result.error:
                    summary.failed += 1
                else:
                    summary.skipped += 1
            done = results[-1].line
            at_boundary = True
            if bar is None:
                # Started with the first results, so loading the pipeline (seconds)
                # does not distort the rate and the ETA.
                bar = _progress_bar(input_path, fmt, summary.resumed_after, progress)
            if bar is not None:
                bar.update(done - bar.n)
            due = time.monotonic() - last_commit >= checkpoint_seconds
            if output.due or (due and output.pending == 0):
                commit()
            if on_chunk is not None:
                on_chunk(summary)
        commit(final=True)
        output.finish()
        state["complete"] = summary.complete = True
    except BaseException:
        # Ctrl-C or an error: keep what was written up to the last whole chunk.
        if at_boundary and output.pending == 0:
            try:
                commit()
            except Exception:
                pass
        raise
    finally:
        errors.close()
        if bar is not None:
            bar.close()
        summary.seconds = time.monotonic() - start
    state["summary"] = asdict(summary)
    checkpoint.save(state)
    output.cleanup()
    return summary


class _JobFiles:
    """Every file and folder a file run writes or removes, and the checks on them.

    output (Path): The output file.
    errors (Path): The errors file.
    """

    def __init__(self, output: Path, errors: Path) -> None:
        from .outputs import lock_path, output_format, temp_path

        self.output = output
        self.errors = errors
        self.out_fmt = output_format(output)
        self.checkpoint = checkpoint_path(output)
        self.parts_dir = output.with_name(output.name + ".parts")
        self.written = {
            "output": output,
            "errors file": errors,
            "checkpoint": self.checkpoint,
            "checkpoint's temporary file": temp_path(self.checkpoint),
            "output's temporary file": temp_path(output),
            "output's lock file": lock_path(output),
            "errors file's lock file": lock_path(errors),
        }
        self.removed_dirs = {"Parquet parts folder": self.parts_dir}

    def check(
        self, input_path: Path, pipeline_dir: Path | None, pipeline_parts: list[Path]
    ) -> None:
        """Refuse a run that would write over, or remove, its input or its pipeline.

        Compared by resolved path (symbolic links) and by file identity (hard links).

        input_path (Path): The input file.
        pipeline_dir (Path | None): The pipeline's directory, if it has one.
        pipeline_parts (list[Path]): The files and folders of it that loading reads.
        """
        protected = [(input_path, "the input", "the input")]
        if pipeline_dir is not None:
            lost = f"the pipeline '{pipeline_dir}'"
            protected += [(part, f"part of {lost}", lost) for part in pipeline_parts]
        for role, path in self.written.items():
            for target, what, lost in protected:
                if _same_path(path, target):
                    self._refuse(role, path, _naming(path, target, what), lost)
                if target.is_dir() and _inside(path, target):
                    self._refuse(role, path, f"inside {what} ({target})", lost)
        if pipeline_dir is not None:
            protected.append((pipeline_dir, lost, lost))
        for role, folder in self.removed_dirs.items():
            for target, what, lost in protected:
                if _same_path(folder, target) or _inside(target, folder):
                    self._refuse(role, folder, f"a folder holding {what} ({target})", lost)
        # The errors file must not be one of the output's own files either.
        own = {role: p for role, p in self.written.items() if not role.startswith("errors")}
        for role, path in own.items():
            if _same_path(self.errors, path):
                self._refuse("errors file", self.errors, f"also the {role}", "records")
        if _inside(self.errors, self.parts_dir):
            self._refuse("errors file", self.errors, "in the Parquet parts folder", "records")

    @staticmethod
    def _refuse(role: str, path: Path, what: str, lost: str) -> None:
        raise OptionError(Errors.E088.format(role=role, path=path, what=what, lost=lost))


def _naming(path: Path, target: Path, what: str) -> str:
    if path.absolute() == target.absolute():
        return f"{what} file" if what == "the input" else what
    if path.resolve() == target.resolve():
        return f"a link to {what} '{target}'"
    return f"{what} '{target}' under another name (a hard link)"


def _same_path(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        # Another name for the same file: a hard link, or a case-insensitive spelling.
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    return folder.resolve() in path.resolve().parents


def _write_failed(error: Any, checkpoint: Any, output: Path) -> Exception:
    from .outputs import OutputError

    try:
        state = checkpoint.load()
    except (OSError, ValueError):
        state = None
    done = (state or {}).get("done", 0)
    if done:
        progress = (
            f"The records up to input line {done} are safe in '{output}' and its checkpoint "
            f"{checkpoint.path}."
        )
        rerun = "it resumes there, and the output comes out the same, byte for byte, as an "
        rerun += "uninterrupted run's."
    else:
        progress = "No record was written yet."
        rerun = "it starts the job."
    message = Errors.E087.format(path=error.path, error=error.error, progress=progress, rerun=rerun)
    return OutputError(message)


def _engine_results(
    pipeline: "Language | str | Path",
    input_path: Path,
    fmt: str,
    fields: RecordFields,
    start_after: int,
    options: ProcessOptions,
) -> Iterator[list[RecordResult]]:
    if options.engine == "ray":
        try:
            from .ray_engine import ray_results
        except ImportError as error:
            if (error.name or "").split(".")[0] in ("ray", "pyarrow"):
                raise ProcessError(Errors.E055) from None
            raise
        with _saved_pipeline(pipeline) as path:
            yield from ray_results(path, input_path, fmt, fields, start_after, options)
        return
    records = read_records(input_path, input_format=fmt, fields=fields, start_after=start_after)
    chunks = chunk_records(records, batch_size=options.batch_size, batch_words=options.batch_words)
    yield from run_chunks(pipeline, chunks, options)


def _job(
    pipeline: "Language | str | Path",
    input_path: Path,
    fmt: str,
    fields: RecordFields,
    include_text: bool,
    out_fmt: str,
    fingerprint: PipelineFingerprint,
) -> dict[str, Any]:
    # What the output's records depend on: a rerun that changes any of these is
    # another job. The settings that only change the last digits are _settings.
    from spacy.language import Language

    if isinstance(pipeline, Language):
        name = f"{pipeline.meta.get('lang')}_{pipeline.meta.get('name')}"
        pipeline_id = f"{name}-{pipeline.meta.get('version')}"
    elif Path(pipeline).exists():
        pipeline_id = str(Path(pipeline).resolve())
    else:
        pipeline_id = str(pipeline)
    stat = input_path.stat()
    return {
        "pipeline": pipeline_id,
        "pipeline digest": fingerprint.digest,
        "input": str(input_path.resolve()),
        "input size": stat.st_size,
        "input modified": stat.st_mtime_ns,
        "input format": fmt,
        "text field": fields.text,
        "id field": fields.id,
        "questions field": fields.questions,
        "max chars": fields.max_chars,
        "include text": include_text,
        "output format": out_fmt,
    }


def _settings(options: ProcessOptions) -> dict[str, Any]:
    # The settings that change the output's bytes: batches are padded to their
    # longest document, so another batching changes the floats' last digits, and
    # a GPU rounds otherwise than a CPU. Processes, threads and the engine gave
    # the same bytes (measured, CPU), so they may change between runs, to resume
    # with less memory, say.
    return {
        "batch size": options.batch_size,
        "batch words": options.batch_words,
        "device": "gpu" if options.gpu_id >= 0 else "cpu",
    }


#: How each setting of _settings is given on the command line, for the message.
_SETTING_OPTIONS = {
    "batch size": "--batch-size",
    "batch words": "--batch-words",
    "device": "--gpu-id",
}


def _new_state(
    job: dict[str, Any], fingerprint: PipelineFingerprint, settings: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": _CHECKPOINT_VERSION,
        "job": job,
        "settings": settings,
        "pipeline parts": fingerprint.parts,
        "done": 0,
        "output": {},
        "errors_bytes": 0,
        "processed": 0,
        "failed": 0,
        "skipped": 0,
        "complete": False,
    }


def _check_job(
    state: dict[str, Any],
    job: dict[str, Any],
    fingerprint: PipelineFingerprint,
    path: Path,
) -> None:
    from .outputs import OutputError

    if state.get("version") != _CHECKPOINT_VERSION:
        raise OutputError(
            Errors.E052.format(
                checkpoint=path,
                what="checkpoint version (an older nlp-tasks wrote it; it cannot be resumed)",
                old=state.get("version"),
                new=_CHECKPOINT_VERSION,
            )
        )
    for key, value in job.items():
        if key != "pipeline digest" and state["job"].get(key) != value:
            raise OutputError(
                Errors.E052.format(checkpoint=path, what=key, old=state["job"].get(key), new=value)
            )
    if state["job"].get("pipeline digest") != fingerprint.digest:
        changes = fingerprint.changes(state.get("pipeline parts") or {})
        raise OutputError(
            Errors.E086.format(pipeline=job["pipeline"], checkpoint=path, changes=changes)
        )


def _check_settings(state: dict[str, Any], settings: dict[str, Any], path: Path) -> None:
    from .outputs import OutputError

    for key, value in settings.items():
        old = state["settings"].get(key)
        if old != value:
            what = f"{key} ({_SETTING_OPTIONS[key]}, which changes the output's last digits)"
            raise OutputError(Errors.E052.format(checkpoint=path, what=what, old=old, new=value))


def _restore(summary: Summary, state: dict[str, Any]) -> None:
    summary.processed = state["processed"]
    summary.failed = state["failed"]
    summary.skipped = state["skipped"]
    summary.complete = state["complete"]
    summary.resumed_after = state["done"]


def _progress_bar(path: Path, fmt: str, done: int, progress: bool | None) -> Any:
    if progress is False:
        return None
    import threading

    from tqdm import tqdm

    # disable=None: shown on a terminal, silent in logs and pipes.
    bar = tqdm(
        initial=done,
        unit=" rec",
        desc=path.name,
        disable=None if progress is None else False,
        dynamic_ncols=True,
        smoothing=0.1,
    )
    if bar.disable:
        return bar

    def count() -> None:
        # Counting lines reads the whole file: in the background, so the run starts
        # at once and the bar gains its total (and an ETA) when the count is in.
        total = count_records(path, fmt)
        if total is not None:
            bar.total = total
            bar.refresh()

    threading.Thread(target=count, daemon=True).start()
    return bar
