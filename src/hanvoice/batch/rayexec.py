"""The Ray executor: the same job on a Ray cluster, the driver still writing OUTDIR.

Each actor holds loaded voices (built by :func:`~hanvoice.batch.voice.worker_catalog`, one
core each) and renders one item per call; the encoded bytes come back to the driver through
Ray's object store, so workers need no shared storage. At most :data:`IN_FLIGHT` calls are
out per actor. When an actor's process or node dies, its calls fail with a Ray error: the
items go back to the front of the queue (up to :data:`~hanvoice.batch.local.MAX_ATTEMPTS`
times) and a new actor is started, wherever the cluster has a free CPU.

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


class BatchWorker:
    """A Ray actor's body (made remote in :meth:`RayExecutor._start`)."""

    def __init__(self, voices_file: str | None) -> None:
        self.catalog = worker_catalog(voices_file)

    def render(self, item: Item) -> Outcome:
        return render(self.catalog, item)

    def pid(self) -> int:
        return os.getpid()


@dataclass
class _Call:
    item: Item
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
        calls: dict[Any, _Call] = {}
        busy = [0] * min(self.workers, max(1, len(items)))
        self._actors = [self._start() for _ in busy]
        left = len(items)
        try:
            while left:
                for slot, actor in enumerate(self._actors):
                    while queue and busy[slot] < IN_FLIGHT:
                        item = queue.popleft()
                        calls[actor.render.remote(item)] = _Call(item, actor, slot)
                        busy[slot] += 1
                ready, _ = ray.wait(list(calls), num_returns=1)
                for ref in ready:
                    call = calls.pop(ref)
                    busy[call.slot] -= 1 if self._actors[call.slot] is call.actor else 0
                    try:
                        outcome: Outcome = ray.get(ref)
                    except RayTaskError as exc:  # render() raised: not expected, but not fatal
                        outcome = Outcome(call.item.id, error=f"internal_error: {exc}")
                    except RayError as exc:  # the actor, its process or its node is gone
                        log.warning(
                            "worker lost rendering %s: %s", call.item.id, type(exc).__name__
                        )
                        self._replace(call, busy)
                        n = attempts[call.item.id] = attempts.get(call.item.id, 0) + 1
                        if n < MAX_ATTEMPTS:
                            queue.appendleft(call.item)
                            continue
                        outcome = Outcome(
                            call.item.id,
                            error=f"worker_died: {n} workers died rendering it ({exc!r:.200})",
                        )
                    left -= 1
                    yield outcome
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
