"""Coalescing concurrent requests into pipeline batches, run on one thread.

A spaCy pipeline is not thread-safe, and it runs fastest on batches. The
service therefore queues each request's records and lets one worker take them
in batches: up to ``max_batch_size`` items, or what has arrived ``max_wait_ms``
after the oldest one queued. The worker runs each batch on a thread of its
own, so the event loop goes on accepting requests meanwhile, and only that
thread ever touches the pipeline.
"""

import asyncio
import itertools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from ..errors import Errors, RequestError

logger = logging.getLogger("nlp_tasks.serve")

#: The status of a request the service cannot take now (it is shutting down).
UNAVAILABLE = 503


@dataclass
class _Entry:
    item: Any
    request: int
    future: "asyncio.Future[Any]"
    queued: float


class _PipelineThread(Executor):
    """Runs what is submitted, in order, on one daemon thread.

    Python joins a ``ThreadPoolExecutor``'s threads at exit, so a batch that
    runs for minutes (long texts, many questions) would hold the process after
    Ctrl+C; a daemon thread does not.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: Whether a job is running on the thread now.
        self.busy = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> "Future[Any]":
        future: Future[Any] = Future()
        self._jobs.put((future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._jobs.put(None)
        if wait:
            self._thread.join()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args, kwargs = job
            if not future.set_running_or_notify_cancel():
                continue
            self.busy = True
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # noqa: BLE001 - handed to the waiting coroutine
                future.set_exception(error)
            else:
                future.set_result(result)
            finally:
                self.busy = False


class Batcher:
    """Runs the items of concurrent requests through ``process`` in shared batches.

    A request's items are queued together and answered in order; a request of
    more than ``max_batch_size`` items spans several batches. If ``process``
    raises on a batch that holds several requests' items, each request's items
    are run again on their own, so only the request that fails gets the error.

    process (Callable[[list[Any]], list[Any]]): Turns a batch of items into one
        result per item, in order. Runs on the worker thread only.
    max_batch_size (int): Most items in one batch.
    max_wait_ms (float): How long the oldest queued item waits for others to
        join its batch.
    """

    def __init__(
        self,
        process: Callable[[list[Any]], list[Any]],
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
    ) -> None:
        self.process = process
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000
        #: Batches run and items processed so far, for monitoring.
        self.batches = 0
        self.items = 0
        self._pending: deque[_Entry] = deque()
        self._current: list[_Entry] = []
        self._requests = itertools.count()
        self._arrived: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: _PipelineThread | None = None
        self._stopped: list[_PipelineThread] = []

    @property
    def running(self) -> bool:
        """Whether the worker takes requests."""
        return self._worker is not None and not self._worker.done()

    @property
    def batch_left_running(self) -> bool:
        """Whether a batch still runs on a pipeline thread that ``stop`` let go."""
        return any(thread.busy for thread in self._stopped)

    @property
    def queued(self) -> int:
        """Items waiting for a batch (not those of requests that gave up waiting)."""
        return sum(not entry.future.done() for entry in self._pending)

    async def start(self) -> None:
        """Start the worker and its thread, in the running event loop."""
        if self.running:
            return
        self._arrived = asyncio.Event()
        self._executor = _PipelineThread("nlp-tasks-serve")
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self, timeout: float = 0.0) -> None:
        """Stop the worker. Queued requests get a ``RequestError`` (status 503) at
        once; those of the batch running get its results if it ends within
        ``timeout`` seconds, else the same error. The batch's thread is not
        waited for beyond that, and does not keep the process alive.

        timeout (float): Seconds the batch running may take to finish.
        """
        worker, self._worker = self._worker, None
        closed = RequestError(Errors.E095, UNAVAILABLE)
        queued, self._pending = self._pending, deque()
        for entry in queued:
            if not entry.future.done():
                entry.future.set_exception(closed)
        try:
            running = [entry.future for entry in self._current if not entry.future.done()]
            if worker is not None and running and timeout > 0:
                await asyncio.wait(running, timeout=timeout)
        finally:
            # Also when the wait is cancelled (a second Ctrl+C): no request is left waiting.
            for entry in self._current:
                if not entry.future.done():
                    entry.future.set_exception(closed)
            self._current = []
            if worker is not None:
                worker.cancel()
                try:
                    await worker
                except asyncio.CancelledError:
                    pass
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._stopped.append(self._executor)
                self._executor = None

    async def submit(self, items: Sequence[Any]) -> list[Any]:
        """Queue one request's items and wait for their results.

        items (Sequence[Any]): The request's items.
        RETURNS (list[Any]): One result per item, in order. Raises what
            ``process`` raised on the request's items, or a ``RequestError``
            (status 503) if the service is stopping.
        """
        if not self.running or self._arrived is None:
            raise RequestError(Errors.E095, UNAVAILABLE)
        loop = asyncio.get_running_loop()
        request = next(self._requests)
        now = loop.time()
        futures = []
        for item in items:
            future = loop.create_future()
            self._pending.append(_Entry(item, request, future, now))
            futures.append(future)
        self._arrived.set()
        try:
            return [await future for future in futures]
        finally:
            # Whatever ends the wait (an error in one batch, a client gone), the
            # request's items still queued are dropped and its errors read.
            for future in futures:
                if not future.done():
                    future.cancel()
                elif not future.cancelled():
                    future.exception()

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            self._current = batch
            try:
                outcomes = await loop.run_in_executor(self._executor, self._run, batch)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the worker must outlive any batch
                logger.error("A batch could not be run", exc_info=error)
                outcomes = [(False, error)] * len(batch)
            self._current = []
            self.batches += 1
            self.items += len(batch)
            for entry, (ok, value) in zip(batch, outcomes):
                if entry.future.done():
                    continue
                if ok:
                    entry.future.set_result(value)
                else:
                    entry.future.set_exception(value)

    async def _next_batch(self) -> list[_Entry]:
        assert self._arrived is not None
        loop = asyncio.get_running_loop()
        while True:
            self._drop_cancelled()
            if self._pending:
                break
            self._arrived.clear()
            await self._arrived.wait()
        deadline = self._pending[0].queued + self.max_wait
        while len(self._pending) < self.max_batch_size:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            # An event, not a queue, is awaited here: a timeout then loses nothing.
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                break
        batch: list[_Entry] = []
        while self._pending and len(batch) < self.max_batch_size:
            entry = self._pending.popleft()
            if not entry.future.done():
                batch.append(entry)
        return batch

    def _drop_cancelled(self) -> None:
        while self._pending and self._pending[0].future.done():
            self._pending.popleft()

    def _run(self, batch: list[_Entry]) -> list[tuple[bool, Any]]:
        try:
            return [(True, result) for result in self._checked_process(batch)]
        except Exception as error:  # noqa: BLE001 - reported to the batch's requests
            if len({entry.request for entry in batch}) == 1:
                logger.error("The pipeline failed on a request", exc_info=error)
                return [(False, error)] * len(batch)
        # Several requests: each runs again alone, so only the one that fails gets the error.
        outcomes: dict[int, tuple[bool, Any]] = {}
        for request in dict.fromkeys(entry.request for entry in batch):
            part = [index for index, entry in enumerate(batch) if entry.request == request]
            try:
                results = self._checked_process([batch[index] for index in part])
            except Exception as error:  # noqa: BLE001 - reported to this request alone
                logger.error("The pipeline failed on a request", exc_info=error)
                outcomes.update((index, (False, error)) for index in part)
            else:
                outcomes.update((index, (True, result)) for index, result in zip(part, results))
        return [outcomes[index] for index in range(len(batch))]

    def _checked_process(self, entries: list[_Entry]) -> list[Any]:
        results = list(self.process([entry.item for entry in entries]))
        if len(results) != len(entries):
            raise RuntimeError(f"{len(results)} results for {len(entries)} items")
        return results
