"""What a cache hit costs over HTTP, against a synthesis: two real nodes sharing a real Redis.

    .venv/bin/python -m bench.cache_hit [--n 200] [--json bench/results/cache_hit.json]

Starts redis-server and two ``hanvoice serve`` processes on free loopback ports (node B has
no memory tier, so its hits come from Redis), then times sequential requests from one
keep-alive client: the first (a miss: synthesis), memory hits on A, Redis hits on B, for the
JSON API (``POST /tts``, base64) and the raw audio (``GET /tts``). Prints a table and writes
JSON. Target (issue 5): a hit costs a few milliseconds, not a synthesis.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.results import write_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.serve import Server, start_server  # noqa: E402
from support.servers import RedisServer  # noqa: E402

TEXT = "您好，欢迎致电客服中心，请问有什么可以帮您？"


def timed(client: httpx.Client, n: int, method: str, path: str, **kw: Any) -> dict[str, Any]:
    ms = []
    caches = set()
    for _ in range(n):
        t = time.perf_counter()
        r = client.request(method, path, **kw)
        ms.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        caches.add(r.headers.get("x-cache"))
    ms.sort()
    return {
        "n": n,
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[max(0, int(n * 0.95) - 1)], 2),
        "max_ms": round(ms[-1], 2),
        "x_cache": sorted(c for c in caches if c),
        "bytes": len(r.content),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--json", type=Path, default=Path("bench/results/cache_hit.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hanvoice-bench-"))
    redis = RedisServer()
    redis.start()
    nodes: list[Server] = []
    rows: dict[str, Any] = {}
    try:
        node = functools.partial(
            start_server, work, redis_url=redis.url, workers=1, stdout_in_log=False,
            ready_timeout=180.0,
        )  # fmt: skip
        nodes.append(a := node())
        nodes.append(b := node(cache_memory_bytes=0))
        post = {"json": {"text": TEXT}}
        get = {"params": {"text": TEXT, "format": "wav"}}
        with httpx.Client(base_url=a.url, timeout=120) as ca:
            rows["miss: POST /tts (synthesis)"] = timed(ca, 1, "POST", "/tts", **post)
            ca.get("/tts", **get)  # the raw-audio entry
            rows["memory hit: POST /tts (base64 JSON)"] = timed(ca, args.n, "POST", "/tts", **post)
            rows["memory hit: GET /tts (audio)"] = timed(ca, args.n, "GET", "/tts", **get)
        with httpx.Client(base_url=b.url, timeout=120) as cb:
            rows["redis hit: POST /tts (base64 JSON)"] = timed(cb, args.n, "POST", "/tts", **post)
            rows["redis hit: GET /tts (audio)"] = timed(cb, args.n, "GET", "/tts", **get)
            rows["miss: GET /tts, other text (synthesis)"] = timed(
                cb, 1, "GET", "/tts", params={"text": TEXT + "谢谢。", "format": "wav"}
            )
    finally:
        for n in reversed(nodes):
            n.stop()
        redis.close()
    width = max(map(len, rows))
    print(f"{'request':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'max ms':>7}  x-cache")
    for name, r in rows.items():
        print(f"{name:<{width}}  {r['median_ms']:>9.2f}  {r['p95_ms']:>7.2f}  {r['max_ms']:>7.2f}  "
              f"{','.join(r['x_cache'])}")  # fmt: skip
    write_json(
        args.json,
        {"text": TEXT, "machine": platform.platform(), "cpus": os.cpu_count(), "results": rows},
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
