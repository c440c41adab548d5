"""The node's one scheduler: every piece of inference work, from every request, goes here.

A *piece* is a short, self-contained unit of CPU work that an engine hands out: one
segment's acoustic-model run, one vocoder window, one Mellotron clause, one text analysis,
one signal-processing pass. Engines and the synthesizer say *what* the pieces are
(:meth:`Flow.submit`); only the scheduler decides *when* and *where* they run, on a fixed
set of worker threads, one per core. Nothing else in the process runs inference threads.

Each request gets a :class:`Flow`. The policy, in order:

1. **Work-conserving**: an idle worker always takes a ready piece if there is one, so a
   lone request fans out over every core (its vocoder windows, the next segment's acoustic
   model) and gets the whole machine.
2. **Least work left first**: among flows with ready pieces, the one with the least
   estimated work remaining goes first (its cost, estimated from its text when it was
   admitted, less the core time it has had); flows within a factor :data:`SIMILAR_WORK` of
   that least go first come, first served, so estimates that drift a little never let
   later requests of the same size overtake an earlier one forever. A greeting that
   arrives while two audiobook chapters run has a few tens of milliseconds left, so its
   pieces run next: it waits only for the pieces already running, however long the
   chapters are. Round robin would make it wait one piece per other flow for *each* of its
   pieces, and least-attained-service would make equal requests share the cores and all
   finish late; a text-to-speech job's size is known well from its text, so the scheduler
   uses it. Flows without an estimate (cost 0) go first come, first served.
3. **No starvation among long ones**: flows estimated at :data:`LONG_WORK` seconds or more
   are "long" and share the cores round-robin (least recently served first), so one
   chapter never waits for another to finish; short requests only delay them by their own
   work, which admission bounds.
4. **An express lane for short flows**: a piece cannot be interrupted, so a greeting that
   arrives while two chapters hold both cores would wait for one of their pieces to end (a
   vocoder window: ~50 ms) before *each* of its steps (text analysis, acoustic model,
   vocoder), since between two of its steps the core that served it takes a chapter's
   next piece. ``express`` extra threads take only pieces of short flows, and only while a
   long flow's piece holds a regular worker; they run at a higher priority than the
   workers (``express_nice``), so the operating system preempts a chapter's piece for the
   greeting's. The machine then runs one thread more than it has cores for a few dozen
   milliseconds; no work is lost, the chapter just waits that long. Among short requests
   only (16 prompts at once) the express lane stays idle: plain queueing by least work
   left is fair there.

Within a flow pieces run first in, first out: a stream's first window before its later
ones. A piece may name a :class:`Resource` with a capacity (an engine's one set of
acoustic interpreters): a worker skips pieces whose resource is in use up to capacity and
takes the next eligible one instead of waiting, so no core idles on a lock.

Cancelling a flow (client gone, timeout) drops every queued piece of it at once; a piece
that is already running finishes. The bytes a request gets never depend on this order:
pieces are pure functions of their inputs.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

SIMILAR_WORK = 2.0
"""Short flows whose remaining work is within this factor of the least are served first come,
first served. Strict least-work-first starved requests of the same size: estimates are
learned as requests finish, so a prompt admitted while the estimate was 10 % higher waited
behind every later one (16 clients sending 50-character prompts: p99 31 s, median 2 s)."""
LONG_WORK = 1.0
"""Core-seconds of estimated remaining work from which a flow counts as long: long flows
share the cores round-robin (a 50-character request needs ~0.25 s, a 2,000-character
chapter ~10 s)."""


@dataclass(frozen=True, slots=True)
class Resource:
    """Something a piece holds while it runs and that only ``capacity`` pieces can hold at
    once (e.g. an engine's acoustic interpreters, which are not thread-safe)."""

    name: str
    capacity: int = 1


class Runner(Protocol):
    """Where an engine submits its pieces: a :class:`Flow`, or :data:`INLINE`."""

    def submit(
        self, fn: Callable[..., T], /, *args: Any, resource: Resource | None = None
    ) -> Future[T]: ...


class _Inline:
    """Runs each piece at once in the caller's thread (engines' warm-up, direct tests)."""

    def submit(
        self, fn: Callable[..., T], /, *args: Any, resource: Resource | None = None
    ) -> Future[T]:
        fut: Future[T] = Future()
        fut.set_running_or_notify_cancel()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # handed to whoever asks for the result
            fut.set_exception(exc)
        return fut


INLINE: Runner = _Inline()


@dataclass(eq=False)
class _Piece:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any]
    resource: Resource | None


