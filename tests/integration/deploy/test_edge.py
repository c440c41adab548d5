"""The edge tier for real: nginx with deploy/edge/nginx.conf in front of two real origins.

- a repeated ``GET /tts`` is an edge HIT (also with the parameters in another order and
  the defaults spelt out), and an expired entry is revalidated with the origin's ETag;
- killing one origin (SIGKILL) during a bounded load of requests loses none
  (``proxy_next_upstream``); what was measured is printed and written to
  artifacts/edge_failover.json;
- with every origin down, cached phrases are still served (``proxy_cache_use_stale``) and an
  uncached phrase fails fast instead of hanging.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from deploykit import DEPLOY, ROOT, Edge, Origin, Origins

from support.audio import assert_speech, decode

StartEdge = Callable[[list[Origin]], Edge]
PHRASE = "欢迎使用多地域语音合成服务"
LOAD_PHRASES = [
    "您的订单已经发货", "前方路口请右转", "会议将在十分钟后开始", "请系好安全带",
    "今天北京晴转多云", "您有一条新消息", "列车即将进站", "电量不足请充电",
    "欢迎光临本店", "请稍候正在为您转接", "导航已开始", "您已偏离路线",
]  # fmt: skip
LOAD_REQUESTS = 36
LOAD_CONCURRENCY = 4
KILL_AFTER = 10


def start_pair(origins: Origins, start_edge: StartEdge, max_age: int) -> tuple[Edge, list[Origin]]:
    # One config version for both, as pods sharing a ConfigMap have (the ETag includes it;
    # left unset it would be a hash of each origin's settings, and their ports differ).
    pair = [
        origins.start(
            f"origin-{x}",
            region="cn-beijing",
            build="0.1.0",
            http_max_age=str(max_age),
            queue_size="32",
            config_version="edge-test-1",
        )
        for x in "ab"
    ]
    for o in pair:
        o.wait_ready()
    return start_edge(pair), pair


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """One keep-alive client, so the latencies measured are the edge's, not TCP set-up's."""
    with httpx.Client(timeout=60) as c:
        yield c


def tts(client: httpx.Client, edge: Edge, **params: str) -> httpx.Response:
    return client.get(f"{edge.url}/tts", params=params)


def origin_counts(pair: list[Origin]) -> dict[str, float]:
    """GET /tts answers of both origins by status, from their own /metrics."""
    total: dict[str, float] = {}
    for o in pair:
        text = httpx.get(f"{o.url}/metrics", timeout=10).text
        for status, value in re.findall(
            r'hanvoice_requests_total\{[^}]*route="/tts"[^}]*status="(\d+)"[^}]*\} (\S+)', text
        ):
            total[status] = total.get(status, 0.0) + float(value)
    return total


def access_log(edge: Edge) -> dict[str, dict[str, str]]:
    """nginx's JSON access log by request id."""
    out = {}
    for line in edge.access_log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            out[entry["request_id"]] = entry
    return out


def test_repeat_is_an_edge_hit_and_expiry_revalidates(
    origins: Origins, start_edge: StartEdge, client: httpx.Client
) -> None:
    edge, pair = start_pair(origins, start_edge, max_age=3)
    params = {"text": PHRASE, "emotion": "happy", "format": "wav"}
    t0 = time.perf_counter()
    first = tts(client, edge, **params)
    miss_ms = (time.perf_counter() - t0) * 1000
    assert first.status_code == 200, first.text
    assert first.headers["x-cache-status"] == "MISS"
    audio, sr = decode(first.content)
    assert_speech(audio, sr, text_chars=len(PHRASE))
    t0 = time.perf_counter()
    again = tts(client, edge, **params)
    hit_ms = (time.perf_counter() - t0) * 1000
    assert again.headers["x-cache-status"] == "HIT"
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    # the key is the normalized query: order does not matter, nor spelling out a default
    reordered = tts(client, edge, format="wav", text=PHRASE, emotion="happy")
    assert reordered.headers["x-cache-status"] == "HIT" and reordered.content == first.content
    plain = tts(client, edge, text=PHRASE)  # neutral, mp3: the service's defaults
    explicit = tts(client, edge, text=PHRASE, emotion="neutral", format="mp3")
    assert plain.headers["x-cache-status"] == "MISS"
    assert explicit.headers["x-cache-status"] == "HIT"
    assert plain.headers["content-type"] == "audio/mpeg"
    # another emotion is another phrase
    sad = tts(client, edge, text=PHRASE, emotion="sad", format="wav")
    assert sad.headers["x-cache-status"] == "MISS" and sad.content != first.content
    # errors are passed through, never cached
    for _ in range(2):
        bad = tts(client, edge, text=PHRASE, emotion="joyful")
        assert bad.status_code == 400 and bad.headers["x-cache-status"] == "MISS"
    assert origin_counts(pair) == {"200": 3.0, "400": 2.0}
    # past max-age the edge answers at once from the old entry (STALE) and revalidates it in
    # the background with the origin's ETag: a 304, no synthesis; then it is fresh again
    time.sleep(4.5)  # max-age 3, counted by nginx in whole seconds
    stale = tts(client, edge, **params)
    assert stale.headers["x-cache-status"] == "STALE"
    assert stale.content == first.content
    deadline = time.monotonic() + 10
    while origin_counts(pair).get("304") != 1.0:
        assert time.monotonic() < deadline, f"no background revalidation: {origin_counts(pair)}"
        time.sleep(0.1)
    fresh = tts(client, edge, **params)
    assert fresh.headers["x-cache-status"] == "HIT" and fresh.content == first.content
    assert origin_counts(pair) == {"200": 3.0, "400": 2.0, "304": 1.0}
    print(f"\nedge: MISS {miss_ms:.0f} ms (synthesis at the origin), HIT {hit_ms:.1f} ms")


