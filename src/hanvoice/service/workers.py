"""A bounded pool for blocking inference, with admission control.

A request first takes a *slot* (:meth:`WorkerPool.slot`); there are ``workers +
queue_size`` of them. When none is free the request fails at once with
:class:`~hanvoice.errors.Overloaded` (503 + ``Retry-After``) instead of joining a backlog
that grows until every request times out. Inside its slot a request runs blocking work with
:meth:`WorkerPool.run` on one of ``workers`` threads, never on the event loop.

Cancellation: each job gets a :class:`threading.Event`; when the awaiting coroutine is
cancelled (client gone, timeout) the job is dropped if it has not started, or the event is
set so a job that checks it between segments stops early.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from hanvoice.errors import Overloaded

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a job that saw its cancel event; never reaches a client."""


class WorkerPool:
    def __init__(self, workers: int, queue_size: int, retry_after: float = 1.0) -> None:
        self.workers = max(1, workers)
        self.queue_size = max(0, queue_size)
        self.retry_after = retry_after
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="hanvoice-synth")
        self._admitted = 0
        self._running = 0
        self._pending = 0
        self._lock = threading.Lock()
        self.rejected = 0

    @property
    def capacity(self) -> int:
        return self.workers + self.queue_size

    @property
    def admitted(self) -> int:
        """Requests holding a slot (running or waiting)."""
        return self._admitted

    @property
    def running(self) -> int:
        """Jobs executing on a worker thread now."""
        return self._running

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker thread."""
        return self._pending

    @property
    def full(self) -> bool:
        return self._admitted >= self.capacity

    def try_acquire(self) -> None:
        """Take a slot or raise :class:`Overloaded` (no waiting)."""
        with self._lock:
            if self._admitted >= self.capacity:
                self.rejected += 1
                raise Overloaded(
                    f"all {self.workers} workers are busy and {self.queue_size} requests are "
                    "waiting; retry shortly",
                    retry_after=self.retry_after,
                )
            self._admitted += 1

    def release(self) -> None:
        with self._lock:
            self._admitted = max(0, self._admitted - 1)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.try_acquire()
        try:
            yield
        finally:
            self.release()

    async def run(self, fn: Callable[[threading.Event], T]) -> T:
        """Run ``fn(cancel_event)`` on a worker thread; cancelling the caller cancels it."""
        cancel = threading.Event()
        with self._lock:
            self._pending += 1

        def job() -> T:
            with self._lock:
                self._pending -= 1
                self._running += 1
            try:
                if cancel.is_set():
                    raise Cancelled()
                return fn(cancel)
            finally:
                with self._lock:
                    self._running -= 1

        future = self._executor.submit(job)
        try:
            return await asyncio.wrap_future(future)
        except BaseException:
            cancel.set()
            if future.cancel():  # never started: undo its place in the queue
                with self._lock:
                    self._pending -= 1
            raise

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
