"""The audio cache across two real service instances sharing one real Redis.

Also: Redis killed and restarted while requests flow (none may fail), a stalled Redis, the
``hanvoice cache warm`` command, the JSON logs and the /metrics series.
"""

from __future__ import annotations

import base64
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prod_server import Node, eventually, start_node, tts

from support.audio import assert_speech, decode
from support.servers import RedisServer


@pytest.fixture(scope="module")
def nodes(redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    d = tmp_path_factory.mktemp("cache-nodes")
    settings = {"redis_url": redis.url, "redis_timeout": 0.2, "region": "cn-test"}
    started = [start_node(d, **settings), start_node(d, **settings)]
    yield started
    for n in started:
        n.stop()


def unique(prefix: str) -> str:
    return f"{prefix}第{random.randrange(10**6)}号。"


def test_a_response_made_on_one_node_is_a_hit_on_the_other(nodes: list[Node]) -> None:
    a, b = nodes
    text = unique("共享缓存测试")
    first = tts(a.url, text, emotion="happy")
    second = tts(b.url, text, emotion="happy")
    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache"] == "miss" and second.headers["x-cache"] == "hit"
    assert first.json()["audio"] == second.json()["audio"]
    audio, sr = decode(base64.b64decode(second.json()["audio"]))
    assert_speech(audio, sr, text_chars=len(text))
    # another emotion, format or speed is another entry
    for change in ({"emotion": "sad"}, {"format": "mp3"}, {"speed": 1.2}):
        r = tts(b.url, text, **{"emotion": "happy", **change})
        assert r.headers["x-cache"] == "miss", change
    # the raw-audio GET shares the entry with the JSON POST
    g = httpx.get(
        b.url + "/tts", params={"text": text, "emotion": "happy", "format": "wav"}, timeout=60
    )
    assert g.headers["x-cache"] == "hit"
    assert g.content == base64.b64decode(first.json()["audio"])


def test_cache_hit_latency_over_http(nodes: list[Node]) -> None:
    """Printed, not asserted (timing targets live in bench/cache_hit.py)."""
    a, _ = nodes
    text = "您好，欢迎致电客服中心，请问有什么可以帮您？"
    with httpx.Client(base_url=a.url, timeout=60) as c:
        t = time.perf_counter()
        miss = tts(c, text)
        miss_ms = (time.perf_counter() - t) * 1000
        times = {"POST /tts (base64 JSON)": [], "GET /tts (audio)": []}
        for _ in range(40):
            t = time.perf_counter()
            r = tts(c, text)
            times["POST /tts (base64 JSON)"].append((time.perf_counter() - t) * 1000)
            assert r.headers["x-cache"] == "hit"
            t = time.perf_counter()
            g = c.get("/tts", params={"text": text, "format": "wav"})
            times["GET /tts (audio)"].append((time.perf_counter() - t) * 1000)
            assert g.headers["x-cache"] == "hit"
    assert miss.headers["x-cache"] == "miss"
    print(f"\ncache miss (synthesis): {miss_ms:.1f} ms, {len(g.content)} bytes of wav")
    for name, ms in times.items():
        ms.sort()
        print(f"cache hit {name}: median {statistics.median(ms):.1f} ms, "
              f"p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms")  # fmt: skip


def test_streams_are_cached_too(nodes: list[Node]) -> None:
    a, b = nodes
    text = unique("流式缓存")
    body = {"text": text, "stream": True, "format": "wav"}
    r1 = httpx.post(a.url + "/tts", json=body, timeout=60)
    r2 = httpx.post(b.url + "/tts", json=body, timeout=60)
    assert (r1.headers["x-cache"], r2.headers["x-cache"]) == ("miss", "hit")
    assert r1.content == r2.content and len(r1.content) > 10000


def test_redis_killed_and_restarted_mid_run(nodes: list[Node], redis: RedisServer) -> None:
    """Requests flow through both nodes while Redis dies and comes back: none may fail."""
    a, b = nodes
    hot = unique("热点短语")
    assert tts(a.url, hot).status_code == 200
    results: list[tuple[int, float, str]] = []
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(timeout=60) as c:
            i = 0
            while not stop.is_set():
                node = nodes[i % 2]
                text = hot if i % 4 else unique("新句子")  # every 4th is a miss somewhere
                t = time.perf_counter()
                r = c.post(node.url + "/tts", json={"text": text})
                results.append(
                    (r.status_code, time.perf_counter() - t, r.headers.get("x-cache", ""))
                )
                i += 1

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        time.sleep(1.5)
        redis.kill()
        down_at = len(results)
        time.sleep(4)
        up_at = len(results)
        redis.start()

        # back by itself: an entry written on a now goes through Redis to b
        def shared_again() -> bool:
            probe = unique("恢复探针")
            return (
                tts(a.url, probe).status_code == 200
                and tts(b.url, probe).headers.get("x-cache") == "hit"
            )

        took = eventually(shared_again, timeout=30, interval=0.5)
        time.sleep(1)
    finally:
        stop.set()
        worker.join(60)
    statuses = [s for s, _, _ in results]
    during = results[down_at:up_at]
    print(f"\n{len(results)} requests, {len(during)} while Redis was down; "
          f"worst latency while down {max(d for _, d, _ in during) * 1000:.0f} ms; "
          f"shared cache back {took:.1f} s after restart")  # fmt: skip
    assert statuses and all(s == 200 for s in statuses), statuses
    assert len(during) >= 3
    assert any(c == "hit" for _, _, c in during)  # the memory tier kept serving
    for node in nodes:
        downs = [x for x in node.log_lines() if "unavailable" in x["message"]]
        backs = [x for x in node.log_lines() if "reachable again" in x["message"]]
        assert len(downs) == 1 and len(backs) == 1, (downs, backs)  # logged once per outage
        m = node.metrics()
        assert 'hanvoice_backend_up{backend="redis_cache"} 1.0' in m
        assert "hanvoice_cache_errors_total" in m


def test_stalled_redis_costs_one_short_timeout(nodes: list[Node], redis: RedisServer) -> None:
    a, _ = nodes
    hot = unique("停顿测试")
    with httpx.Client(base_url=a.url, timeout=60) as c:
        assert tts(c, hot).status_code == 200
        stall = subprocess.Popen(["redis-cli", "-p", str(redis.port), "DEBUG", "SLEEP", "3"],
                                 stdout=subprocess.DEVNULL)  # fmt: skip
        try:
            time.sleep(0.3)
            t = time.perf_counter()
            cold = tts(c, unique("停顿时的新句子"))
            cold_s = time.perf_counter() - t
            t = time.perf_counter()
            warm = tts(c, hot)
            warm_s = time.perf_counter() - t
        finally:
            stall.wait(10)
    print(f"\nwith Redis stalled: new text {cold_s * 1000:.0f} ms (synthesis + one "
          f"0.2 s timeout), memory hit {warm_s * 1000:.1f} ms")  # fmt: skip
    assert cold.status_code == 200 and warm.status_code == 200
    assert warm.headers["x-cache"] == "hit"
    assert cold_s < 2.5  # a 3 s stall must not be waited out


def test_cache_warm_command(nodes: list[Node], redis: RedisServer, tmp_path: Path) -> None:
    a, b = nodes
    phrases = [unique("前方路口请右转"), unique("欢迎光临")]
    f = tmp_path / "phrases.txt"
    f.write_text("# navigation\n" + "\n".join(phrases) + "\n", "utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "hanvoice.cli", "cache", "warm", str(f), "--emotion", "neutral",
         "--emotion", "happy", "--format", "wav", "--format", "mp3", "--redis-url", redis.url],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "warmed 8 entries" in out.stderr
    for p in phrases:
        for emotion in ("neutral", "happy"):
            for fmt in ("wav", "mp3"):
                r = tts(b.url, p, emotion=emotion, format=fmt)
                assert r.headers["x-cache"] == "hit", (p, emotion, fmt)
    via = unique("通过服务预热")
    f.write_text(via + "\n", "utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "hanvoice.cli", "cache", "warm", str(f), "--url", a.url],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert tts(b.url, via).headers["x-cache"] == "hit"
    bad = subprocess.run(
        [sys.executable, "-m", "hanvoice.cli", "cache", "warm", str(f), "--emotion", "bored",
         "--redis-url", redis.url],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "bored" in bad.stderr


def test_json_logs(nodes: list[Node]) -> None:
    for node in nodes:
        lines = node.log_lines()  # fails if any line is not JSON
        access = node.access()
        assert access and len(lines) > len(access)
        synth = [x for x in access if x.get("route") == "/tts" and x["status"] == 200]
        assert synth
        for x in synth:
            for key in ("timestamp", "client_ip", "text_length", "emotion", "infer_time",
                        "status", "request_id", "region", "cache", "format"):  # fmt: skip
                assert key in x, (key, x)
            assert x["region"] == "cn-test" and x["cache"] in ("hit", "miss")
            assert "text" not in x
        raw = node.output()
        assert "热点短语" not in raw and "共享缓存测试" not in raw  # no input text anywhere


def test_metrics_series(nodes: list[Node]) -> None:
    texts = [n.metrics() for n in nodes]
    text = "\n".join(texts)
    for series in [
        'hanvoice_requests_total{emotion="happy",method="POST",route="/tts",status="200"}',
        "hanvoice_request_duration_seconds_bucket",
        "hanvoice_synthesis_seconds_bucket",
        "hanvoice_first_audio_seconds",
        'hanvoice_cache_hits_total{tier="memory"}',
        'hanvoice_cache_hits_total{tier="redis"}',
        "hanvoice_cache_misses_total",
        "hanvoice_cache_memory_bytes",
        "hanvoice_queue_depth",
        "hanvoice_inflight_requests",
        "hanvoice_rate_limited_total",
        "hanvoice_filtered_total",
        "hanvoice_config_reloads_total",
        "hanvoice_config_info{",
        "hanvoice_degraded 0.0",
        'region="cn-test"',
    ]:
        if series.endswith("_total") and series + "{" not in text and series + " " not in text:
            # counters with labels appear once used; their HELP line is always there
            assert f"# HELP {series.removesuffix('_total')}" in text, series
            continue
        assert series in text, series
    for one in texts:
        check = subprocess.run(["promtool", "check", "metrics"], input=one, capture_output=True,
                               text=True, timeout=60)  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
