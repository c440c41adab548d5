"""Rate limits against real Redis: shared counters, headers, and a Redis outage."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from hanvoice.cache.breaker import Breaker
from hanvoice.errors import InvalidParameter
from hanvoice.service.ratelimit import Limiter, parse_limits
from support.servers import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.mark.parametrize("spec", ["100/hour;5/second", "10 per minute", "1/day, 2/hour", ""])
def test_parse(spec: str) -> None:
    parse_limits(spec)


@pytest.mark.parametrize("spec", ["lots", "5/fortnight", "/hour"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(InvalidParameter, match="rate_limit"):
        parse_limits(spec)


def test_memory_limits_and_headers() -> None:
    async def run() -> None:
        lim = Limiter("3/minute;100/hour")
        seen = [await lim.hit("ip:1") for _ in range(4)]
        assert [d.allowed for d in seen if d] == [True, True, True, False]
        first, last = seen[0], seen[-1]
        assert first is not None and last is not None
        assert first.headers()["X-RateLimit-Limit"] == "3"
        assert first.headers()["X-RateLimit-Remaining"] == "2"
        assert "Retry-After" not in first.headers()
        h = last.headers()
        assert h["X-RateLimit-Remaining"] == "0" and 1 <= int(h["Retry-After"]) <= 60
        assert last.error().code == "rate_limited" and last.error().headers == h
        other = await lim.hit("ip:2")  # per identity
        assert other is not None and other.allowed
        lim.configure("")
        assert await lim.hit("ip:1") is None

    asyncio.run(run())


def test_two_limiters_share_redis(redis_server: RedisServer) -> None:
    async def run() -> None:
        a = Limiter("4/minute", redis_server.url)
        b = Limiter("4/minute", redis_server.url)
        results = []
        for lim in (a, b, a, b, a, b):
            d = await lim.hit("api_key:team")
            assert d is not None
            results.append(d.allowed)
        assert results == [True, True, True, True, False, False]
        assert a.shared_healthy and b.shared_healthy
        await a.close()
        await b.close()

    asyncio.run(run())


def test_redis_outage_falls_back_to_memory(redis_server: RedisServer) -> None:
    flips: list[bool] = []

    async def run() -> None:
        lim = Limiter(
            "1000/minute",
            redis_server.url,
            timeout=0.2,
            breaker=Breaker(reset_after=0.3),
            on_fallback=flips.append,
        )
        assert (await lim.hit("ip:x")) is not None
        redis_server.kill()
        t = time.perf_counter()
        for _ in range(50):
            d = await lim.hit("ip:x")
            assert d is not None and d.allowed
        assert time.perf_counter() - t < 2.0
        assert not lim.shared_healthy
        redis_server.start()
        deadline = time.monotonic() + 10
        while not lim.shared_healthy:
            assert time.monotonic() < deadline
            await lim.hit("ip:x")
            await asyncio.sleep(0.1)
        await lim.close()

    asyncio.run(run())
    assert flips == [True, False]


def test_unknown_strategy() -> None:
    with pytest.raises(InvalidParameter, match="strategy"):
        Limiter("1/second", strategy="leaky")
