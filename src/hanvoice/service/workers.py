"""Admission by work, and the threads that walk requests through their pieces.

The CPU work of every request runs on the node's :class:`~hanvoice.scheduler.Scheduler`
(one thread per core, pieces chosen fairly). This module decides *whether* a request may
start, and gives each admitted request a thread of its own that only waits: it submits the
request's pieces to its flow and joins their results, never computing much itself.

Admission counts work, not requests: each request's cost is estimated from its text
(:meth:`~hanvoice.synth.Synthesizer.cost`, CPU seconds, learned from real requests), and a
request is admitted while the backlog's expected drain time (the remaining cost of every
admitted request over the cores) plus its own stays under ``max_backlog`` seconds. Beyond
that it fails at once with :class:`~hanvoice.errors.Overloaded` (503) and a ``Retry-After``
of the seconds the backlog needs to drain far enough. A request larger than the bound on its
own counts as half the bound: it is admitted once the backlog is under half of it, so no
text within the length limit is refused forever. ``max_requests`` also bounds how many are
in flight at once, and ``max_memory`` the bytes their whole answers will hold (each
request's estimated answer size: a few long WAV answers at 48 kHz would otherwise exhaust
the node's memory long before its cores); beyond either a request gets 503 at once too.

A long request refused for its size would otherwise starve under steady load: every time
some work drains, smaller requests fill the room again, and its retries never fit (under
eight clients sending texts up to 3,000 characters, 3 in 60 long texts were refused twenty
times in a row). So the first long request refused for work gets a *reservation*: until it
comes back (its Retry-After plus :data:`RESERVE_GRACE`), other long requests are admitted
only if they leave room for it. Short ones still pass: under least-work-first they leave the
cores at once, so they do not delay it. A retry is recognised by its ``key`` (voice and
text).
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from hanvoice.errors import Overloaded
from hanvoice.scheduler import Flow, Scheduler, lower_priority

T = TypeVar("T")

RETRY_AFTER_MAX = 60
RESERVE_GRACE = 5.0
"""Seconds past its Retry-After that a reservation is kept for a client that never returns."""


@dataclass(frozen=True, slots=True)
class _Reservation:
    key: Hashable
    need: float
    """Seconds of backlog the reserved request will add."""
    until: float


class WorkerPool:
    def __init__(
        self,
        scheduler: Scheduler,
        *,
        max_backlog: float = 20.0,
        max_requests: int = 64,
        max_memory: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scheduler = scheduler
        self.max_backlog = max_backlog
        self.max_memory = max_memory
        """Bytes of answers in flight at most (0: no bound)."""
        self.max_requests = max(1, max_requests)
        # request threads run at the scheduler's priority: the numpy work they do between
        # pieces (pasting parts, PCM conversion) must not outrank another request's pieces
        self._executor = ThreadPoolExecutor(
            self.max_requests,
            thread_name_prefix="hanvoice-req",
            initializer=functools.partial(lower_priority, scheduler.nice)
            if scheduler.nice
            else None,
        )
        self._lock = threading.Lock()
        self._clock = clock
        self._reservation: _Reservation | None = None
        self.rejected = 0
        self.probe_cost = 0.0
        """CPU seconds of a typical short request (50 characters of the default voice):
        ``full`` says whether one would be refused now."""

    @property
    def workers(self) -> int:
        return self.scheduler.workers

    @property
    def admitted(self) -> int:
        """Requests admitted and not yet finished."""
        return self.scheduler.active

    @property
    def running(self) -> int:
        """Pieces executing on a core now."""
        return self.scheduler.running

    @property
    def queued(self) -> int:
        """Pieces waiting for a core."""
        return self.scheduler.queued

    def backlog(self) -> float:
        """Expected seconds for the admitted work to drain."""
        return self.scheduler.backlog()

    @property
    def full(self) -> bool:
        """A typical short request would be refused now (``/ready`` says 503)."""
        if not self.admitted:
            return False
        need = self.probe_cost / self.scheduler.workers
        return self.admitted >= self.max_requests or self.backlog() + need > self.max_backlog

    def admit(self, cost: float, label: str = "", key: Hashable = None, memory: int = 0) -> Flow:
        """A flow for a request of ``cost`` CPU seconds that will hold ``memory`` bytes, or
        :class:`Overloaded` at once. ``key`` names the request across retries (for the
        reservation)."""
        with self._lock:
            now = self._clock()
            active = self.scheduler.active
            backlog = self.scheduler.backlog()
            held_bytes = self.scheduler.memory() if self.max_memory else 0
            if active and memory and held_bytes + memory > self.max_memory:
                self.rejected += 1
                wait = max(1, min(RETRY_AFTER_MAX, math.ceil(backlog)))
                raise Overloaded(
                    f"this node holds {held_bytes / 2**20:.0f} MB of answers being made "
                    f"(limit {self.max_memory / 2**20:.0f} MB) and this one needs "
                    f"{memory / 2**20:.0f} MB more; retry in {wait} s, or stream it",
                    retry_after=wait,
                )
            need = cost / self.scheduler.workers
            # a request larger than half the bound counts as half of it: it goes once the
            # backlog is under half the bound (the reservation keeps that room), not only on
            # an idle node, which under steady load never comes
            counted = min(need, self.max_backlog / 2)
            long = self.scheduler.is_long(cost)
            held = self._reservation
            if held is not None and held.until <= now:
                held = self._reservation = None
            mine = held is not None and key is not None and held.key == key
            room_kept = held.need if held is not None and long and not mine else 0.0
            over = backlog + counted + room_kept - self.max_backlog
            if active and (over > 0 or active >= self.max_requests):
                self.rejected += 1
                # over the work bound: until enough has drained; over the count: until about
                # one request's share of the backlog is done
                eta = over if over > 0 else backlog / active
                wait = max(1, min(RETRY_AFTER_MAX, math.ceil(eta)))
                if over > 0 and long and key is not None and (held is None or mine):
                    self._reservation = _Reservation(key, counted, now + wait + RESERVE_GRACE)
                raise Overloaded(
                    f"this node has {backlog:.1f} s of work queued (limit "
                    f"{self.max_backlog:g} s) and this request needs {need:.1f} s more; "
                    f"retry in {wait} s",
                    retry_after=wait,
                )
            if mine:
                self._reservation = None
            return self.scheduler.flow(cost, label, memory)

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on a request thread (never on the event loop). Cancelling the caller
        does not stop ``fn``: cancel the request's flow, and its pieces stop."""
        return await asyncio.wrap_future(self._executor.submit(fn))

    def resize(self, max_requests: int) -> None:
        """Change the bound on requests in flight (a hot reload): more request threads are
        made as needed; fewer takes effect as requests finish."""
        self.max_requests = max(1, max_requests)
        self._executor._max_workers = max(self._executor._max_workers, self.max_requests)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
