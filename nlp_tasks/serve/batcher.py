"""Coalescing concurrent requests into pipeline batches, run on one thread.

A spaCy pipeline is not thread-safe, and it runs fastest on batches. The
service therefore queues each request's records and lets one worker take them
in batches: up to ``max_batch_size`` items, or what has arrived ``max_wait_ms``
after the oldest one queued. The worker runs each batch on a single-thread
executor, so the event loop goes on accepting requests meanwhile, and only
that thread ever touches the pipeline.
"""

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
        self._executor: ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        """Whether the worker takes requests."""
        return self._worker is not None and not self._worker.done()

    @property
    def queued(self) -> int:
        """Items waiting for a batch (not those of requests that gave up waiting)."""
        return sum(not entry.future.done() for entry in self._pending)

    async def start(self) -> None:
        """Start the worker and its thread, in the running event loop."""
        if self.running:
            return
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlp-tasks-serve")
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker. Queued requests, and those of the batch running, get
        a ``RequestError`` (status 503); the batch running finishes on its thread.
        """
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass
        closed = RequestError(Errors.E095, UNAVAILABLE)
        for entry in [*self._current, *self._pending]:
            if not entry.future.done():
                entry.future.set_exception(closed)
        self._current, self._pending = [], deque()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
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
