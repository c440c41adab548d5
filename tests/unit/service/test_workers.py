"""The bounded pool: admission, fast overload, cancellation of queued work."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from hanvoice.errors import Overloaded
from hanvoice.service.workers import Cancelled, WorkerPool


def test_admission_is_bounded_and_overload_is_immediate() -> None:
    pool = WorkerPool(workers=1, queue_size=1, retry_after=3)

    async def main() -> None:
        async with pool.slot(), pool.slot():
            assert pool.full and pool.admitted == 2
            t0 = time.perf_counter()
            with pytest.raises(Overloaded) as info:
                async with pool.slot():
                    pass
            assert time.perf_counter() - t0 < 0.01
            assert info.value.retry_after == 3
        assert pool.admitted == 0 and pool.rejected == 1

    asyncio.run(main())
    pool.shutdown()


def test_inference_runs_off_the_event_loop_with_bounded_threads() -> None:
    pool = WorkerPool(workers=2, queue_size=10)
    seen: set[str] = set()
    active = 0
    peak = 0
    lock = threading.Lock()

    def job(_: threading.Event) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            seen.add(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            active -= 1

    async def main() -> None:
        loop_thread = threading.current_thread().name
        await asyncio.gather(*(pool.run(job) for _ in range(6)))
        assert loop_thread not in seen

    asyncio.run(main())
    assert peak == 2 and all(n.startswith("hanvoice-synth") for n in seen)
    pool.shutdown()


def test_cancelling_a_queued_job_drops_it_and_a_running_one_sees_the_event() -> None:
    pool = WorkerPool(workers=1, queue_size=5)
    started = threading.Event()
    saw_cancel = threading.Event()
    ran_second = threading.Event()

    def long_job(cancel: threading.Event) -> None:
        started.set()
        for _ in range(200):
            if cancel.is_set():
                saw_cancel.set()
                raise Cancelled()
            time.sleep(0.01)

    def second(_: threading.Event) -> None:
        ran_second.set()

    async def main() -> None:
        first = asyncio.ensure_future(pool.run(long_job))
        queued = asyncio.ensure_future(pool.run(second))
        await asyncio.to_thread(started.wait, 5)
        assert pool.running == 1 and pool.queued == 1
        queued.cancel()
        first.cancel()
        for t in (first, queued):
            with pytest.raises(asyncio.CancelledError):
                await t

    asyncio.run(main())
    assert saw_cancel.wait(5)
    time.sleep(0.05)
    assert not ran_second.is_set()
    assert pool.queued == 0 and pool.running == 0
    pool.shutdown()


def test_errors_in_jobs_reach_the_caller() -> None:
    pool = WorkerPool(workers=1, queue_size=0)

    def boom(_: threading.Event) -> None:
        raise ValueError("x")

    with pytest.raises(ValueError):
        asyncio.run(pool.run(boom))
    pool.shutdown()
