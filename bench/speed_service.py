"""Over HTTP, against a real ``hanvoice serve`` on a free loopback port, for ``bench.speed``.

* first audio of the 200-character paragraph streamed (``"stream": true``, raw PCM);
* a cache hit (memory tier): the same request again and again, p50/p99;
* 50-character requests from 1 client, then from 16 clients, for a fixed time (cache off,
  so every request is a synthesis): throughput, latency percentiles, status codes;
* the server's resident memory (VmRSS) sampled through 2,000 such requests, growth counted
  from the 200th (the first ones grow the buffers to their working size).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.speed_engine import PARAGRAPH, ms, pct

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.serve import Server, start_server  # noqa: E402

FIFTY = [
    "今天天气很好，我们去公园散步吧。欢迎使用多地域语音合成服务，请问有什么可以帮您。前方五百米右转，进。",
    "前方五百米右转，进入人民大道，然后继续直行三公里。我们的客服热线二十四小时为您服务，如有疑问请随时。",
    "他把书放在桌子上，转身走出了房间，外面正下着大雨。这本小说讲述了一个年轻人在大城市奋斗的故事，感动。",
    "人工智能技术正在改变我们的生活方式。请注意，列车即将进站，请站在安全线以内等候。长江是中国最长的河。",
]
"""Four texts of exactly 50 characters."""
assert all(len(t) == 50 for t in FIFTY)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_audio(url: str, runs: int) -> dict[str, Any]:
    firsts, wholes = [], []
    with httpx.Client(timeout=120) as c:
        for r in range(runs + 1):
            t0 = time.perf_counter()
            first = None
            body = {"text": PARAGRAPH, "stream": True, "format": "pcm"}
            with c.stream("POST", url + "/tts", json=body) as resp:
                resp.raise_for_status()
                for b in resp.iter_raw():
                    if b and first is None:
                        first = time.perf_counter() - t0
            if r:  # the first run warms up
                firsts.append(first if first is not None else float("nan"))
                wholes.append(time.perf_counter() - t0)
    return {
        "runs": runs,
        "median_ms": ms(statistics.median(firsts)),
        "p90_ms": ms(pct(firsts, 0.9)),
        "runs_ms": [ms(x) for x in firsts],
        "whole_median_ms": ms(statistics.median(wholes)),
    }


def cache_hits(url: str, n: int) -> dict[str, Any]:
    """Sequential repeats of one 50-character request after its first (a miss) filled the
    memory tier: ``POST /tts`` (JSON, base64 audio) and ``GET /tts`` (the audio itself)."""
    body = {"text": FIFTY[0], "format": "wav"}
    out: dict[str, Any] = {"requests": n}
    with httpx.Client(timeout=120) as c:
        t0 = time.perf_counter()
        c.post(url + "/tts", json=body).raise_for_status()
        out["miss_ms"] = ms(time.perf_counter() - t0)
        for name, call in (
            ("post", lambda: c.post(url + "/tts", json=body)),
            ("get", lambda: c.get(url + "/tts", params=body)),
        ):
            call().raise_for_status()
            lat, labels = [], set()
            for _ in range(n):
                t0 = time.perf_counter()
                r = call()
                lat.append(time.perf_counter() - t0)
                r.raise_for_status()
                labels.add(r.headers.get("x-cache", "?"))
            out[name] = {
                "p50_ms": ms(pct(lat, 0.5)),
                "p99_ms": ms(pct(lat, 0.99)),
                "max_ms": ms(max(lat)),
                "x_cache": sorted(labels),
                "bytes": len(r.content),
            }
    out["p99_ms"] = out["post"]["p99_ms"]
    return out


async def load(url: str, clients: int, seconds: float, counter: list[int]) -> dict[str, Any]:
    lat: list[float] = []
    statuses: dict[int, int] = {}
    stop = time.perf_counter() + seconds

    async def client(i: int) -> None:
        async with httpx.AsyncClient(timeout=180) as c:
            n = i
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await c.post(url + "/tts", json={"text": FIFTY[n % len(FIFTY)]})
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                counter[0] += 1
                if r.status_code == 200:
                    lat.append(time.perf_counter() - t0)
                n += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "ok_per_second": round(len(lat) / wall, 2),
        "p50_ms": ms(pct(lat, 0.5)),
        "p95_ms": ms(pct(lat, 0.95)),
        "p99_ms": ms(pct(lat, 0.99)),
    }


class RssSampler:
    """VmRSS of the server every ``interval`` seconds, tagged with requests served so far."""

    def __init__(self, pid: int, counter: list[int], interval: float = 0.5) -> None:
        self.pid, self.counter, self.interval = pid, counter, interval
        self.samples: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((self.counter[0], rss_mb(self.pid)))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append((self.counter[0], rss_mb(self.pid)))

    def summary(self, warm: int) -> dict[str, Any]:
        steady = [mb for n, mb in self.samples if n >= warm]
        base = next((mb for n, mb in self.samples if n >= warm), float("nan"))
        end = self.samples[-1][1]
        return {
            "requests": self.samples[-1][0],
            "after_warmup_mb": round(base, 1),
            "end_mb": round(end, 1),
            "max_mb": round(max(steady), 1),
            "growth_pct": round(100 * (end - base) / base, 2),
            "warmup_requests": warm,
        }


def run(*, first_runs: int, hits: int, seconds: float, rss_requests: int) -> dict[str, Any]:
    """Two servers in turn, with the bundled voice only (the everyday set-up): cache off for
    first audio, load and memory; cache on for hits."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        only_bundled = {"mellotron_dir": str(logs / "no-mellotron")}
        server: Server = start_server(
            logs, cache_enabled="false", log_level="warning", queue_size=64, **only_bundled
        )
        try:
            out["ready_rss_mb"] = round(rss_mb(server.proc.pid), 1)
            out["first_audio"] = first_audio(server.url, first_runs)
            counter = [0]
            with RssSampler(server.proc.pid, counter) as sampler:
                many = asyncio.run(load(server.url, 16, seconds, counter))
                one = asyncio.run(load(server.url, 1, seconds, counter))
                while counter[0] < rss_requests:  # the rest of the 2,000, 16 clients again
                    asyncio.run(load(server.url, 16, 20.0, counter))
            out["one_client"], out["sixteen_clients"] = one, many
            out["throughput_ratio"] = round(many["ok_per_second"] / one["ok_per_second"], 2)
            out["rss"] = sampler.summary(warm=min(200, rss_requests // 10))
        finally:
            server.stop()
        cached = start_server(logs, log_level="warning", **only_bundled)
        try:
            out["cache_hit"] = cache_hits(cached.url, hits)
        finally:
            cached.stop()
    return out
