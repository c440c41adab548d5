"""The node scheduler, proved by the order pieces run in (never by how long they take).

Pieces here burn real CPU (the scheduler counts CPU seconds, not wall time) and record the
order they start in; every assertion is about that order, or about what ran at once.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import CancelledError, Future

import pytest

from hanvoice.scheduler import INLINE, Flow, Resource, Scheduler


def burn(seconds: float) -> None:
    """Use ``seconds`` of this thread's CPU."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class Log:
    """Start order of pieces, as (flow label, piece index)."""

    def __init__(self) -> None:
        self.order: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def piece(self, label: str, i: int, cpu: float) -> tuple[str, int]:
        with self._lock:
            self.order.append((label, i))
        burn(cpu)
        return label, i


def wait_all(futures: list[Future[tuple[str, int]]]) -> None:
    for f in futures:
        f.result(timeout=30)


@pytest.fixture
def sched() -> Scheduler:
    s = Scheduler(2)
    yield s
    s.close()


def test_a_lone_flow_fans_out_over_every_core(sched: Scheduler) -> None:
    both = threading.Barrier(2, timeout=10)  # passes only if two pieces run at once
    names: set[str] = set()

    def piece() -> None:
        names.add(threading.current_thread().name)
        both.wait()

    with sched.flow() as f:
        futures = [f.submit(piece) for _ in range(4)]
        for fut in futures:
            fut.result(timeout=10)
    assert len(names) == 2


def test_a_short_flow_runs_before_the_rest_of_a_long_one(sched: Scheduler) -> None:
    log = Log()
    gate = threading.Event()
    long = sched.flow(cost=20.0, label="long")
    # the long flow has run a while and has 30 pieces queued
    wait_all([long.submit(log.piece, "long", i, 0.01) for i in range(6)])
    long.submit(gate.wait)  # hold one core so the queue state is known when short arrives
    queued = [long.submit(log.piece, "long", i, 0.005) for i in range(6, 36)]
    time.sleep(0.05)
    short = sched.flow(cost=0.05, label="short")
    mark = len(log.order)
    mine = [short.submit(log.piece, "short", i, 0.005) for i in range(5)]
    wait_all(mine)
    gate.set()
    wait_all(queued)
    after = log.order[mark:]
    last_short = max(k for k, (label, _) in enumerate(after) if label == "short")
    # at most the one long piece that was already starting when short arrived
    assert sum(1 for label, _ in after[:last_short] if label == "long") <= 1
    long.close()
    short.close()


def test_long_flows_share_the_cores_round_robin() -> None:
    sched = Scheduler(1)
    log = Log()
    a, b = sched.flow(cost=30.0, label="a"), sched.flow(cost=20.0, label="b")
    hold = threading.Event()
    a.submit(hold.wait)
    fa = [a.submit(log.piece, "a", i, 0.01) for i in range(12)]
    fb = [b.submit(log.piece, "b", i, 0.01) for i in range(12)]
    hold.set()
    wait_all(fa + fb)
    labels = [label for label, _ in log.order]
    # both are long: they strictly take turns, although b has less work left
    assert all(x != y for x, y in itertools.pairwise(labels[:20])), labels
    sched.close()


@pytest.mark.parametrize(
    ("costs", "order"),
    [
        ((0.5, 0.1, 0.3, 0.1), [1, 3, 0, 2]),  # 0.1s first; 0.5 and 0.3 are alike: FIFO
        ((0.9, 0.1, 0.3), [1, 2, 0]),  # each less than half the next: shortest first
        ((0.30, 0.27, 0.33, 0.25), [0, 1, 2, 3]),  # a drifting estimate: arrival order
    ],
)
def test_among_short_flows_clearly_less_work_goes_first(
    costs: tuple[float, ...], order: list[int]
) -> None:
    sched = Scheduler(1)
    log = Log()
    hold = threading.Event()
    with sched.flow(cost=0.0) as blocker:
        blocker.submit(hold.wait)
        flows = [sched.flow(cost=c, label=str(c)) for c in costs]
        futures = [f.submit(log.piece, f.label, k, 0.0) for k, f in enumerate(flows)]
        hold.set()
        wait_all(futures)
    # a FIFO, not a share: each flow's one piece runs whole, in this order
    assert [i for _, i in log.order] == order
    for f in flows:
        f.close()
    sched.close()


def test_pieces_of_one_flow_start_in_the_order_submitted() -> None:
    sched = Scheduler(1)
    log = Log()
    with sched.flow() as f:
        wait_all([f.submit(log.piece, "f", i, 0.0) for i in range(20)])
    assert [i for _, i in log.order] == list(range(20))
    sched.close()


def test_cancel_drops_every_queued_piece_at_once(sched: Scheduler) -> None:
    release = threading.Event()
    ran: list[int] = []
    f = sched.flow()
    blockers = [f.submit(release.wait) for _ in range(2)]
    queued = [f.submit(ran.append, i) for i in range(10)]
    time.sleep(0.05)
    assert sched.queued == 10 and sched.running == 2
    f.cancel()
    assert sched.queued == 0 and all(q.cancelled() for q in queued)
    late = f.submit(ran.append, 99)  # a cancelled flow takes no more work
    assert late.cancelled()
    release.set()
    for b in blockers:
        b.result(timeout=10)
    with pytest.raises(CancelledError):
        queued[0].result()
    assert ran == []
    f.close()
    assert sched.active == 0


