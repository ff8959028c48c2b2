"""Batch processing: a pipeline over a stream of records, in order, bad records kept aside.

``process_records`` is the iterator API for apps that feed their own data: records
in, one ``RecordResult`` out per record, in input order. ``process_file``
(``job.py``) runs a whole file (JSONL, text, CSV, Parquet; gzip accepted) into a
JSONL or Parquet output, with an errors file, a checkpoint to resume from, a
progress bar and a summary; ``nlp-tasks process`` is its command line.

Memory stays flat: records stream from the input, are grouped into chunks of at
most ``batch_size`` documents and ``batch_words`` words, and each chunk's outputs
are written before more input is read (with worker processes, a few chunks are in
flight at once). The transformer's activations (``doc._.trf_data``) are freed as
soon as the heads have read them.
"""

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Errors, OptionError
from .inputs import RecordFields, records_from_python
from .local import run_chunks
from .options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BATCH_WORDS,
    DEFAULT_FIELDS,
    DEFAULT_GPU_ID,
    DEFAULT_N_PROCESS,
    DEFAULT_THREADS,
    ProcessOptions,
)
from .processor import RecordResult, check_pipeline_exists, chunk_records, pipeline_exists

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["process_records"]


def process_records(
    pipeline: "Language | str | Path",
    records: Iterable[str | Mapping[str, Any]],
    *,
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
    return_docs: bool = False,
    keep_trf_data: bool = False,
    precision: str | None = None,
) -> Iterator[RecordResult]:
    """Run a pipeline over records and yield each one's outputs, in input order.

    Records stream: the input is read as the results are consumed. Each record
    becomes a doc as the pipeline's tasks declare (``Task.inputs``): a str or a
    ``text`` field for document tasks, ``text_a`` and ``text_b`` for a pair
    task; one stream may mix them, and each record gets the outputs of the
    tasks that accept it. A bad record (a field missing or of the wrong type,
    an empty side of a pair, text too long, a failure inside the pipeline)
    gives a result with ``error`` and ``code`` set, and the stream goes on.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or package
        name (with ``n_process`` > 1 each worker loads it once).
    records (Iterable[str | Mapping[str, Any]]): Texts, or dicts holding the fields
        the tasks read, and optionally an id.
    text_field (str): The field holding the text.
    id_field (str): The field holding the id, copied to the result when present.
    fields (Mapping[str, str] | None): Task field name to the records' field name,
        for the other fields the tasks read (``{"text_a": "left"}``).
    questions_field (str | None): Deprecated: ``fields={"questions": NAME}``.
    max_chars (int): Longest text (all of a record's texts) in characters; a longer
        one fails. 0: no limit.
    batch_size (int): Most documents per batch.
    batch_words (int): Most words per batch, so long documents make smaller
        batches; 0: no limit.
    n_process (int): Worker processes, each loading the pipeline once.
    gpu_id (int): GPU to run on; -1 for CPU.
    threads (int): PyTorch threads per process; 0: the CPU cores shared out.
    include_text (bool): Copy each text into its result.
    return_docs (bool): Keep each processed Doc in ``RecordResult.doc`` (n_process=1).
    keep_trf_data (bool): Keep ``doc._.trf_data`` on returned Docs.
    precision (str | None): fp32, bf16, int8 or auto: what the pipeline's PyTorch
        modules compute in (``nlp_tasks.precision``); None: as its config says. A
        loaded pipeline is changed in place.
    YIELDS (RecordResult): One per record, in input order.
    """
    from ..inference import check_many_items

    check_many_items(records, "process_records", "records")
    options = ProcessOptions(
        batch_size=batch_size,
        batch_words=batch_words,
        n_process=n_process,
        gpu_id=gpu_id,
        threads=threads,
        include_text=include_text,
        return_docs=return_docs,
        keep_trf_data=keep_trf_data,
        precision=precision,
    )
    options.check()
    from spacy.language import Language

    from ..inference import check_component_names, task_inputs_of

    if not isinstance(pipeline, Language):
        check_pipeline_exists(pipeline)
    check_component_names(pipeline)
    mapping = legacy_fields(pipeline, fields, questions_field)
    record_fields = RecordFields(
        text=text_field,
        id=id_field,
        fields=mapping,
        max_chars=max_chars,
        inputs=task_inputs_of(pipeline),
    )
    record_fields.pipeline_inputs  # noqa: B018 - a field no task reads fails here
    checked = records_from_python(records, fields=record_fields)
    chunks = chunk_records(checked, batch_size=batch_size, batch_words=batch_words)
    for results in run_chunks(pipeline, chunks, options):
        yield from results


def legacy_fields(
    pipeline: "Language | str | Path",
    fields: Mapping[str, str] | None,
    questions_field: str | None,
) -> dict[str, str]:
    """The field mapping, with the deprecated ``questions_field`` folded in.

    ``questions_field`` (``--questions-field``) named the field of one task's
    extra input before tasks declared their inputs; it warns, and maps the
    task field ``questions`` if a task of the pipeline reads one.

    pipeline (Language | str | Path): The pipeline.
    fields (Mapping[str, str] | None): Task field name to input field name.
    questions_field (str | None): The deprecated setting, if given.
    RETURNS (dict[str, str]): The mapping.
    """
    mapping = dict(fields or {})
    if questions_field is None:
        return mapping
    import warnings

    from ..inference import task_inputs_of

    warnings.warn(
        "questions_field (--questions-field) is deprecated and goes in the next release: "
        f"use fields={{'questions': {questions_field!r}}} (--field questions={questions_field}).",
        DeprecationWarning,
        stacklevel=3,
    )
    if pipeline_exists(pipeline) and any(
        "questions" in inputs.fields for inputs in task_inputs_of(pipeline)
    ):
        mapped = mapping.setdefault("questions", questions_field)
        if mapped != questions_field:
            raise OptionError(
                Errors.E153.format(
                    option="--questions-field (questions_field=) and --field (fields=)",
                    name="questions",
                    first=f"questions={questions_field}",
                    second=f"questions={mapped}",
                )
            )
    return mapping
