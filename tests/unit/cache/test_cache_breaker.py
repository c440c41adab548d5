from __future__ import annotations

from hanvoice.cache.breaker import Breaker, State


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_outage_and_recovery_cycle() -> None:
    clock = Clock()
    b = Breaker(reset_after=1.0, max_reset_after=4.0, clock=clock)
    assert b.allow() and b.healthy
    assert b.failure() is True  # outage starts: log once
    assert b.state is State.OPEN and not b.allow()
    clock.now = 1.0
    assert b.allow()  # one probe
    assert b.state is State.HALF_OPEN and not b.allow()
    assert b.failure() is False  # still down: no second log line
    clock.now = 2.5
    assert not b.allow()  # wait doubled to 2 s
    clock.now = 3.0
    assert b.allow()
    assert b.success() is True  # outage ends: log once
    assert b.healthy and b.allow()
    assert b.success() is False


def test_backoff_is_capped() -> None:
    clock = Clock()
    b = Breaker(reset_after=1.0, max_reset_after=4.0, clock=clock)
    b.failure()
    for _ in range(10):
        clock.now += 100
        assert b.allow()
        b.failure()
    clock.now += 4.0
    assert b.allow()
