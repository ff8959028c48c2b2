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
from .processor import RecordResult, chunk_records

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["process_records"]


def process_records(
    pipeline: "Language | str | Path",
    records: Iterable[str | Mapping[str, Any]],
    *,
    text_field: str = DEFAULT_FIELDS.text,
    id_field: str = DEFAULT_FIELDS.id,
    questions_field: str = DEFAULT_FIELDS.questions,
    max_chars: int = DEFAULT_FIELDS.max_chars,
    batch_size: int = DEFAULT_BATCH_SIZE,
    batch_words: int = DEFAULT_BATCH_WORDS,
    n_process: int = DEFAULT_N_PROCESS,
    gpu_id: int = DEFAULT_GPU_ID,
    threads: int = DEFAULT_THREADS,
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