@dataclass
class Result:
    index: int
    status: int
    cache: str
    start: float
    end: float
    size: int
    error: str = ""


def test_killing_an_origin_under_load_loses_no_request(
    origins: Origins, start_edge: StartEdge
) -> None:
    edge, pair = start_pair(origins, start_edge, max_age=600)
    victim, survivor = pair
    done = 0
    lock = threading.Lock()
    killed = threading.Event()
    kill_at = [0.0]
    inflight_at_kill = [0]
    active = [0]

    def one(i: int, client: httpx.Client) -> Result:
        nonlocal done
        text = f"{LOAD_PHRASES[i % len(LOAD_PHRASES)]}，第{i}号。"
        start = time.perf_counter()
        with lock:
            active[0] += 1
        try:
            r = client.get(
                f"{edge.url}/tts",
                params={"text": text, "format": "wav"},
                headers={"X-Request-ID": f"load-{i}"},
                timeout=60,
            )
            res = Result(i, r.status_code, r.headers.get("x-cache-status", ""), start,
                         time.perf_counter(), len(r.content))  # fmt: skip
            if r.status_code == 200:
                audio, sr = decode(r.content)
                assert_speech(audio, sr)
        except (httpx.HTTPError, AssertionError) as exc:
            res = Result(i, 0, "", start, time.perf_counter(), 0, repr(exc))
        with lock:
            active[0] -= 1
            done += 1
            if done == KILL_AFTER and not killed.is_set():
                # SIGKILL: a crash with requests in flight, not a graceful drain
                inflight_at_kill[0] = active[0]
                kill_at[0] = time.perf_counter()
                victim.kill()
                killed.set()
        return res

    begin = time.perf_counter()
    with (
        httpx.Client() as load_client,
        ThreadPoolExecutor(LOAD_CONCURRENCY) as pool,
    ):
        results = list(pool.map(lambda i: one(i, load_client), range(LOAD_REQUESTS)))
    elapsed = time.perf_counter() - begin
    assert killed.is_set()

    log = access_log(edge)
    upstreams = {r.index: log[f"load-{r.index}"]["upstream"] for r in results}
    retried = [i for i, u in upstreams.items() if "," in u]
    victim_addr = f"127.0.0.1:{victim.port}"
    survivor_addr = f"127.0.0.1:{survivor.port}"
    served_by_victim = [i for i, u in upstreams.items() if u.split(", ")[-1] == victim_addr]
    failed = [r for r in results if r.status != 200]
    before = [r.end - r.start for r in results if r.end <= kill_at[0]]
    after = [r.end - r.start for r in results if r.start >= kill_at[0]]
    around = [r.end - r.start for r in results if r.start < kill_at[0] < r.end]
    measured = {
        "requests": len(results),
        "concurrency": LOAD_CONCURRENCY,
        "succeeded": len(results) - len(failed),
        "failed": len(failed),
        "killed_after_completed": KILL_AFTER,
        "in_flight_at_kill": inflight_at_kill[0],
        "retried_on_other_origin": len(retried),
        "served_by_killed_origin_before_kill": len(served_by_victim),
        "served_by_surviving_origin": sum(
            1 for u in upstreams.values() if u.split(", ")[-1] == survivor_addr
        ),
        "latency_s": {
            name: _stats(values)
            for name, values in (
                ("before_kill", before),
                ("spanning_kill", around),
                ("after_kill", after),
            )
        },
        "wall_time_s": round(elapsed, 2),
        "throughput_rps": round(len(results) / elapsed, 2),
    }
    _report("edge_failover", measured)
    assert not failed, f"lost requests: {failed}"
    assert all(r.cache == "MISS" for r in results), "each load request should reach an origin"
    assert retried, "no request was retried: the kill did not exercise proxy_next_upstream"
    assert all(upstreams[i].split(", ")[-1] == survivor_addr for i in retried)
    assert served_by_victim, "the killed origin served nothing before the kill"


