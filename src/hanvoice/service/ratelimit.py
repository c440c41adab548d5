"""Rate limits per API key, JWT subject or client address, shared through Redis.

``HANVOICE_RATE_LIMIT`` takes the ``limits`` library's notation, several limits separated by
``;`` (``100/hour;5/second``). Counters live in Redis when a URL is set, so every replica of a
region counts the same requests; without Redis, in process memory.

Why a fallback: a rate limiter must not turn a Redis outage into a service outage. Calls to
Redis are bounded by short timeouts and a circuit breaker; while Redis is away the limiter
counts in local memory (each replica then enforces the limit on its own traffic), logs that
once, and goes back to Redis when it answers again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import STRATEGIES, RateLimiter
from limits.errors import StorageError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from hanvoice.cache.breaker import Breaker
from hanvoice.cache.redistier import redact_url
from hanvoice.errors import InvalidParameter, RateLimited

log = logging.getLogger(__name__)

KEY_PREFIX = "hanvoice:rl"


def parse_limits(spec: str) -> tuple[RateLimitItem, ...]:
    """``"100/hour;5/second"`` -> limit items; a clear error for a malformed spec."""
    spec = spec.strip()
    if not spec:
        return ()
    try:
        return tuple(parse_many(spec))
    except ValueError:
        raise InvalidParameter(
            f"rate_limit {spec!r} is not valid; write e.g. '100/hour;5/second'"
        ) from None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    """The tightest limit's amount."""
    remaining: int
    reset_after: float
    """Seconds until that limit has room again."""
    window: int
    """That limit's window in seconds."""

    def headers(self) -> dict[str, str]:
        reset = str(max(0, math.ceil(self.reset_after)))
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": reset,
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.reset_after)))
        return out

    def error(self) -> RateLimited:
        return RateLimited(
            f"rate limit exceeded ({self.limit} per {self.window} s); "
            f"retry in {max(1, math.ceil(self.reset_after))} s",
            self.headers(),
        )


class Limiter:
    """Counts hits per identity against the configured limits; ``configure()`` swaps limits
    at run time (hot reload) without losing the storage."""

    def __init__(
        self,
        spec: str = "",
        redis_url: str | None = None,
        *,
        strategy: str = "moving-window",
        timeout: float = 0.25,
        breaker: Breaker | None = None,
        on_fallback: Callable[[bool], None] | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise InvalidParameter(
                f"rate_limit_strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}"
            )
        self.items = parse_limits(spec)
        self.spec = spec
        self.redis_url = redis_url
        self.timeout = timeout
        self.breaker = breaker or Breaker()
        self.on_fallback = on_fallback
        self._memory: Storage = MemoryStorage()
        self._shared: Storage | None = None
        if redis_url:
            options: dict[str, Any] = {
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
                "retry": Retry(NoBackoff(), 0),
            }
            self._shared = RedisStorage(
                "async+" + redis_url,
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                **options,
            )
        cls: type[Any] = STRATEGIES[strategy]  # concrete strategies; mypy sees the ABC
        self._local: RateLimiter = cls(self._memory)
        self._remote: RateLimiter | None = cls(self._shared) if self._shared else None

    @property
    def enabled(self) -> bool:
        return bool(self.items)

    @property
    def shared_healthy(self) -> bool:
        return self._shared is None or self.breaker.healthy

    def configure(self, spec: str) -> None:
        items = parse_limits(spec)
        self.items, self.spec = items, spec

    async def hit(self, identity: str) -> Decision | None:
        """Count one request for ``identity``; ``None`` when no limit is configured."""
        return await self._decide(identity, count=True)

    async def peek(self, identity: str) -> Decision | None:
        """Whether ``identity`` is over a limit now, counting nothing (``None``: no limit)."""
        return await self._decide(identity, count=False)

    async def _decide(self, identity: str, *, count: bool) -> Decision | None:
        items = self.items
        if not items:
            return None
        if self._remote is not None and self.breaker.allow():
            try:
                decision = await asyncio.wait_for(
                    self._check(self._remote, items, identity, count), self.timeout * 4
                )
            except (StorageError, OSError, TimeoutError) as exc:
                if self.breaker.failure():
                    log.warning(
                        "rate-limit store %s unavailable (%s); counting in local memory",
                        redact_url(self.redis_url or ""),
                        type(exc).__name__,
                    )
                    if self.on_fallback:
                        self.on_fallback(True)
            else:
                if self.breaker.success():
                    log.info(
                        "rate-limit store %s reachable again", redact_url(self.redis_url or "")
                    )
                    if self.on_fallback:
                        self.on_fallback(False)
                return decision
        return await self._check(self._local, items, identity, count)

    async def _check(
        self, limiter: RateLimiter, items: tuple[RateLimitItem, ...], identity: str, count: bool
    ) -> Decision:
        tightest: Decision | None = None
        for item in items:
            if count:
                allowed = await limiter.hit(item, identity)
            else:
                allowed = await limiter.test(item, identity)
            stats = await limiter.get_window_stats(item, identity)
            d = Decision(
                allowed,
                item.amount,
                stats.remaining,
                max(0.0, stats.reset_time - time.time()),
                item.get_expiry(),
            )
            if not allowed:
                return d
            if tightest is None or d.remaining < tightest.remaining:
                tightest = d
        assert tightest is not None
        return tightest

    async def close(self) -> None:
        if self._shared is not None:
            bridge = getattr(self._shared, "bridge", None)
            client = getattr(bridge, "storage", None)
            if client is not None:
                await client.aclose()
