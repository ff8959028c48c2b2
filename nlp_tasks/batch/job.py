"""A file run: a pipeline over an input file into an output file, resumably.

``process_file`` is the public entry point; it gathers its settings into options
objects and runs a ``Job``. The ``Job`` owns what makes a run safe to stop and
rerun: its locks, its checkpoint (what it records is ``checkpoint.py``), the
check that a rerun is the same job on the same pipeline, the resume, and the
commit of the output, the errors file and the checkpoint at chunk boundaries.
Which engine processes the records (``local.py`` or ``ray_engine.py``) is one
of its options.
"""

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..doc_warnings import WARNINGS_FIELD
from ..errors import (
    Errors,
    OutputError,
    ProcessError,
    WriteError,
)
from .checkpoint import (
    check_job,
    check_settings,
    job_identity,
    new_state,
    output_settings,
    state_problem,
)
from .files import JobFiles, default_errors_path
from .fingerprint import pipeline_directory, pipeline_files, pipeline_fingerprint
from .inputs import RecordFields, check_input, count_records, read_records
from .local import run_chunks
from .options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BATCH_WORDS,
    DEFAULT_CHECKPOINT_SECONDS,
    DEFAULT_ENGINE,
    DEFAULT_FIELDS,
    DEFAULT_GPU_ID,
    DEFAULT_N_PROCESS,
    DEFAULT_PARQUET_PART_ROWS,
    DEFAULT_THREADS,
    JobOptions,
    ProcessOptions,
)
from .outputs import (
    AppendFile,
    Checkpoint,
    JobLock,
    json_line,
    open_output,
    remove_outputs,
    writing,
)
from .process import legacy_fields
from .processor import (
    RecordResult,
    check_pipeline_exists,
    chunk_records,
    saved_pipeline,
)

if TYPE_CHECKING:
    from spacy.language import Language


