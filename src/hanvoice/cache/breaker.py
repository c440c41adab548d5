"""A small circuit breaker for optional backends (Redis cache, shared rate-limit counters).

Why: a dead Redis must not cost every request a socket timeout. After a failure the breaker
*opens* and callers skip the backend without trying; after ``reset_after`` seconds one call
is let through (*half-open*); success closes it, failure re-opens it with the wait doubled
(up to ``max_reset_after``). Transitions are returned to the caller so it can log once per
outage instead of once per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    def __init__(
        self,
        reset_after: float = 1.0,
        max_reset_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_reset = reset_after
        self.max_reset = max_reset_after
        self._reset = reset_after
        self._clock = clock
        self._state = State.CLOSED
        self._opened_at = 0.0
        self._lock = threading.Lock()

    @property
    def state(self) -> State:
        return self._state

    @property
    def healthy(self) -> bool:
        return self._state is State.CLOSED

    def allow(self) -> bool:
        """May the caller use the backend now? In half-open state only one caller may."""
        with self._lock:
            if self._state is State.CLOSED:
                return True
            if self._state is State.OPEN and self._clock() - self._opened_at >= self._reset:
                self._state = State.HALF_OPEN
                return True
            return False

    def success(self) -> bool:
        """Record a good call; True when this ends an outage (log "back")."""
        with self._lock:
            recovered = self._state is not State.CLOSED
            self._state = State.CLOSED
            self._reset = self.base_reset
            return recovered

    def failure(self) -> bool:
        """Record a failed call; True when this starts an outage (log "down" once)."""
        with self._lock:
            started = self._state is State.CLOSED
            if self._state is State.HALF_OPEN:
                self._reset = min(self._reset * 2, self.max_reset)
            self._state = State.OPEN
            self._opened_at = self._clock()
            return started
