"""Admission by work: the backlog's drain time decides, with a Retry-After computed from it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hanvoice.errors import Overloaded
from hanvoice.scheduler import Scheduler
from hanvoice.service.workers import RESERVE_GRACE, WorkerPool


@pytest.fixture
def pool() -> WorkerPool:
    p = WorkerPool(Scheduler(2), max_backlog=10.0, max_requests=4)
    yield p
    p.shutdown()
    p.scheduler.close()


@pytest.mark.parametrize(
    ("admitted", "cost", "ok", "retry_after"),
    [
        ([], 100.0, True, None),  # alone, even larger than the bound: admitted
        ([8.0], 10.0, True, None),  # 4 s + 5 s <= 10 s
        ([8.0, 8.0], 6.0, False, 1),  # 8 + 3 = 11 s: 1 s over
        ([16.0], 8.0, False, 2),  # 8 + 4 = 12 s: 2 s over
        ([16.0], 14.0, False, 3),  # 7 s is over half the bound: counts 5 s; 3 s over
        ([2.0], 40.0, True, None),  # 1 s + 20 s counted as 5 s: a huge one is not starved
        ([0.1, 0.1, 0.1, 0.1], 0.1, False, 1),  # small, but 4 requests in flight already
    ],
)
def test_admission_by_expected_drain_time(
    pool: WorkerPool, admitted: list[float], cost: float, ok: bool, retry_after: int | None
) -> None:
    flows = [pool.admit(c) for c in admitted]
    if ok:
        pool.admit(cost).close()
    else:
        with pytest.raises(Overloaded) as info:
            pool.admit(cost)
        assert info.value.retry_after == retry_after
        assert "s of work queued" in str(info.value)
        assert pool.rejected == 1
    for f in flows:
        f.close()
    assert pool.admitted == 0 and pool.backlog() == 0.0


def test_full_says_whether_a_short_request_would_be_refused(pool: WorkerPool) -> None:
    pool.probe_cost = 1.0  # 0.5 s on two cores
    assert not pool.full
    busy = pool.admit(18.0)  # 9 s + 0.5 s fits
    assert not pool.full
    more = pool.admit(2.0)  # 10 s: the next short one would not
    assert pool.full
    more.close()
    busy.close()
    assert not pool.full


def test_work_done_leaves_the_backlog(pool: WorkerPool) -> None:
    flow = pool.admit(0.2)
    before = pool.backlog()
    flow.submit(sum, range(3_000_000)).result(timeout=30)
    assert pool.backlog() < before
    flow.close()


def test_requests_wait_on_their_own_threads_not_the_event_loop(pool: WorkerPool) -> None:
    names: set[str] = set()

    def job() -> str:
        names.add(threading.current_thread().name)
        return "ok"

    async def main() -> list[str]:
        return await asyncio.gather(*(pool.run(job) for _ in range(4)))

    assert asyncio.run(main()) == ["ok"] * 4
    assert all(n.startswith("hanvoice-req") for n in names)


def test_resize_moves_the_request_bound(pool: WorkerPool) -> None:
    flows = [pool.admit(0.01) for _ in range(4)]
    with pytest.raises(Overloaded):
        pool.admit(0.01)
    pool.resize(5)
    flows.append(pool.admit(0.01))
    for f in flows:
        f.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_refused_long_request_keeps_its_room_until_it_returns() -> None:
    clock = Clock()
    pool = WorkerPool(Scheduler(2), max_backlog=10.0, max_requests=8, clock=clock)
    running = pool.admit(12.0)  # 6 s of backlog
    with pytest.raises(Overloaded) as info:
        pool.admit(12.0, key="chapter")  # 6 + 5 (half the bound, at most) > 10: refused
    assert info.value.retry_after == 1
    with pytest.raises(Overloaded):
        pool.admit(4.0, key="other")  # 6 + 2 would fit, but not beside the reserved 6
    pool.admit(0.5, key="prompt").close()  # a short one still passes
    running.close()
    mine = pool.admit(12.0, key="chapter")  # it came back: admitted, reservation used up
    pool.admit(4.0, key="other").close()  # 6 + 2 <= 10 again
    mine.close()
    pool.shutdown()
    pool.scheduler.close()


def test_a_reservation_lapses_when_its_request_never_returns() -> None:
    clock = Clock()
    pool = WorkerPool(Scheduler(2), max_backlog=10.0, max_requests=8, clock=clock)
    running = pool.admit(12.0)
    with pytest.raises(Overloaded):
        pool.admit(12.0, key="gone")
    with pytest.raises(Overloaded):
        pool.admit(4.0, key="other")
    clock.now = 2 + RESERVE_GRACE + 0.1  # its Retry-After and the grace have passed
    pool.admit(4.0, key="other").close()
    running.close()
    pool.shutdown()
    pool.scheduler.close()


@pytest.mark.parametrize(
    ("held", "memory", "ok"),
    [
        ([], 500, True),  # alone: admitted (its own size is bounded by max_answer_bytes)
        ([40], 60, True),  # 100 <= 100
        ([40, 40], 30, False),  # 110 > 100
        ([90], 0, True),  # a stream holds nothing
    ],
)
def test_admission_by_answer_bytes(held: list[int], memory: int, ok: bool) -> None:
    pool = WorkerPool(Scheduler(2), max_backlog=10.0, max_requests=8, max_memory=100)
    try:
        flows = [pool.admit(0.1, memory=m) for m in held]
        if ok:
            pool.admit(0.1, memory=memory).close()
        else:
            with pytest.raises(Overloaded, match="MB of answers") as err:
                pool.admit(0.1, memory=memory)
            assert err.value.retry_after >= 1
        flows[0].reestimate(0.1, 0) if flows else None
        pool.admit(0.1, memory=memory).close()  # what a flow gives back is room again
        for f in flows:
            f.close()
        assert pool.scheduler.memory() == 0
    finally:
        pool.shutdown()
        pool.scheduler.close()