@dataclass
class Summary:
    """The counts of a file run, over all its runs when it was resumed.

    processed (int): Records processed.
    failed (int): Records that failed, each in the errors file.
    skipped (int): Blank lines.
    warned (int): Processed records whose output carries ``"warnings"``: a head
        did only part of its work on them (``nlp_tasks.doc_warnings``).
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
    warned: int = 0
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


def process_file(
    pipeline: "Language | str | Path",
    input_path: str | Path,
    output_path: str | Path,
    *,
    errors_path: str | Path | None = None,
    input_format: str | None = None,
    text_field: str = DEFAULT_FIELDS.text,
    id_field: str = DEFAULT_FIELDS.id,
    fields: Mapping[str, str] | None = None,
    questions_field: str | None = None,
    max_chars: int = DEFAULT_FIELDS.max_chars,
    batch_size: int = DEFAULT_BATCH_SIZE,
    batch_words: int = DEFAULT_BATCH_WORDS,
    n_process: int = DEFAULT_N_PROCESS,
    gpu_id: int = DEFAULT_GPU_ID,
    threads: int = DEFAULT_THREADS,
    include_text: bool = False,
    precision: str | None = None,
    engine: str = DEFAULT_ENGINE,
    ray_address: str | None = None,
    ray_init: dict[str, Any] | None = None,
    overwrite: bool = False,
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
    parquet_part_rows: int = DEFAULT_PARQUET_PART_ROWS,
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

    The settings are gathered into ``RecordFields``, ``ProcessOptions`` and
    ``JobOptions`` and a ``Job`` runs them; build a ``Job`` to pass those objects.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or package name.
    input_path (str | Path): JSONL, text (one document per line), CSV/TSV or Parquet;
        gzip accepted for all but Parquet.
    output_path (str | Path): A .jsonl or .parquet file.
    errors_path (str | Path | None): The errors file; default ``<output stem>.errors.jsonl``.
    input_format (str | None): "jsonl", "txt", "csv" or "parquet"; default from the name.
    text_field (str): The field (column) holding the text.
    id_field (str): The field holding the id, copied to the output when present.
    fields (Mapping[str, str] | None): Task field name to the input's field name,
        for the other fields the tasks read (``{"text_a": "left"}``); see
        ``Task.inputs``.
    questions_field (str | None): Deprecated: ``fields={"questions": NAME}``.
    max_chars (int): Longest text (all of a record's texts) in characters; a longer
        one fails. 0: no limit.
    batch_size (int): Most documents per batch.
    batch_words (int): Most words per batch; 0: no limit.
    n_process (int): Worker processes (local engine) or Ray actors (Ray engine).
    gpu_id (int): GPU to run on; -1 for CPU. With Ray, each actor gets one GPU.
    threads (int): PyTorch threads per process or actor; 0: the CPU cores shared out.
    include_text (bool): Copy each text into its output record.
    precision (str | None): fp32, bf16, int8 or auto: what the pipeline's PyTorch
        modules compute in (``nlp_tasks.precision``); None: as its config says. A
        resumed run must use the same. A loaded pipeline is changed in place.
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
    mapping = legacy_fields(pipeline, fields, questions_field)
    record_fields = RecordFields(text=text_field, id=id_field, fields=mapping, max_chars=max_chars)
    options = ProcessOptions(
        batch_size=batch_size,
        batch_words=batch_words,
        n_process=n_process,
        gpu_id=gpu_id,
        threads=threads,
        include_text=include_text,
        precision=precision,
        engine=engine,
        ray_address=ray_address,
        ray_init=dict(ray_init or {}),
    )
    job_options = JobOptions(
        overwrite=overwrite,
        checkpoint_seconds=checkpoint_seconds,
        parquet_part_rows=parquet_part_rows,
        progress=progress,
    )
    job = Job(
        pipeline,
        input_path,
        output_path,
        errors_path=errors_path,
        input_format=input_format,
        fields=record_fields,
        options=options,
        job_options=job_options,
    )
    return job.run(on_chunk)


class Job:
    """One file run: its files and locks, its checkpoint, its resume and its commits.

    Made, a job has checked what it can before touching a file: the settings, the
    input, the pipeline, and that no file it writes is its input or part of its
    pipeline. ``run`` (once per job) takes the locks, resumes from the checkpoint
    or starts one, and commits the output, the errors file and the checkpoint
    together, at chunk boundaries only.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or package name.
    input_path (str | Path): The input file; see ``process_file``.
    output_path (str | Path): A .jsonl or .parquet file.
    errors_path (str | Path | None): The errors file; default ``<output stem>.errors.jsonl``.
    input_format (str | None): "jsonl", "txt", "csv" or "parquet"; default from the name.
    fields (RecordFields): The fields to read, and the longest text.
    options (ProcessOptions | None): How to process the records; None: the defaults.
    job_options (JobOptions | None): How to keep the output; None: the defaults.
    """

    def __init__(
        self,
        pipeline: "Language | str | Path",
        input_path: str | Path,
        output_path: str | Path,
        *,
        errors_path: str | Path | None = None,
        input_format: str | None = None,
        fields: RecordFields = DEFAULT_FIELDS,
        options: ProcessOptions | None = None,
        job_options: JobOptions | None = None,
    ) -> None:
        from spacy.language import Language

        self.options = options if options is not None else ProcessOptions()
        self.options.check()
        self.job_options = job_options if job_options is not None else JobOptions()
        self.pipeline = pipeline
        if not isinstance(pipeline, Language):
            check_pipeline_exists(pipeline)
        from ..inference import check_component_names, task_inputs_of

        check_component_names(pipeline)  # in workers it would fail as a lost worker
        if not fields.inputs:
            fields = dataclasses.replace(fields, inputs=task_inputs_of(pipeline))
        fields.pipeline_inputs  # noqa: B018 - a --field no task reads fails here, early
        self.fields = fields
        self.input_path = Path(input_path)
        self.input_format = check_input(self.input_path, input_format, fields=fields)
        output_path = Path(output_path)
        errors = Path(errors_path) if errors_path else default_errors_path(output_path)
        self.files = JobFiles(output_path, errors)
        self.files.check_input(self.input_path)
        pipeline_dir = pipeline_directory(pipeline)
        pipeline_parts = pipeline_files(pipeline_dir) if pipeline_dir is not None else []
        self.files.check(self.input_path, pipeline_dir, pipeline_parts)
        if isinstance(pipeline, Language) and self.options.precision is not None:
            from ..precision import set_precision

            # Before the fingerprint: the run that resumes this one, given the same
            # pipeline object, finds it as this run left it.
            set_precision(pipeline, self.options.precision)
        self.fingerprint = pipeline_fingerprint(pipeline, pipeline_parts)
        self.identity = job_identity(
            pipeline,
            self.input_path,
            self.input_format,
            fields,
            self.options.include_text,
            self.files.out_fmt,
            self.fingerprint,
        )
        if self.options.precision is not None:
            # Only when given, so checkpoints written before the option still resume.
            self.identity["precision"] = self.options.precision
        self.checkpoint = Checkpoint(self.files.checkpoint)
        self.summary = Summary(output=str(output_path), errors=str(errors))
        self.state: dict[str, Any] = {}
        self._output: Any = None
        self._errors: Any = None
        self._done = 0
        self._last_commit = 0.0

    def run(self, on_chunk: Callable[[Summary], None] | None = None) -> Summary:
        """Run the job, or go on from where its checkpoint says. Once per ``Job``.

        on_chunk (Callable[[Summary], None] | None): Called with the running counts
            after each batch is written.
        RETURNS (Summary): The counts, over all runs of this job.
        """
        files = self.files
        try:
            # Output folders are created, as spaCy's commands do for theirs.
            for folder in dict.fromkeys((files.output.parent, files.errors.parent)):
                with writing(folder):
                    folder.mkdir(parents=True, exist_ok=True)
            with JobLock([files.output, files.errors]):
                if self._start():
                    self._process(on_chunk)
                return self.summary
        except WriteError as error:
            raise _write_failed(error, self.checkpoint, files.output) from None

    def _start(self) -> bool:
        # Runs with the job's locks held: nothing before it touched a file of the job.
        # False: an earlier run completed the job.
        files, checkpoint, summary = self.files, self.checkpoint, self.summary
        settings = output_settings(self.options)
        if self.job_options.overwrite:
            remove_outputs(files.output, files.errors, files.parts_dir, checkpoint.path)
        try:
            state = checkpoint.load()
            problem = None if state is None else state_problem(state)
            if problem is not None:
                raise ValueError(problem)
        except ValueError as error:
            raise OutputError(
                Errors.E071.format(
                    output=files.output,
                    checkpoint=checkpoint.path,
                    problem=f"the checkpoint cannot be read: {error}",
                )
            ) from None
        if state is not None:
            check_job(state, self.identity, self.fingerprint, checkpoint.path)
            self._restore(state)
            if state["complete"]:
                if not files.output.exists():
                    raise OutputError(
                        Errors.E071.format(
                            output=files.output, checkpoint=checkpoint.path, problem="it is missing"
                        )
                    )
                # A run stopped after its last checkpoint but before tidying up.
                remove_outputs(files.parts_dir)
                summary.already_complete = True
                return False
            check_settings(state, settings, checkpoint.path)
        else:
            for existing in (files.output, files.parts_dir):
                if existing.exists():
                    raise ProcessError(
                        Errors.E069.format(output=existing, checkpoint=checkpoint.path)
                    )
            if files.errors.exists():
                # Another job's, most likely: never delete it unasked.
                raise ProcessError(Errors.E079.format(errors=files.errors, output=files.output))
            state = new_state(self.identity, self.fingerprint, settings)
            checkpoint.save(state)
        self.state = state
        return True

    def _open(self) -> None:
        # The output and errors files, cut back to what the checkpoint says is written.
        files, state = self.files, self.state
        self._output = open_output(
            files.output,
            files.out_fmt,
            state["output"],
            checkpoint=self.checkpoint.path,
            part_rows=self.job_options.parquet_part_rows,
        )
        self._errors = AppendFile(
            files.errors, state["errors_bytes"], checkpoint=self.checkpoint.path
        )
        self._done = state["done"]

    def _process(self, on_chunk: Callable[[Summary], None] | None) -> None:
        summary, state = self.summary, self.state
        summary.resumed_after = state["done"]
        self._open()
        bar = None
        start = self._last_commit = time.monotonic()
        # False while a chunk is half written: a checkpoint then would count its first
        # records as done and its last ones not, and a rerun would lose or repeat some.
        at_boundary = True
        try:
            for results in self._results(state["done"]):
                at_boundary = False
                self._write(results)
                at_boundary = True
                if bar is None:
                    # Started with the first results, so loading the pipeline (seconds)
                    # does not distort the rate and the ETA.
                    bar = _progress_bar(
                        self.input_path,
                        self.input_format,
                        summary.resumed_after,
                        self.job_options.progress,
                    )
                if bar is not None:
                    bar.update(self._done - bar.n)
                self._commit_if_due()
                if on_chunk is not None:
                    on_chunk(summary)
            self._commit(final=True)
            self._output.finish()
            state["complete"] = summary.complete = True
        except BaseException:
            # Ctrl-C or an error: keep what was written up to the last whole chunk.
            if at_boundary and self._output.pending == 0:
                try:
                    self._commit()
                except Exception:
                    pass
            raise
        finally:
            self._errors.close()
            self._output.close()
            if bar is not None:
                bar.close()
            summary.seconds = time.monotonic() - start
        state["summary"] = asdict(summary)
        self.checkpoint.save(state)
        self._output.cleanup()

    def _write(self, results: list[RecordResult]) -> None:
        # One chunk's outputs, errors and counts.
        summary = self.summary
        source = str(self.input_path)
        records_out = [result.to_json() for result in results if result.ok]
        self._output.write(records_out, results[0].line, results[-1].line)
        self._errors.write(
            json_line(result.error_json(source)) for result in results if result.error
        )
        for result in results:
            if result.ok:
                summary.processed += 1
                summary.processed_now += 1
                summary.warned += WARNINGS_FIELD in (result.output or {})
            elif result.error:
                summary.failed += 1
            else:
                summary.skipped += 1
        self._done = results[-1].line

    def _commit_if_due(self) -> None:
        due = time.monotonic() - self._last_commit >= self.job_options.checkpoint_seconds
        if self._output.due or (due and self._output.pending == 0):
            self._commit()

    def _commit(self, final: bool = False) -> None:
        state, summary = self.state, self.summary
        state["output"] = self._output.commit(final=final)
        state["errors_bytes"] = self._errors.sync()
        state.update(processed=summary.processed, failed=summary.failed, skipped=summary.skipped)
        state["warned"] = summary.warned
        state["done"] = self._done
        self.checkpoint.save(state)
        self._last_commit = time.monotonic()

    def _results(self, start_after: int) -> Iterator[list[RecordResult]]:
        options = self.options
        if options.engine == "ray":
            try:
                from .ray_engine import ray_results
            except ImportError as error:
                if (error.name or "").split(".")[0] in ("ray", "pyarrow"):
                    raise ProcessError(Errors.E067) from None
                raise
            with saved_pipeline(self.pipeline) as path:
                yield from ray_results(
                    path, self.input_path, self.input_format, self.fields, start_after, options
                )
            return
        records = read_records(
            self.input_path,
            input_format=self.input_format,
            fields=self.fields,
            start_after=start_after,
        )
        chunks = chunk_records(
            records, batch_size=options.batch_size, batch_words=options.batch_words
        )
        yield from run_chunks(self.pipeline, chunks, options)

    def _restore(self, state: dict[str, Any]) -> None:
        summary = self.summary
        summary.processed = state["processed"]
        summary.failed = state["failed"]
        summary.skipped = state["skipped"]
        summary.warned = state.get("warned", 0)
        summary.complete = state["complete"]
        summary.resumed_after = state["done"]


def _write_failed(error: Any, checkpoint: Any, output: Path) -> Exception:

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
    message = Errors.E075.format(path=error.path, error=error.error, progress=progress, rerun=rerun)
    return OutputError(message)


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
