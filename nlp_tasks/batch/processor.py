"""What both engines run: the record processor, the chunking of records, a worker's start.

``RecordProcessor`` runs a pipeline over one chunk of records, alike in the
calling process, in the local engine's worker processes and in the Ray engine's
actors; ``chunk_records`` cuts a stream of records into the chunks both engines
process, so a run batches the same whichever engine runs it.
"""

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Errors, InputError, PipelineNotFoundError
from ..task_inputs import build_doc
from .inputs import InputRecord

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

#: Bad records and blank lines gathered in one chunk at most, when no document ends it.
_MAX_CHUNK_ITEMS = 4096


@dataclass
class RecordResult:
    """What became of one input record.

    line (int): The record's line (or row) in the input, from 1.
    id (Any): The record's id, if it has one.
    has_id (bool): Whether the record has an id field.
    output (dict[str, Any] | None): Each head's output (component name to its task's
        ``to_json``), for a processed record.
    error (str | None): Why the record failed (a coded message), for a failed one.
    code (str | None): The error's code, e.g. "E050".
    skipped (bool): A blank line: nothing to process.
    texts (dict[str, str] | None): The record's texts by field (``text``, or the
        segments of a pair), when asked for (``include_text``).
    doc (Doc | None): The processed Doc, when asked for (``return_docs``).
    """

    line: int
    id: Any = None
    has_id: bool = False
    output: dict[str, Any] | None = None
    error: str | None = None
    code: str | None = None
    skipped: bool = False
    texts: dict[str, str] | None = None
    doc: "Doc | None" = None

    @property
    def ok(self) -> bool:
        """Whether the record was processed."""
        return self.output is not None

    def to_json(self) -> dict[str, Any]:
        """The output record: line, id (if any), texts (if kept), then each head's output.

        A head that did not run on the record's doc (a document head and a
        sentence pair, say) has no key.

        RETURNS (dict[str, Any]): JSON-serializable data.
        """
        record: dict[str, Any] = {"line": self.line}
        if self.has_id:
            record["id"] = self.id
        if self.texts is not None:
            record.update(self.texts)
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
    only the record that fails is reported as failed (code E055).

    nlp (Language): The pipeline.
    include_text (bool): Copy each text into its result.
    return_docs (bool): Keep each processed Doc in its result.
    keep_trf_data (bool): Keep ``doc._.trf_data`` on returned Docs; by default it is
        freed once the heads have read it.
    precision (str | None): Set the pipeline's precision first (``nlp_tasks.precision``);
        None keeps it as loaded.
    """

    def __init__(
        self,
        nlp: "Language",
        *,
        include_text: bool = False,
        return_docs: bool = False,
        keep_trf_data: bool = False,
        precision: str | None = None,
    ) -> None:
        from spacy.tokens import Doc

        from ..components.routing import route_docs
        from ..inference import doc_to_json, output_tasks
        from ..precision import set_precision

        if precision is not None:
            set_precision(nlp, precision)
        self.nlp = route_docs(nlp)
        self._outputs = doc_to_json
        self.tasks = output_tasks(nlp)
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
                message = Errors.E055.format(
                    path="<pipeline>", line=record.line, error=f"{type(error).__name__}: {error}"
                )
                return [
                    RecordResult(
                        line=record.line,
                        id=record.id,
                        has_id=record.has_id,
                        error=message,
                        code="E055",
                    )
                ]
        return [result for record in records for result in self._run([record])]

    def _docs(self, records: list[InputRecord]) -> Iterator["Doc"]:
        for record in records:
            yield build_doc(self.nlp, record.input.texts, record.input.extras)

    def _result(self, record: InputRecord, doc: "Doc") -> RecordResult:
        output = self._outputs(doc, self.tasks)
        if self._free:
            doc._.trf_data = None
        return RecordResult(
            line=record.line,
            id=record.id,
            has_id=record.has_id,
            output=output,
            texts=dict(record.input.texts) if self.include_text else None,
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
            size = record.input.words() if batch_words else 0
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


def setup_torch(gpu_id: int, threads: int) -> None:
    """Put this process on its device and set its PyTorch threads.

    gpu_id (int): GPU to run on; -1 for CPU.
    threads (int): PyTorch threads; 0 leaves PyTorch's own setting.
    """
    if gpu_id >= 0:
        import spacy

        spacy.require_gpu(gpu_id)
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def load_processor(
    pipeline: str, gpu_id: int, threads: int, options: dict[str, Any]
) -> RecordProcessor:
    """Start a worker process or an actor: its device and threads, then the pipeline.

    pipeline (str): The pipeline's directory or package name.
    gpu_id (int): GPU to run on; -1 for CPU.
    threads (int): PyTorch threads; 0 leaves PyTorch's own setting.
    options (dict[str, Any]): The ``RecordProcessor`` settings
        (``ProcessOptions.processor_options``).
    RETURNS (RecordProcessor): The processor, its pipeline loaded.
    """
    setup_torch(gpu_id, threads)
    from ..inference import load

    return RecordProcessor(load(pipeline), **options)


def cpu_count() -> int:
    """CPU cores this process may use.

    RETURNS (int): The count.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class saved_pipeline:
    """A pipeline's path for worker processes; a loaded pipeline is saved to a temp dir.

    Used as a context manager: ``with saved_pipeline(nlp) as path: ...``; the
    temporary directory, if one was made, goes at the end.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or package name.
    """

    def __init__(self, pipeline: "Language | str | Path") -> None:
        self.pipeline = pipeline
        self._tmp: Any = None

    def __enter__(self) -> str:
        from spacy.language import Language

        if not isinstance(self.pipeline, Language):
            check_pipeline_exists(self.pipeline)
            return str(self.pipeline)
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="nlp-tasks-pipeline-")
        self.pipeline.to_disk(self._tmp.name)
        return self._tmp.name

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def check_pipeline_exists(name: str | Path) -> None:
    """Raise ``PipelineNotFoundError`` (E008) for a pipeline that is neither a path
    nor an installed package.

    name (str | Path): The pipeline's directory or package name.
    """
    # Workers load the pipeline; catch a wrong name here, with the usual message,
    # rather than as a broken worker pool.
    from spacy.util import get_installed_models

    if not Path(name).exists() and str(name) not in get_installed_models():
        raise PipelineNotFoundError(Errors.E008.format(name=name))


def pipeline_exists(pipeline: "Language | str | Path") -> bool:
    """Whether a pipeline is loaded, or its path or package is there.

    pipeline (Language | str | Path): The pipeline.
    RETURNS (bool): True if its tasks can be read.
    """
    from spacy.language import Language

    if isinstance(pipeline, Language):
        return True
    try:
        check_pipeline_exists(pipeline)
    except PipelineNotFoundError:
        return False
    return True