def _stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 3),
        "p95": round(p95, 3),
        "max": round(max(values), 3),
    }


def _report(name: str, measured: dict[str, object]) -> None:
    print(f"\n{name}: " + json.dumps(measured, ensure_ascii=False, indent=2))
    out = ROOT / "artifacts"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")


def test_with_every_origin_down_cached_phrases_are_still_served(
    origins: Origins, start_edge: StartEdge, client: httpx.Client
) -> None:
    edge, pair = start_pair(origins, start_edge, max_age=1)
    phrases = ["您好，欢迎致电客服中心。", "前方五百米右转。", "请注意安全。"]
    warm = {}
    for text in phrases:
        r = tts(client, edge, text=text, format="wav")
        assert r.status_code == 200 and r.headers["x-cache-status"] == "MISS"
        warm[text] = r.content
    # past max-age (nginx counts whole seconds): only proxy_cache_use_stale can answer now
    time.sleep(2.5)
    for o in pair:
        o.kill()
    served = {}
    for text in phrases:
        t0 = time.perf_counter()
        r = tts(client, edge, text=text, format="wav")
        served[text] = (r.status_code, r.headers.get("x-cache-status"),
                        round((time.perf_counter() - t0) * 1000, 1))  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.headers["x-cache-status"] == "STALE"
        assert r.content == warm[text]
    t0 = time.perf_counter()
    unknown = tts(client, edge, text="这句话从未合成过。", format="wav")
    unknown_s = time.perf_counter() - t0
    assert unknown.status_code in (502, 504)
    assert unknown_s < 10, f"an uncached phrase took {unknown_s:.1f} s to fail"
    health = httpx.get(f"{edge.url}/edge/health", timeout=5)
    assert health.status_code == 200
    _report(
        "edge_all_origins_down",
        {
            "cached_phrases_served": sum(1 for s, c, _ in served.values() if s == 200),
            "of": len(phrases),
            "cache_status": sorted({c or "" for _, c, _ in served.values()}),
            "stale_latency_ms": [ms for _, _, ms in served.values()],
            "uncached_phrase": {"status": unknown.status_code, "seconds": round(unknown_s, 3)},
        },
    )


def test_cache_key_covers_every_get_tts_parameter(origins: Origins) -> None:
    """A new GET /tts parameter the key ignores would serve one phrase's audio for another."""
    o = origins.start("openapi").wait_ready()
    spec = httpx.get(f"{o.url}/openapi.json", timeout=10).json()
    params = spec["paths"]["/tts"]["get"]["parameters"]
    conf = (DEPLOY / "edge" / "nginx.conf").read_text(encoding="utf-8")
    key = re.search(r'proxy_cache_key\s+"([^"]+)"', conf)
    assert key, "no proxy_cache_key"
    maps = dict(re.findall(r"map \$arg_(\w+) \$(\w+) \{", conf))
    for p in params:
        assert p["in"] == "query"
        name = p["name"]
        var = f"${maps[name]}" if name in maps else f"$arg_{name}"
        assert var in key.group(1), f"GET /tts parameter {name!r} is not in the cache key"
        # a default filled in by the edge must be the service's own default
        if name in maps:
            block = re.search(rf"map \$arg_{name} \$\w+ \{{(.*?)\}}", conf, flags=re.DOTALL)
            assert block
            filled = re.search(r'""\s+(\S+);', block.group(1))
            assert filled
            default = p["schema"].get("default")
            if default is None:  # the voice: the service's default_voice setting
                default = httpx.get(f"{o.url}/voices", timeout=10).json().get("default", default)
            assert filled.group(1) == str(default), f"edge default for {name} differs"
