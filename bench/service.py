"""HTTP service numbers: first audio of a streamed paragraph, throughput, overload.

    .venv/bin/python -m bench.service [--seconds 20] [--url http://host:5000]

Starts ``hanvoice serve`` on a free loopback port (cache off, so every request is a real
synthesis) unless ``--url`` is given, then measures:

1. first audio: a ~200-character paragraph with ``"stream": true`` (pcm), sequentially;
   neutral, with an emotion (happy), and with the emotion while two other clients keep
   asking for short prompts (the path a user meets on a node in use);
2. throughput: short texts (8-15 characters, wav) from 8 concurrent clients;
3. overload: 32 concurrent clients against ``workers + queue_size`` = 2 + 4 slots.

Prints a table and writes ``bench/results/service.json``. Timings depend on what else the
machine is doing; the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.results import write_json
from bench.speed_engine import pct

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.texts import PARAGRAPH  # noqa: E402

SHORT = [
    "您好，欢迎光临。",
    "前方路口请右转。",
    "您的订单已发货。",
    "请稍候，正在为您转接。",
    "今天天气晴朗。",
    "会议将在三点开始。",
    "感谢您的耐心等待。",
    "请出示您的证件。",
]


async def first_audio(url: str, runs: int, emotion: str = "neutral") -> dict[str, Any]:
    times, totals = [], []
    async with httpx.AsyncClient(timeout=120) as c:
        for _ in range(runs):
            t0 = time.perf_counter()
            first = None
            body = {"text": PARAGRAPH, "stream": True, "format": "pcm", "emotion": emotion}
            async with c.stream("POST", url + "/tts", json=body) as r:
                async for b in r.aiter_raw():
                    if b and first is None:
                        first = time.perf_counter() - t0
            times.append(first or float("nan"))
            totals.append(time.perf_counter() - t0)
    return {
        "chars": len(PARAGRAPH),
        "runs": runs,
        "first_audio_ms": [round(1000 * t, 1) for t in times],
        "median_ms": round(1000 * statistics.median(times), 1),
        "p90_ms": round(1000 * pct(times, 0.9), 1),
        "whole_median_ms": round(1000 * statistics.median(totals), 1),
    }


async def first_audio_beside(url: str, runs: int, emotion: str, clients: int) -> dict[str, Any]:
    """:func:`first_audio` while ``clients`` others keep asking for short prompts."""
    done = asyncio.Event()
    others = asyncio.create_task(load(url, clients, 3600.0, done))
    await asyncio.sleep(0.5)  # the others are under way
    result = await first_audio(url, runs, emotion)
    done.set()
    result["beside"] = await others
    return result


async def load(
    url: str, clients: int, seconds: float, done: asyncio.Event | None = None
) -> dict[str, Any]:
    """``clients`` clients sending short texts for ``seconds`` (or until ``done`` is set)."""
    lat: list[float] = []
    statuses: dict[int, int] = {}
    busy_lat: list[float] = []
    retry_after: set[str] = set()
    stop = time.perf_counter() + seconds

    async def client(i: int) -> None:
        async with httpx.AsyncClient(timeout=120) as c:
            n = i
            while time.perf_counter() < stop and not (done and done.is_set()):
                t0 = time.perf_counter()
                r = await c.post(url + "/tts", json={"text": SHORT[n % len(SHORT)]})
                dt = time.perf_counter() - t0
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    lat.append(dt)
                elif r.status_code == 503:
                    busy_lat.append(dt)
                    retry_after.add(r.headers.get("retry-after", ""))
                    await asyncio.sleep(0.05)
                n += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {
        "clients": clients,
        "seconds": round(wall, 1),
        "statuses": statuses,
        "ok_per_second": round(len(lat) / wall, 2),
        "ok_p50_ms": round(1000 * pct(lat, 0.5), 1),
        "ok_p90_ms": round(1000 * pct(lat, 0.9), 1),
        "ok_p99_ms": round(1000 * pct(lat, 0.99), 1),
    }
    if busy_lat:
        out.update(
            busy_p50_ms=round(1000 * pct(busy_lat, 0.5), 1),
            busy_p99_ms=round(1000 * pct(busy_lat, 0.99), 1),
            retry_after=sorted(retry_after),
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=None, help="measure a running server instead")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    from support.serve import start_server

    servers = []
    try:
        url = args.url
        if url is None:
            s = start_server(Path("/tmp"), cache_enabled="false", log_level="warning", workers=0)
            servers.append(s)
            url = s.url
        results: dict[str, Any] = {"load_average_before": os.getloadavg()}
        results["first_audio"] = asyncio.run(first_audio(url, args.runs))
        results["first_audio_happy"] = asyncio.run(first_audio(url, args.runs, "happy"))
        results["first_audio_happy_beside_2"] = asyncio.run(
            first_audio_beside(url, args.runs, "happy", 2)
        )
        results["throughput_8_clients"] = asyncio.run(load(url, 8, args.seconds))
        if args.url is None:
            small = start_server(
                Path("/tmp"),
                cache_enabled="false",
                log_level="warning",
                workers=2,
                queue_size=4,
                retry_after=1,
            )
            servers.append(small)
            results["overload_32_clients"] = asyncio.run(load(small.url, 32, args.seconds / 2))
            results["overload_32_clients"]["capacity"] = "2 workers + 4 queued"
        results["load_average_after"] = os.getloadavg()
    finally:
        for s in servers:
            s.stop()
    out = write_json(ROOT / "bench" / "results" / "service.json", results)
    fa, tp = results["first_audio"], results["throughput_8_clients"]
    print(f"{'measure':44} value")
    print(
        f"{'first audio, ' + str(fa['chars']) + '-char paragraph (median/p90)':44} "
        f"{fa['median_ms']} / {fa['p90_ms']} ms (whole: {fa['whole_median_ms']} ms)"
    )
    fh = results["first_audio_happy"]
    print(f"{'first audio, same, emotion happy':44} {fh['median_ms']} / {fh['p90_ms']} ms")
    fb = results["first_audio_happy_beside_2"]
    print(
        f"{'  happy, 2 clients asking for short texts':44} {fb['median_ms']} / {fb['p90_ms']} ms "
        f"(whole: {fb['whole_median_ms']} ms; theirs p50 {fb['beside']['ok_p50_ms']} ms, "
        f"statuses {fb['beside']['statuses']})"
    )
    print(
        f"{'short texts, 8 clients':44} {tp['ok_per_second']} req/s, p50 {tp['ok_p50_ms']} ms, "
        f"p99 {tp['ok_p99_ms']} ms, statuses {tp['statuses']}"
    )
    if "overload_32_clients" in results:
        ov = results["overload_32_clients"]
        print(
            f"{'overload, 32 clients on 2+4 slots':44} {ov['statuses']}, 503 p50 "
            f"{ov.get('busy_p50_ms')} ms / p99 {ov.get('busy_p99_ms')} ms, Retry-After "
            f"{ov.get('retry_after')}, 200 p50 {ov['ok_p50_ms']} ms"
        )
    print(
        f"load average before/after: {results['load_average_before']} / "
        f"{results['load_average_after']}; written to {out.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
