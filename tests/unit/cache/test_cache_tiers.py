"""The two tiers against a real Redis: sharing, TTL, size limit, outages and slowness."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

import pytest

from hanvoice.cache.breaker import Breaker
from hanvoice.cache.entry import CachedAudio
from hanvoice.cache.memory import MemoryLRU
from hanvoice.cache.redistier import RedisTier, redact_url
from hanvoice.cache.tiered import AudioCache, build_cache
from support.servers import RedisServer


class Recorder:
    def __init__(self) -> None:
        self.events: Counter[str] = Counter()

    def hit(self, tier: str) -> None:
        self.events[f"hit:{tier}"] += 1

    def miss(self) -> None:
        self.events["miss"] += 1

    def error(self, tier: str, op: str) -> None:
        self.events[f"error:{op}"] += 1

    def bypass(self, tier: str, op: str) -> None:
        self.events[f"bypass:{op}"] += 1

    def health(self, tier: str, up: bool) -> None:
        self.events[f"up:{up}"] += 1


def entry(tag: str, n: int = 2000) -> CachedAudio:
    return CachedAudio(b"a" * n, "wav", "audio/wav", 24000, 0.5, {"tag": tag})


def test_two_caches_share_redis(redis_server: RedisServer) -> None:
    async def run() -> None:
        a = build_cache(memory_bytes=1 << 20, redis_url=redis_server.url, ttl=60)
        b = build_cache(memory_bytes=1 << 20, redis_url=redis_server.url, ttl=60)
        assert await b.get("k1") is None
        await a.put("k1", entry("one"))
        hit = await b.get("k1")
        assert hit is not None and hit.tier == "redis" and hit.entry == entry("one")
        again = await b.get("k1")  # copied into b's memory
        assert again is not None and again.tier == "memory"
        await a.close()
        await b.close()

    asyncio.run(run())


def test_ttl_and_max_entry_size(redis_server: RedisServer) -> None:
    async def run() -> None:
        tier = RedisTier(redis_server.url, max_entry_bytes=10_000)
        assert await tier.set("small", entry("s"), ttl=0.3)
        assert not await tier.set("big", entry("b", n=20_000), ttl=60)
        assert await tier.get("big") is None
        assert await tier.get("small") is not None
        await asyncio.sleep(0.5)
        assert await tier.get("small") is None
        await tier.close()

    asyncio.run(run())
    assert redis_server.cli("--scan", "--pattern", "hanvoice:audio:*") == ""


def test_disabled_cache_stores_and_serves_nothing(redis_server: RedisServer) -> None:
    async def run() -> None:
        cache = build_cache(memory_bytes=1 << 20, redis_url=redis_server.url, ttl=60)
        await cache.put("k", entry("x"))
        cache.configure(enabled=False, ttl=60)
        assert await cache.get("k") is None
        await cache.put("k2", entry("y"))
        cache.configure(enabled=True, ttl=60)
        assert await cache.get("k") is not None
        assert await cache.get("k2") is None
        await cache.close()

    asyncio.run(run())


def test_unreadable_value_is_a_miss(redis_server: RedisServer) -> None:
    redis_server.cli("set", "hanvoice:audio:junk", "not an entry")

    async def run() -> None:
        tier = RedisTier(redis_server.url)
        assert await tier.get("junk") is None
        assert tier.healthy
        await tier.close()

    asyncio.run(run())


def test_redis_killed_and_restarted(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Down: every call returns at once as a miss, one warning; back: used again, by itself."""
    rec = Recorder()
    caplog.set_level(logging.INFO, logger="hanvoice.cache")

    async def run() -> None:
        cache = AudioCache(
            MemoryLRU(1 << 20),
            RedisTier(redis_server.url, timeout=0.2, breaker=Breaker(reset_after=0.3)),
            ttl=60,
            observer=rec,
        )
        await cache.put("before", entry("b"))
        redis_server.kill()
        cache.memory.clear()  # type: ignore[union-attr]
        worst = 0.0
        for i in range(30):
            t = time.perf_counter()
            assert await cache.get(f"k{i}") is None
            await cache.put(f"k{i}", entry(str(i)))
            worst = max(worst, time.perf_counter() - t)
        assert worst < 1.0, f"a call took {worst:.3f}s with redis down"
        assert not cache.redis.healthy  # type: ignore[union-attr]
        redis_server.start()
        deadline = time.monotonic() + 10
        while not cache.redis.healthy:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "did not reconnect"
            await cache.get("probe")
            await asyncio.sleep(0.1)
        await cache.put("after", entry("a"))
        cache.memory.clear()  # type: ignore[union-attr]
        hit = await cache.get("after")
        assert hit is not None and hit.tier == "redis"
        await cache.close()

    asyncio.run(run())
    down = [r for r in caplog.records if "unavailable" in r.getMessage()]
    back = [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert len(down) == 1 and len(back) == 1
    assert rec.events["up:False"] == 1 and rec.events["up:True"] == 1
    assert rec.events["bypass:get"] + rec.events["bypass:set"] > 20  # skipped, not timed out
    assert rec.events["error:get"] + rec.events["error:set"] >= 1


def test_slow_redis_costs_one_short_timeout(redis_server: RedisServer) -> None:
    """A stalled Redis (DEBUG SLEEP) is cut off by the socket timeout, then skipped."""
    import subprocess

    async def run() -> None:
        tier = RedisTier(redis_server.url, timeout=0.2, breaker=Breaker(reset_after=5))
        await tier.set("k", entry("k"), ttl=60)
        stall = subprocess.Popen(["redis-cli", "-p", str(redis_server.port), "DEBUG", "SLEEP", "3"])
        await asyncio.sleep(0.2)
        t = time.perf_counter()
        first = await tier.get("k")
        took_first = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(20):
            assert await tier.get("k") is None
        took_rest = time.perf_counter() - t
        stall.wait(10)
        assert first is None
        assert took_first < 0.6, took_first
        assert took_rest < 0.05, took_rest
        await tier.close()

    asyncio.run(run())


def test_password_is_redacted_in_logs() -> None:
    assert redact_url("redis://:s3cret@h:6379/0") == "redis://***@h:6379/0"
    assert redact_url("redis://user:s3cret@h:6379") == "redis://***@h:6379"
    assert redact_url("redis://h:6379") == "redis://h:6379"
