"""The Ray executor: the same job on a Ray cluster, the driver still writing OUTDIR.

Each actor holds loaded voices (built by :func:`~hanvoice.batch.voice.worker_catalog`, one
core each) and renders a few short items per call (:func:`next_call`); the encoded bytes come
back to the driver through Ray's object store, so workers need no shared storage. At most
:data:`IN_FLIGHT` calls are out per actor. When an actor's process or node dies, its calls
fail with a Ray error: the items go back to the front of the queue (up to
:data:`~hanvoice.batch.local.MAX_ATTEMPTS` times) and a new actor is started, wherever the
cluster has a free CPU.

Import this module only when Ray is wanted: it imports ``ray``.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import RayError, RayTaskError

from hanvoice.batch.items import Item, Outcome
from hanvoice.batch.local import IN_FLIGHT, MAX_ATTEMPTS
from hanvoice.batch.voice import render, worker_catalog
from hanvoice.errors import EngineError

log = logging.getLogger(__name__)

CALL_CHARS = 160
"""Characters of text a call gathers before it is sent: one call costs the cluster ~2.6 ms
of CPU besides its rendering (measured here with 300 kB answers: driver, raylet, object
store), 3-4 % of a one-sentence IVR prompt; a few prompts per call make it ~1 %."""
CALL_ITEMS = 6
"""Items in one call at most: a worker that dies takes no more than this back to the queue."""


def next_call(queue: deque[Item]) -> list[Item]:
    """Take the next call's items off the front of ``queue``: at least one, then more while
    the text stays under :data:`CALL_CHARS` and the count under :data:`CALL_ITEMS` (a
    chapter goes alone)."""
    group = [queue.popleft()]
    chars = len(group[0].text)
    while queue and len(group) < CALL_ITEMS and chars + len(queue[0].text) <= CALL_CHARS:
        chars += len(queue[0].text)
        group.append(queue.popleft())
    return group


class BatchWorker:
    """A Ray actor's body (made remote in :meth:`RayExecutor._start`)."""

    def __init__(self, voices_file: str | None) -> None:
        self.catalog = worker_catalog(voices_file)

    def render(self, items: list[Item]) -> list[Outcome]:
        return [render(self.catalog, item) for item in items]

    def pid(self) -> int:
        return os.getpid()


@dataclass
class _Call:
    items: list[Item]
    actor: Any
    slot: int


class RayExecutor:
    def __init__(
        self, address: str, workers: int | None = None, voices_file: str | None = None
    ) -> None:
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(
                address=address,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=False,
            )
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or max(1, cpus)
        self.voices_file = voices_file
        self._remote: Any = ray.remote(num_cpus=1, max_restarts=0)(BatchWorker)
        self._actors: list[Any] = []
        self._respawns = 0

    def _start(self) -> Any:
        return self._remote.remote(self.voices_file)

    def run(self, items: Sequence[Item]) -> Iterator[Outcome]:
        queue = deque(items)
        attempts: dict[str, int] = {}
        out: dict[Any, _Call] = {}
        busy = [0] * min(self.workers, max(1, len(items)))
        self._actors = [self._start() for _ in busy]
        left = len(items)
        try:
            while left:
                for slot, actor in enumerate(self._actors):
                    while queue and busy[slot] < IN_FLIGHT:
                        group = next_call(queue)
                        out[actor.render.remote(group)] = _Call(group, actor, slot)
                        busy[slot] += 1
                ready, _ = ray.wait(list(out), num_returns=1)
                for ref in ready:
                    call = out.pop(ref)
                    busy[call.slot] -= 1 if self._actors[call.slot] is call.actor else 0
                    try:
                        outcomes: list[Outcome] = ray.get(ref)
                    except RayTaskError as exc:  # render() raised: not expected, but not fatal
                        outcomes = [
                            Outcome(i.id, error=f"internal_error: {exc}") for i in call.items
                        ]
                    except RayError as exc:  # the actor, its process or its node is gone
                        log.warning(
                            "worker lost rendering %s: %s",
                            ", ".join(i.id for i in call.items),
                            type(exc).__name__,
                        )
                        self._replace(call, busy)
                        outcomes = []
                        for item in reversed(call.items):  # back to the front, in order
                            n = attempts[item.id] = attempts.get(item.id, 0) + 1
                            if n < MAX_ATTEMPTS:
                                queue.appendleft(item)
                            else:
                                outcomes.append(
                                    Outcome(
                                        item.id,
                                        error=f"worker_died: {n} workers died rendering it "
                                        f"({exc!r:.200})",
                                    )
                                )
                    left -= len(outcomes)
                    yield from outcomes
        finally:
            self.close()

    def _replace(self, call: _Call, busy: list[int]) -> None:
        if self._actors[call.slot] is not call.actor:
            return  # already replaced, for another of its calls
        ray.kill(call.actor, no_restart=True)
        self._respawns += 1
        if self._respawns > MAX_ATTEMPTS * self.workers * 4:
            raise EngineError("Ray batch workers keep dying; giving up")
        self._actors[call.slot] = self._start()
        busy[call.slot] = 0

    def pids(self) -> list[int]:
        """The actors' process ids (for operators and tests)."""
        return [int(p) for p in ray.get([a.pid.remote() for a in self._actors])]

    def close(self) -> None:
        for actor in self._actors:
            ray.kill(actor, no_restart=True)
        self._actors = []

    def shutdown(self) -> None:
        """Leave the cluster, if this executor joined it."""
        self.close()
        if self._owns and ray.is_initialized():
            ray.shutdown()
