"""The audio cache the service and ``hanvoice cache warm`` use: memory first, then Redis.

A lookup tries the in-process LRU (microseconds), then Redis (one round trip, shared by
every replica of the region); a Redis hit is copied into memory so repeats stay local.
A store writes both. Either tier may be absent. ``enabled`` and ``ttl`` can be changed at
run time (hot reload); turning the cache off makes every lookup a miss and every store a
no-op without dropping what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hanvoice.cache.entry import CachedAudio
from hanvoice.cache.events import CacheObserver, NullObserver
from hanvoice.cache.memory import MemoryLRU
from hanvoice.cache.redistier import RedisTier, redact_url


@dataclass(frozen=True, slots=True)
class Hit:
    entry: CachedAudio
    tier: str
    """``memory`` or ``redis``: where it was found."""


class AudioCache:
    def __init__(
        self,
        memory: MemoryLRU | None = None,
        redis: RedisTier | None = None,
        *,
        ttl: float = 86400.0,
        enabled: bool = True,
        observer: CacheObserver | None = None,
    ) -> None:
        self.memory = memory
        self.redis = redis
        self.ttl = ttl
        self.enabled = enabled
        self.observer = observer or NullObserver()
        if redis is not None:
            redis.observer = self.observer

    def configure(self, *, enabled: bool, ttl: float) -> None:
        """Apply dynamic settings (called by the config reloader)."""
        self.enabled = enabled
        self.ttl = ttl

    async def get(self, key: str) -> Hit | None:
        if not self.enabled:
            return None
        if self.memory is not None:
            entry = self.memory.get(key)
            if entry is not None:
                self.observer.hit(self.memory.name)
                return Hit(entry, self.memory.name)
        if self.redis is not None:
            entry = await self.redis.get(key)
            if entry is not None:
                if self.memory is not None:
                    self.memory.set(key, entry, self.ttl)
                self.observer.hit(self.redis.name)
                return Hit(entry, self.redis.name)
        self.observer.miss()
        return None

    async def put(self, key: str, entry: CachedAudio) -> None:
        if not self.enabled:
            return
        if self.memory is not None:
            self.memory.set(key, entry, self.ttl)
        if self.redis is not None:
            await self.redis.set(key, entry, self.ttl)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.close()

    def status(self) -> dict[str, Any]:
        """For ``/version`` and debugging: what is configured and whether Redis answers."""
        out: dict[str, Any] = {"enabled": self.enabled, "ttl": self.ttl}
        if self.memory is not None:
            out["memory"] = {
                "entries": len(self.memory),
                "bytes": self.memory.bytes_used,
                "max_bytes": self.memory.max_bytes,
            }
        if self.redis is not None:
            out["redis"] = {"url": redact_url(self.redis.url), "healthy": self.redis.healthy}
        return out


def build_cache(
    *,
    memory_bytes: int,
    redis_url: str | None,
    ttl: float,
    enabled: bool = True,
    redis_timeout: float = 0.25,
    max_entry_bytes: int = 4 * 1024 * 1024,
    observer: CacheObserver | None = None,
) -> AudioCache:
    """The cache as configured: memory tier when ``memory_bytes`` > 0, Redis when a URL is set."""
    memory = (
        MemoryLRU(memory_bytes, max_entry_bytes=min(max_entry_bytes, memory_bytes // 4))
        if memory_bytes > 0
        else None
    )
    redis = (
        RedisTier(redis_url, timeout=redis_timeout, max_entry_bytes=max_entry_bytes)
        if redis_url
        else None
    )
    return AudioCache(memory, redis, ttl=ttl, enabled=enabled, observer=observer)
