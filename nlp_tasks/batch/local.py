"""The local engine: chunks of records through a pipeline in this process, or in a
pool of worker processes that each load the pipeline once, results in input order.
"""

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Errors, InputError, ProcessError
from .inputs import InputRecord
from .options import ProcessOptions
from .processor import (
    RecordProcessor,
    RecordResult,
    cpu_count,
    load_processor,
    saved_pipeline,
    setup_torch,
)

if TYPE_CHECKING:
    from spacy.language import Language


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
    with saved_pipeline(pipeline) as path:
        yield from _run_pool(path, chunks, options)


def _load(pipeline: "Language | str | Path", options: ProcessOptions) -> "Language":
    from spacy.language import Language

    if isinstance(pipeline, Language):
        return pipeline
    setup_torch(options.gpu_id, options.threads)
    from ..inference import load

    return load(pipeline)


# Worker processes ----------------------------------------------------------------

_worker_processor: RecordProcessor | None = None
_worker_running = False
_worker_stopping = False


# SIGINT can be held back (blocked, kept pending) where the platform allows it.
_CAN_HOLD_CTRL_C = hasattr(signal, "pthread_sigmask")


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    # A worker inherits the blocked SIGINT of the thread that spawns it, so a Ctrl+C
    # while its interpreter starts waits for _worker_init's handler instead of printing
    # a traceback (or "Fatal Python error" from inside site). The mask is this thread's
    # only: another thread (a progress bar's) may take the signal, so this process's
    # handler is also deferred, and runs once the spawn is done.
    if not _CAN_HOLD_CTRL_C:
        yield
        return
    deferred: list[int] = []
    # Only the main thread may set a handler; it is the one Python runs them in. An
    # ignored Ctrl+C stays ignored: the worker inherits that, not a handler.
    can_defer = threading.current_thread() is threading.main_thread() and callable(
        signal.getsignal(signal.SIGINT)
    )
    if can_defer:
        handler = signal.signal(signal.SIGINT, lambda signum, frame: deferred.append(signum))
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        if can_defer:
            signal.signal(signal.SIGINT, handler)
            if deferred and callable(handler):
                handler(signal.SIGINT, None)


def _worker_interrupted(signum: int, frame: Any) -> None:
    # Ctrl+C reaches the whole process group; the parent reports it and stops the run.
    # A worker must not print a traceback of its own, nor die while it writes a result
    # to the pipe the parent reads (a message cut short would block the parent).
    global _worker_stopping
    if _worker_processor is None:  # starting, or loading the pipeline
        os._exit(130)
    # Chunks already queued for this worker cannot be taken back: it refuses them.
    _worker_stopping = True
    if _worker_running:  # the chunk stops; its error goes back as its result
        raise KeyboardInterrupt
    # Idle or sending a result: the parent's shutdown ends this worker.


def _worker_init(
    pipeline: str, gpu_id: int, threads: int, options: dict[str, Any], parent: int
) -> None:
    # A worker started with Ctrl+C ignored (a job run with `&` in a script) keeps it so.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _worker_interrupted)
    if _CAN_HOLD_CTRL_C:  # held since the spawn (_ctrl_c_held): a pending one runs now
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def exit_with_parent() -> None:
        # A parent killed by a signal cannot stop its workers; they notice and go.
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    global _worker_processor
    _worker_processor = load_processor(pipeline, gpu_id, threads, options)


def _worker_run(chunk: list[InputRecord]) -> list[RecordResult]:
    global _worker_running
    assert _worker_processor is not None
    try:
        _worker_running = True
        if _worker_stopping:
            raise KeyboardInterrupt
        return _worker_processor(chunk)
    finally:
        _worker_running = False


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
                # Any submit may spawn a worker (one that finds none idle, below n_process):
                # three system calls beside a chunk's processing.
                with _ctrl_c_held():
                    future = executor.submit(_worker_run, chunk)
                pending.append((chunk, future))
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
        # Wait for the workers to exit here, inside the run, where a Ctrl+C stops it as
        # any other does; left to the interpreter's exit, the wait (seconds, with torch
        # to tear down) turned a Ctrl+C into a traceback after the summary, and exit 0.
        executor.shutdown(wait=True)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _result_of(chunk: list[InputRecord], future: Any, broken: type) -> list[RecordResult]:
    try:
        return future.result()
    except broken as error:
        raise ProcessError(
            Errors.E068.format(error=error, first=chunk[0].line, last=chunk[-1].line)
        ) from None
