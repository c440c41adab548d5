"""The shared tier: Redis, one value per key, with a TTL and a maximum entry size.

Every call is bounded by short socket timeouts (no retries inside redis-py) and guarded by a
:class:`~hanvoice.cache.breaker.Breaker`, so a Redis that is down or stalled costs at most
one short timeout per ``reset_after`` seconds, never seconds per request. The client
reconnects by itself: redis-py drops broken connections from its pool and the half-open
probe opens a new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from hanvoice.cache.breaker import Breaker
from hanvoice.cache.entry import CachedAudio, CorruptEntry
from hanvoice.cache.events import CacheObserver, NullObserver

log = logging.getLogger(__name__)

KEY_PREFIX = "hanvoice:audio:"


def redact_url(url: str) -> str:
    """``redis://:secret@host:6379/0`` -> ``redis://***@host:6379/0`` (for logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def make_client(url: str, timeout: float) -> Redis:
    """An asyncio Redis client that fails fast: no hidden retries, short timeouts."""
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
    )
    return client


class RedisTier:
    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 0.25,
        max_entry_bytes: int = 4 * 1024 * 1024,
        breaker: Breaker | None = None,
        observer: CacheObserver | None = None,
        client: Redis | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.max_entry_bytes = max_entry_bytes
        self.breaker = breaker or Breaker()
        self.observer = observer or NullObserver()
        self.client = client or make_client(url, timeout)

    @property
    def healthy(self) -> bool:
        return self.breaker.healthy

    async def get(self, key: str) -> CachedAudio | None:
        blob = await self._call("get", lambda: self.client.get(KEY_PREFIX + key))
        if not isinstance(blob, bytes):
            return None
        try:
            return CachedAudio.from_bytes(blob)
        except CorruptEntry as exc:
            log.warning("ignoring unreadable redis cache entry %s: %s", key[:16], exc)
            return None

    async def set(self, key: str, entry: CachedAudio, ttl: float) -> bool:
        blob = entry.to_bytes()
        if len(blob) > self.max_entry_bytes or ttl <= 0:
            return False
        ok = await self._call(
            "set", lambda: self.client.set(KEY_PREFIX + key, blob, px=int(ttl * 1000))
        )
        return bool(ok)

    async def ping(self) -> bool:
        return bool(await self._call("ping", self.client.ping))

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, op: str, command: Callable[[], Awaitable[Any]]) -> Any:
        """Run one Redis command under the breaker; any failure is a bypass, never raised."""
        if not self.breaker.allow():
            self.observer.bypass(self.name, op)
            return None
        try:
            # The outer timeout also covers DNS and the connect itself.
            result = await asyncio.wait_for(command(), self.timeout * 2)
        except (RedisError, OSError, TimeoutError) as exc:
            self.observer.error(self.name, op)
            if self.breaker.failure():
                log.warning(
                    "redis cache %s unavailable (%s: %s); bypassing it until it answers again",
                    redact_url(self.url),
                    type(exc).__name__,
                    exc,
                )
                self.observer.health(self.name, False)
            return None
        if self.breaker.success():
            log.info("redis cache %s reachable again", redact_url(self.url))
            self.observer.health(self.name, True)
        return result
