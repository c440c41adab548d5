"""Admission by work: the backlog's drain time decides, with a Retry-After computed from it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hanvoice.errors import Overloaded
from hanvoice.scheduler import Scheduler
from hanvoice.service.workers import WorkerPool


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
        ([16.0], 14.0, False, 5),  # 8 + 7 = 15 s: 5 s over
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
