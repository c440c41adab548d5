"""The security suite's attack tables against ``hanvoice serve``, with ``/health``'s latency
during each attack beside an idle baseline, and the node's memory.

    python -m bench.security                          # this checkout
    python -m bench.security --repo /path/to/old      # another checkout (before/after)

For each member: what came back, the problems the suite would fail on, ``/health`` latency
(median and worst) while it ran, and the node's resident memory at its end; then the idle
baseline and the peak over the run (VmHWM). Writes ``bench/results/security.json``.
Run it on a quiet machine: ``/health`` latency is a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.results import write_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from security.attacks import load, run  # noqa: E402
from security.conftest import SEND_TIMEOUT, Health, Node, drops_after  # noqa: E402
from support.serve import start_server  # noqa: E402

SETTINGS = dict(
    workers=2, queue_size=32, send_timeout=SEND_TIMEOUT, header_timeout=3, body_timeout=3,
    request_timeout=60, allowed_emotions="neutral,happy,sad", cache_enabled="false",
)  # fmt: skip
"""As the security suite's node (``tests/security/conftest.py``)."""


def rss_mb(node: Node, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{node.proc.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def ms(xs: list[float]) -> tuple[float, float]:
    return (round(statistics.median(xs) * 1000, 1), round(max(xs) * 1000, 1)) if xs else (0, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=str(ROOT), help="checkout whose src/ is served")
    ap.add_argument("--table", action="append", default=None)
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "security.json"))
    ap.add_argument(
        "--fresh", action="store_true",
        help="a new server for each attack (for a build that an attack can freeze or kill)",
    )  # fmt: skip
    args = ap.parse_args()
    tables = args.table or ["exhaustion.yaml"]
    os.environ["PYTHONPATH"] = str(Path(args.repo) / "src")
    node = start_server(Path(tempfile.mkdtemp()), kind=Node, stdout_in_log=False, **SETTINGS)
    rows: list[dict[str, Any]] = []
    try:
        with httpx.Client(timeout=10) as client:
            idle = []
            for _ in range(50):
                start = time.perf_counter()
                client.get(node.url + "/health")
                idle.append(time.perf_counter() - start)
                time.sleep(0.02)
        print(f"idle /health: median {ms(idle)[0]} ms, worst {ms(idle)[1]} ms; "
              f"resident {rss_mb(node):.0f} MB")  # fmt: skip
        print(f"{'attack':58s} {'result':8s} {'answers':22s} {'/health ms':>13s} {'peak MB':>7s}")
        for table in tables:
            for member in load(table):
                if args.fresh or node.proc.poll() is not None:
                    node.stop(timeout=10)
                    node = start_server(
                        Path(tempfile.mkdtemp()), kind=Node, stdout_in_log=False, **SETTINGS
                    )
                mark = len(node.log_lines())
                with Health(node.url) as health:
                    try:
                        out = run(member, node.url, send_timeout=SEND_TIMEOUT,
                                  drop_seen=drops_after(node, mark))  # fmt: skip
                        problems = out.problems
                    except Exception as exc:  # a hung or dropped attack is a finding here
                        out = None
                        problems = [f"{type(exc).__name__}: {exc}"[:200]]
                problems += health.failures[:3]
                if node.proc.poll() is not None:
                    problems.append("the node died")
                p50, worst = ms(health.latencies)
                rss = rss_mb(node) if node.proc.poll() is None else 0.0
                hwm = rss_mb(node, "VmHWM") if node.proc.poll() is None else 0.0
                answers = ",".join(str(s) for s in sorted(set(out.statuses))) if out else "-"
                row = {
                    "attack": member.id, "ok": not problems, "problems": problems,
                    "statuses": out.statuses if out else [], "codes": out.codes if out else [],
                    "seconds": round(out.seconds, 2) if out else None,
                    "health_ms_median": p50, "health_ms_worst": worst, "rss_mb": round(rss),
                    "peak_rss_mb": round(hwm),
                }  # fmt: skip
                rows.append(row)
                verdict = "ok" if not problems else "FAIL"
                print(f"{member.id[:58]:58s} {verdict:8s} {answers[:22]:22s} "
                      f"{p50:6.1f}/{worst:6.1f} {hwm:7.0f}")  # fmt: skip
                for p in problems[:2]:
                    print(f"    {p[:150]}")
        peak = rss_mb(node, "VmHWM") if node.proc.poll() is None else None
    finally:
        node.stop()
    failed = [r["attack"] for r in rows if not r["ok"]]
    print(f"{len(rows) - len(failed)}/{len(rows)} attacks handled; peak resident {peak} MB")
    write_json(
        args.json,
        {"repo": args.repo, "idle_health_ms": {"median": ms(idle)[0], "worst": ms(idle)[1]},
         "peak_rss_mb": peak, "attacks": rows, "failed": failed},
    )  # fmt: skip


if __name__ == "__main__":
    main()
