"""The Ray engine: the same batch job on Ray Data, on one machine or a cluster.

The input is read and chunked by one read task (on the driver's node, where the
file is), exactly as the local engine does; each chunk travels as one row to an
actor pool whose actors load the pipeline once; the results come back to the
driver in input order, which writes the output, the errors file and the
checkpoint as the local engine does. So both engines give the same output, and a
Ray run resumes like a local one.

Importing this module imports Ray: the job (``job.py``) imports it only for
``engine="ray"`` and turns a missing Ray into a clear error (E067). It imports
the shared pieces (``processor.py``, ``options.py``) and nothing of the job's.
"""

import copy
import dataclasses
import inspect
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray
import ray.data
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from .inputs import RecordFields, read_records
from .options import ProcessOptions
from .processor import RecordResult, chunk_records, cpu_count, load_processor


class _ChunkSource(Datasource):
    """Input records in chunks, one chunk a row: ``last`` (its last line), ``chunk``."""

    def __init__(
        self,
        path: Path,
        input_format: str,
        fields: RecordFields,
        start_after: int,
        batch_size: int,
        batch_words: int,
    ) -> None:
        super().__init__()
        self.path = path
        self.input_format = input_format
        self.fields = fields
        self.start_after = start_after
        self.batch_size = batch_size
        self.batch_words = batch_words

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    @property
    def supports_distributed_reads(self) -> bool:
        # The input file is on the driver's machine, not necessarily on the others.
        return False

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
    ) -> list[ReadTask]:
        # One read task streams the whole file: chunk boundaries, and so the output,
        # come out exactly as in the local engine.
        source = self

        def read() -> Iterator[pa.Table]:
            records = read_records(
                source.path,
                input_format=source.input_format,
                fields=source.fields,
                start_after=source.start_after,
            )
            chunks = chunk_records(
                records, batch_size=source.batch_size, batch_words=source.batch_words
            )
            for chunk in chunks:
                yield pa.table({"last": [chunk[-1].line], "chunk": [pickle.dumps(chunk)]})

        return [ReadTask(read, _metadata(self.path))]


def _metadata(path: Path) -> BlockMetadata:
    # BlockMetadata's fields changed across Ray releases; fill the ones this one has.
    names = {f.name for f in dataclasses.fields(BlockMetadata)}
    values = {"num_rows": None, "size_bytes": None, "input_files": [str(path)], "exec_stats": None}
    if "schema" in names:
        values["schema"] = None
    return BlockMetadata(**{key: value for key, value in values.items() if key in names})


class _PipelineActor:
    """A Ray actor that loads the pipeline once and processes chunks."""

    def __init__(self, pipeline: str, gpu: bool, threads: int, options: dict[str, Any]) -> None:
        # Ray shows each actor only the GPU it was given, as device 0.
        self.processor = load_processor(pipeline, 0 if gpu else -1, threads, options)

    def __call__(self, batch: pa.Table) -> pa.Table:
        chunks = batch.column("chunk").to_pylist()
        results = [pickle.dumps(self.processor(pickle.loads(chunk))) for chunk in chunks]
        return pa.table({"last": batch.column("last"), "results": results})


def ray_results(
    pipeline: str,
    input_path: Path,
    input_format: str,
    fields: RecordFields,
    start_after: int,
    options: ProcessOptions,
) -> Iterator[list[RecordResult]]:
    """Process an input file on Ray Data and yield each chunk's results in order.

    Uses the running Ray if there is one; else connects to ``options.ray_address``,
    or starts a local Ray (shut down again at the end).

    pipeline (str): The pipeline's directory or package name, loaded by each actor.
    input_path (Path): The input file.
    input_format (str): Its format.
    fields (RecordFields): Which fields to read, and the longest text.
    start_after (int): Skip input records up to this line (resuming).
    options (ProcessOptions): ``n_process`` is the number of actors; ``threads`` the
        CPUs (and PyTorch threads) of each; ``gpu_id`` >= 0 gives each one GPU.
    YIELDS (list[RecordResult]): Each chunk's results, in input order.
    """
    # Ray workers need not share the driver's working directory.
    input_path = input_path.resolve()
    if Path(pipeline).exists():
        pipeline = str(Path(pipeline).resolve())
    started = False
    if not ray.is_initialized():
        init = {"include_dashboard": False, "logging_level": logging.WARNING, **options.ray_init}
        if options.ray_address:
            init["address"] = options.ray_address
        ray.init(**init)
        started = True
    try:
        yield from _run(pipeline, input_path, input_format, fields, start_after, options)
    finally:
        if started:
            ray.shutdown()


def _run(
    pipeline: str,
    input_path: Path,
    input_format: str,
    fields: RecordFields,
    start_after: int,
    options: ProcessOptions,
) -> Iterator[list[RecordResult]]:
    actors = options.n_process
    threads = options.threads
    if not threads:
        cpus = int(ray.available_resources().get("CPU", cpu_count()))
        threads = max(1, cpus // actors)
    settings = (pipeline, options.gpu_id >= 0, threads, options.processor_options())

    class PipelineActor(_PipelineActor):
        # Settings bound here rather than passed as constructor arguments, which
        # Ray would keep in its object store for the actors' whole life.
        def __init__(self) -> None:
            super().__init__(*settings)

    context = ray.data.DataContext.get_current()
    saved = (
        context.execution_options,
        context.target_max_block_size,
        context.enable_progress_bars,
    )
    # A Dataset copies the context when it is created; set ours, then put it back.
    context.execution_options = copy.deepcopy(context.execution_options)
    context.execution_options.preserve_order = True
    # One chunk per block, so chunks spread over the actors instead of piling up
    # into one block for one actor.
    context.target_max_block_size = 1
    # The caller shows its own progress bar.
    context.enable_progress_bars = False
    try:
        source = _ChunkSource(
            input_path, input_format, fields, start_after, options.batch_size, options.batch_words
        )
        dataset = ray.data.read_datasource(source, **_read_resources())
        dataset = dataset.map_batches(
            PipelineActor,
            batch_size=1,
            batch_format="pyarrow",
            # Up to n actors: a pool that cannot all fit on the CPUs still runs.
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
            num_cpus=threads,
            num_gpus=1 if options.gpu_id >= 0 else 0,
        )
    finally:
        (
            context.execution_options,
            context.target_max_block_size,
            context.enable_progress_bars,
        ) = saved
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        for results in batch.column("results").to_pylist():
            yield pickle.loads(results)


def _read_resources() -> dict[str, Any]:
    # Reading takes little CPU; asking for none lets it run beside a full actor pool.
    if "num_cpus" in inspect.signature(ray.data.read_datasource).parameters:
        return {"num_cpus": 0}
    return {"ray_remote_args": {"num_cpus": 0}}
