"""The local executor: worker processes on this machine, each loading its voices once.

Each worker has its own pipe and at most :data:`IN_FLIGHT` items handed to it, so it never
waits for the driver and no item sits in a queue nobody owns. The driver waits on the pipes
and on the processes' sentinels together: a worker that dies (OOM-killed, SIGKILL) has its
items handed out again and a new worker takes its place.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from hanvoice.batch.items import Item, Outcome
from hanvoice.errors import EngineError

IN_FLIGHT = 2
"""Items handed to one worker at once: one rendering, one waiting, none idle."""
MAX_ATTEMPTS = 3
"""Times an item is tried on a worker that dies under it before it is an error row."""


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _serve(conn: Connection, voices_file: str | None) -> None:
    """A worker process: render what comes down the pipe until ``None`` comes."""
    from hanvoice.batch.voice import render, worker_catalog

    catalog = worker_catalog(voices_file)
    try:
        while True:
            item = conn.recv()
            if item is None:
                break
            conn.send(render(catalog, item))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        catalog.close()


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    items: dict[str, Item] = field(default_factory=dict)


class LocalExecutor:
    """``run(items)`` yields one :class:`Outcome` per item, in the order they finish."""

    def __init__(self, workers: int | None = None, voices_file: str | None = None) -> None:
        self.workers = workers or default_workers()
        self.voices_file = voices_file
        self._ctx: Any = mp.get_context("spawn")  # no fork of a driver with threads
        self._pool: list[_Worker] = []
        self._respawns = 0

    def _start(self) -> _Worker:
        ours, theirs = self._ctx.Pipe()
        p = self._ctx.Process(target=_serve, args=(theirs, self.voices_file), daemon=True)
        p.start()
        theirs.close()
        return _Worker(p, ours)

    def run(self, items: Sequence[Item]) -> Iterator[Outcome]:
        queue = deque(items)
        attempts: dict[str, int] = {}
        left = len(items)
        self._pool = [self._start() for _ in range(min(self.workers, max(1, left)))]
        try:
            while left:
                for w in self._pool:
                    while queue and len(w.items) < IN_FLIGHT:
                        item = queue.popleft()
                        w.items[item.id] = item
                        w.conn.send(item)
                by_handle: dict[Any, _Worker] = {}
                for w in self._pool:
                    by_handle[w.conn] = w
                    by_handle[w.process.sentinel] = w
                for ready in wait(list(by_handle)):
                    w = by_handle[ready]
                    if ready is w.conn:
                        try:
                            outcome: Outcome = w.conn.recv()
                        except (EOFError, OSError):
                            continue  # it died: its sentinel says so
                        w.items.pop(outcome.id, None)
                        left -= 1
                        yield outcome
                    elif w in self._pool:
                        for outcome in self._replace(w, queue, attempts):
                            left -= 1
                            yield outcome
        finally:
            self.close()

    def _replace(
        self, dead: _Worker, queue: deque[Item], attempts: dict[str, int]
    ) -> Iterator[Outcome]:
        """Hand the dead worker's items out again (or give up on them) and start another."""
        while dead.conn.poll():  # results it sent before dying still count
            try:
                outcome: Outcome = dead.conn.recv()
            except (EOFError, OSError):
                break
            if dead.items.pop(outcome.id, None) is not None:
                yield outcome
        code = dead.process.exitcode
        for item in dead.items.values():
            attempts[item.id] = attempts.get(item.id, 0) + 1
            if attempts[item.id] >= MAX_ATTEMPTS:
                yield Outcome(
                    item.id,
                    error=f"worker_died: {attempts[item.id]} workers died "
                    f"rendering it (last exit code {code})",
                )
            else:
                queue.appendleft(item)
        dead.conn.close()
        self._pool.remove(dead)
        self._respawns += 1
        if self._respawns > MAX_ATTEMPTS * self.workers + len(attempts):
            raise EngineError(f"batch workers keep dying (last exit code {code}); giving up")
        self._pool.append(self._start())

    def close(self) -> None:
        for w in self._pool:
            with contextlib.suppress(OSError):
                w.conn.send(None)
        for w in self._pool:
            w.process.join(timeout=10)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._pool = []