def test_a_busy_resource_does_not_idle_a_core(sched: Scheduler) -> None:
    res = Resource("acoustic", 1)
    log = Log()
    holding = threading.Event()
    release = threading.Event()
    active = 0
    peak = 0
    lock = threading.Lock()

    def exclusive(i: int) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        holding.set()
        if i == 0:
            release.wait(10)
        with lock:
            active -= 1

    with sched.flow() as f:
        first = f.submit(exclusive, 0, resource=res)
        assert holding.wait(10)
        second = f.submit(exclusive, 1, resource=res)  # must wait for the resource
        other = f.submit(log.piece, "free", 0, 0.0)  # the idle core takes this meanwhile
        other.result(timeout=10)
        assert not second.done()
        release.set()
        first.result(timeout=10)
        second.result(timeout=10)
    assert peak == 1


def test_errors_reach_the_caller_and_the_scheduler_goes_on(sched: Scheduler) -> None:
    def boom() -> None:
        raise ValueError("x")

    with sched.flow() as f:
        with pytest.raises(ValueError):
            f.submit(boom).result(timeout=10)
        assert f.submit(lambda: 7).result(timeout=10) == 7


def test_backlog_is_the_remaining_estimate_over_the_cores(sched: Scheduler) -> None:
    a = sched.flow(cost=4.0)
    b = sched.flow(cost=2.0)
    assert sched.backlog() == pytest.approx(3.0)
    a.submit(burn, 0.05).result(timeout=10)
    assert sched.backlog() < 3.0
    a.close()
    b.close()
    assert sched.backlog() == 0.0 and sched.active == 0


def test_resize_changes_how_many_pieces_run_at_once() -> None:
    sched = Scheduler(1)
    with sched.flow() as f:
        f.submit(lambda: None).result(timeout=10)
        sched.resize(2)
        both = threading.Barrier(2, timeout=10)
        futures = [f.submit(both.wait) for _ in range(2)]
        for fut in futures:
            fut.result(timeout=10)
    sched.close()


def test_inline_runs_at_once_in_the_callers_thread() -> None:
    here = threading.current_thread().name
    assert INLINE.submit(lambda: threading.current_thread().name).result() == here
    with pytest.raises(ZeroDivisionError):
        INLINE.submit(lambda: 1 / 0).result()


def test_queue_wait_is_reported_when_the_first_piece_starts(sched: Scheduler) -> None:
    seen: list[Flow] = []
    sched.on_first_start = seen.append
    with sched.flow() as f:
        f.submit(lambda: None).result(timeout=10)
        f.submit(lambda: None).result(timeout=10)
    assert seen == [f] and f.queue_wait is not None and f.queue_wait >= 0


# --- the express lane (policy 4) ------------------------------------------------------------


def _holding(sched: Scheduler, cost: float, label: str) -> tuple[Flow, threading.Event]:
    """A flow of ``cost`` whose one piece holds a worker until the event is set."""
    started, hold = threading.Event(), threading.Event()

    def piece() -> None:
        started.set()
        hold.wait(30)

    f = sched.flow(cost=cost, label=label)
    f.submit(piece)
    assert started.wait(10)
    return f, hold


def test_the_express_lane_runs_a_short_flow_beside_a_long_piece() -> None:
    sched = Scheduler(1, express=1)
    long, hold = _holding(sched, 20.0, "long")
    with sched.flow(cost=0.05, label="short") as short:
        # the only worker is held by the long flow: the short piece still completes
        assert short.submit(lambda: threading.current_thread().name).result(timeout=10) == (
            "hanvoice-piece-express-0"
        )
    hold.set()
    long.close()
    sched.close()


@pytest.mark.parametrize(
    ("holder", "waiter"),
    [
        (0.05, 0.05),  # among short requests the lane stays closed: plain queueing
        (20.0, 20.0),  # a long flow never goes express
    ],
)
def test_the_express_lane_stays_closed(holder: float, waiter: float) -> None:
    sched = Scheduler(1, express=1)
    first, hold = _holding(sched, holder, "first")
    second = sched.flow(cost=waiter, label="second")
    fut = second.submit(lambda: None)
    with pytest.raises(TimeoutError):
        fut.result(timeout=0.3)
    hold.set()
    fut.result(timeout=10)
    for f in (first, second):
        f.close()
    sched.close()


def test_the_lane_opens_whenever_a_long_piece_takes_the_worker() -> None:
    sched = Scheduler(1, express=1)
    gate = threading.Event()
    long = sched.flow(cost=20.0, label="long")
    short = sched.flow(cost=0.05, label="short")
    # the worker is held by a short piece (lane closed), a long piece queues behind it
    blocker = short.submit(gate.wait, 30)
    long_started, release_long = threading.Event(), threading.Event()
    long.submit(lambda: (long_started.set(), release_long.wait(30)))
    gate.set()
    blocker.result(timeout=10)
    assert long_started.wait(10)
    # the long piece holds the worker now: a new short piece is served by the lane
    short.submit(lambda: None).result(timeout=10)
    release_long.set()
    for f in (long, short):
        f.close()
    sched.close()
