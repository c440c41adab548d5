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
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

TEXT = "您好，欢迎致电客服中心，请问有什么可以帮您？"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_node(log: Path, **settings: Any) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANVOICE_")}
    if "HANVOICE_CACHE_DIR" in os.environ:
        env["HANVOICE_CACHE_DIR"] = os.environ["HANVOICE_CACHE_DIR"]
    env.update({f"HANVOICE_{k.upper()}": str(v) for k, v in settings.items()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "hanvoice.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=open(log, "wb"),  # noqa: SIM115
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"node did not start; see {log}")


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
    rport = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = [redis]
    rows: dict[str, Any] = {}
    try:
        rurl = f"redis://127.0.0.1:{rport}/0"
        a, a_url = start_node(work / "a.log", redis_url=rurl, workers=1)
        b, b_url = start_node(work / "b.log", redis_url=rurl, workers=1, cache_memory_bytes=0)
        procs += [a, b]
        post = {"json": {"text": TEXT}}
        get = {"params": {"text": TEXT, "format": "wav"}}
        with httpx.Client(base_url=a_url, timeout=120) as ca:
            rows["miss: POST /tts (synthesis)"] = timed(ca, 1, "POST", "/tts", **post)
            ca.get("/tts", **get)  # the raw-audio entry
            rows["memory hit: POST /tts (base64 JSON)"] = timed(ca, args.n, "POST", "/tts", **post)
            rows["memory hit: GET /tts (audio)"] = timed(ca, args.n, "GET", "/tts", **get)
        with httpx.Client(base_url=b_url, timeout=120) as cb:
            rows["redis hit: POST /tts (base64 JSON)"] = timed(cb, args.n, "POST", "/tts", **post)
            rows["redis hit: GET /tts (audio)"] = timed(cb, args.n, "GET", "/tts", **get)
            rows["miss: GET /tts, other text (synthesis)"] = timed(
                cb, 1, "GET", "/tts", params={"text": TEXT + "谢谢。", "format": "wav"}
            )
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            p.wait(60)
    width = max(map(len, rows))
    print(f"{'request':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'max ms':>7}  x-cache")
    for name, r in rows.items():
        print(f"{name:<{width}}  {r['median_ms']:>9.2f}  {r['p95_ms']:>7.2f}  {r['max_ms']:>7.2f}  "
              f"{','.join(r['x_cache'])}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {"text": TEXT, "machine": platform.platform(), "cpus": os.cpu_count(),
             "results": rows},
            ensure_ascii=False, indent=2,
        ) + "\n",
        "utf-8",
    )  # fmt: skip
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
