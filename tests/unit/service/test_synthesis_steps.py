"""A stream's chunk generator is always closed, by a thread that is not running it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from hanvoice.service.synthesis import _Steps


def _gen(log: dict[str, Any], gate: threading.Event | None = None) -> Iterator[Any]:
    try:
        for i in range(5):
            if gate is not None:
                gate.wait(5)
            yield i
    finally:
        log["closed_by"] = threading.current_thread().name


def test_abandon_when_idle_closes_now() -> None:
    log: dict[str, Any] = {}
    steps = _Steps(_gen(log))  # type: ignore[arg-type]
    assert steps.next() == 0
    steps.abandon()
    assert log["closed_by"] == threading.current_thread().name
    assert steps.next() is None


def test_abandon_while_running_closes_after_the_step() -> None:
    log: dict[str, Any] = {}
    gate = threading.Event()
    steps = _Steps(_gen(log, gate))  # type: ignore[arg-type]
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(steps.next()), name="worker")
    worker.start()
    while not steps._busy:  # the worker is inside next()
        pass
    steps.abandon()  # must not touch the running generator
    assert "closed_by" not in log
    gate.set()
    worker.join(5)
    assert got == [0] and log["closed_by"] == "worker"


def test_finished_generator_is_fine() -> None:
    log: dict[str, Any] = {}
    steps = _Steps(_gen(log))  # type: ignore[arg-type]
    assert [steps.next() for _ in range(6)] == [0, 1, 2, 3, 4, None]
    steps.abandon()
    assert "closed_by" in log