@dataclass(eq=False)
class Flow:
    """One request's share of the scheduler. Submit pieces; ``close()`` when done."""

    scheduler: Scheduler
    seq: int
    cost: float
    """Estimated CPU seconds of the whole request (for admission and the backlog)."""
    label: str = ""
    memory: int = 0
    """Bytes the request will hold until it ends (a whole answer's estimated size): the
    admission's memory budget, summed by :meth:`Scheduler.memory`."""
    created: float = field(default_factory=time.monotonic)
    attained: float = 0.0
    """Core-seconds its pieces have taken so far (wall time on a core: on a machine shared
    with other work a piece takes longer, and so do the estimates learned from this)."""
    served_at: float = 0.0
    """When a piece of it last started (round robin among long flows)."""
    first_start: float | None = None
    """When its first piece started (queue wait = this - created)."""
    pieces: deque[_Piece] = field(default_factory=deque)
    running: int = 0
    closed: bool = False

    def submit(
        self, fn: Callable[..., T], /, *args: Any, resource: Resource | None = None
    ) -> Future[T]:
        """Queue ``fn(*args)``; its result comes through the returned future."""
        fut: Future[T] = Future()
        self.scheduler._enqueue(self, _Piece(fn, args, fut, resource))
        return fut

    @property
    def remaining(self) -> float:
        """Estimated CPU seconds still to do (never below zero)."""
        return max(0.0, self.cost - self.attained)

    def reestimate(self, cost: float, memory: int | None = None) -> None:
        """Better estimates of the whole request's CPU seconds and bytes (once its text is
        analysed): the backlog, the order of service and admission follow them from now."""
        with self.scheduler._cond:
            self.cost = max(0.0, cost)
            if memory is not None:
                self.memory = max(0, memory)

    @property
    def queue_wait(self) -> float | None:
        return None if self.first_start is None else self.first_start - self.created

    def cancel(self) -> None:
        """Drop every queued piece now (their futures are cancelled); running ones finish.
        Pieces submitted later are cancelled at once."""
        self.scheduler._cancel(self)

    def close(self) -> None:
        """The request is over: cancel what is left and stop counting it in the backlog."""
        self.scheduler._cancel(self)
        self.scheduler._forget(self)

    def __enter__(self) -> Flow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Scheduler:
    """``workers`` threads (default: one per core) running pieces of every flow."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        long_work: float = LONG_WORK,
        nice: int = 0,
        express: int = 0,
        express_nice: int = 0,
        name: str = "hanvoice-piece",
    ) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.long_work = long_work
        self.nice = nice
        """Added to the workers' niceness (Linux threads have their own): a service gives its
        event loop the CPU first, so a 503, a cache hit or a probe never waits for
        inference; idle cores still go to the pieces."""
        self.express = max(0, express)
        """Threads of the express lane (policy 4); 0 for a script, which runs alone."""
        self.express_nice = express_nice
        """Added to the express threads' niceness: below :attr:`nice`, so they preempt."""
        self._name = name
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._express_cond = threading.Condition(self._lock)
        self._express_threads: list[threading.Thread] = []
        self._long_running = 0
        """Pieces of long flows running now (the express lane opens while there are any)."""
        self._flows: dict[int, Flow] = {}
        """Flows not yet closed (for the backlog), by sequence number."""
        self._ready: dict[int, Flow] = {}
        """Flows with queued pieces."""
        self._held: dict[str, int] = {}
        self._running = 0
        self._queued = 0
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self.on_first_start: Callable[[Flow], None] | None = None
        """Called (outside the lock) when a flow's first piece starts: queue-wait metrics."""

    # --- flows --------------------------------------------------------------------------
    def flow(self, cost: float = 0.0, label: str = "", memory: int = 0) -> Flow:
        with self._cond:
            f = Flow(self, next(self._seq), max(0.0, cost), label, max(0, memory))
            self._flows[f.seq] = f
        return f

    @property
    def running(self) -> int:
        """Pieces executing now."""
        return self._running

    @property
    def queued(self) -> int:
        """Pieces waiting for a worker."""
        return self._queued

    @property
    def active(self) -> int:
        """Flows not yet closed."""
        return len(self._flows)

    def backlog(self) -> float:
        """Expected seconds until the work of every open flow is done, on all cores."""
        with self._cond:
            return sum(f.remaining for f in self._flows.values()) / self.workers

    def memory(self) -> int:
        """Bytes every open flow said it will hold (see :attr:`Flow.memory`)."""
        with self._cond:
            return sum(f.memory for f in self._flows.values())

    def close(self) -> None:
        """Stop the workers after the pieces they are running; cancel the rest."""
        with self._cond:
            self._stopped = True
            flows = list(self._ready.values())
            self._cond.notify_all()
            self._express_cond.notify_all()
        for f in flows:
            self._cancel(f)
        for t in self._threads + self._express_threads:
            t.join(timeout=10)

    # --- internals ----------------------------------------------------------------------
    def _enqueue(self, flow: Flow, piece: _Piece) -> None:
        with self._cond:
            if flow.closed or self._stopped:
                piece.future.cancel()
                return
            flow.pieces.append(piece)
            self._queued += 1
            self._ready[flow.seq] = flow
            if len(self._threads) < self.workers:
                self._spawn(express=False)
            self._cond.notify()
            if self._express_open() and self._short(flow):
                self._wake_express()

    def _spawn(self, *, express: bool) -> None:
        threads = self._express_threads if express else self._threads
        name = f"{self._name}-{'express-' if express else ''}{len(threads)}"
        t = threading.Thread(target=self._work, args=(express,), name=name, daemon=True)
        threads.append(t)
        t.start()

    def _wake_express(self) -> None:
        if len(self._express_threads) < self.express:
            self._spawn(express=True)
        self._express_cond.notify()

    def is_long(self, cost: float) -> bool:
        """Whether a request estimated at ``cost`` core-seconds is a long one (policy 3)."""
        return cost >= self.long_work

    def _short(self, flow: Flow) -> bool:
        """Estimated below :attr:`long_work` when admitted. By the estimate, not by what is
        left: a chapter whose estimate was low has "nothing left" for the end of its run,
        and counted as short it went before every greeting and closed the express lane."""
        return not self.is_long(flow.cost)

    def _express_open(self) -> bool:
        """The express lane runs while a long flow's piece holds a regular worker."""
        return self.express > 0 and self._long_running > 0

    def resize(self, workers: int) -> None:
        """Use ``workers`` cores from now on (a hot reload): threads beyond it stop after
        their piece; new ones start on the next submission."""
        with self._cond:
            self.workers = max(1, workers)
            self._threads = [t for t in self._threads if t.is_alive()][: self.workers]
            self._cond.notify_all()

    def _cancel(self, flow: Flow) -> None:
        with self._cond:
            flow.closed = True
            dropped = list(flow.pieces)
            flow.pieces.clear()
            self._queued -= len(dropped)
            self._ready.pop(flow.seq, None)
        for p in dropped:
            p.future.cancel()

    def _forget(self, flow: Flow) -> None:
        with self._cond:
            self._flows.pop(flow.seq, None)

    def _pick(self, express: bool = False) -> tuple[Flow, _Piece] | None:
        """The next piece by the policy above, or None if nothing eligible is queued. The
        express lane takes short flows' pieces only, and only while it is open."""
        if express and not self._express_open():
            return None
        short: list[tuple[Flow, _Piece]] = []
        long: tuple[tuple[float, int], Flow, _Piece] | None = None
        for flow in self._ready.values():
            if express and not self._short(flow):
                continue
            piece = next((p for p in flow.pieces if self._free(p.resource)), None)
            if piece is None:
                continue
            if self._short(flow):
                short.append((flow, piece))
            elif long is None or (flow.served_at, flow.seq) < long[0]:
                long = ((flow.served_at, flow.seq), flow, piece)  # round robin among long
        if short:
            # least work left, but only by a clear margin: within a factor of
            # SIMILAR_WORK of the least, first come first served
            least = min(f.remaining for f, _ in short)
            flow, piece = min(
                ((f, p) for f, p in short if f.remaining <= least * SIMILAR_WORK),
                key=lambda fp: fp[0].seq,
            )
        elif long is not None:
            _, flow, piece = long
        else:
            return None
        flow.pieces.remove(piece)
        if not flow.pieces:
            del self._ready[flow.seq]
        return flow, piece

    def _free(self, resource: Resource | None) -> bool:
        return resource is None or self._held.get(resource.name, 0) < resource.capacity

    def _work(self, express: bool) -> None:
        me = threading.current_thread()
        nice = self.express_nice if express else self.nice
        if nice:
            lower_priority(nice)
        cond = self._express_cond if express else self._cond
        while True:
            with self._lock:
                picked = None
                while picked is None:
                    if self._stopped or not self._staffed(me, express):
                        return
                    picked = self._pick(express)
                    if picked is None:
                        cond.wait()
                flow, piece = picked
                long = not express and not self._short(flow)
                self._long_running += long
                if long and self.express and any(self._short(f) for f in self._ready.values()):
                    self._wake_express()  # short pieces already queued may go express now
                self._queued -= 1
                self._running += 1
                flow.running += 1
                flow.served_at = time.monotonic()
                first = flow.first_start is None
                if first:
                    flow.first_start = flow.served_at
                if piece.resource is not None:
                    self._held[piece.resource.name] = self._held.get(piece.resource.name, 0) + 1
            if first and self.on_first_start is not None:
                self.on_first_start(flow)
            began = time.perf_counter()
            try:
                self._run(piece)
            finally:
                used = time.perf_counter() - began
                with self._lock:
                    self._long_running -= long
                    self._running -= 1
                    flow.running -= 1
                    flow.attained += used
                    if piece.resource is not None:
                        self._held[piece.resource.name] -= 1
                        self._cond.notify_all()  # a piece waiting for it may now go
                        self._express_cond.notify_all()

    def _staffed(self, me: threading.Thread, express: bool) -> bool:
        """Whether this thread still has a place (``resize`` may have shrunk the pool)."""
        if express:
            return me in self._express_threads[: self.express]
        return me in self._threads[: self.workers]

    @staticmethod
    def _run(piece: _Piece) -> None:
        if not piece.future.set_running_or_notify_cancel():
            return
        try:
            result = piece.fn(*piece.args)
        except BaseException as exc:  # the piece's caller gets it from the future
            piece.future.set_exception(exc)
        else:
            piece.future.set_result(result)


def lower_priority(by: int) -> None:
    """Lower this thread's priority (Linux: ``setpriority`` on a thread id is per thread).
    Lowering needs no privilege; where it is refused, the thread keeps its priority."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + by)
    except OSError as exc:
        log.info("cannot lower the scheduler's priority: %s", exc)
