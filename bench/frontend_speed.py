"""How fast the text front end is: cold start, a 200-character paragraph warm, a chapter.

    .venv/bin/python -m bench.frontend_speed

Prints a table and writes ``bench/results/frontend_speed.json``. Targets (issue 3): well
under 15 ms warm for 200 characters; the CLI's start-up small; 20,000 characters work,
including pathological repetitions ("1-1-1-...") that would make a careless regular
expression quadratic.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.results import write_json

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPH = (
    "2026年11月24日上午10:30，银行行长在北京召开发布会，宣布第3季度营收增长了15.6%，"
    "达到1,200.50亿元。他说：“我们还是要把钱还给客户，长江很长，路也很长。”"
    "会后记者拨打了客服热线400-820-8820，又打开WiFi查看了www.example.com上的CPU参数，"
    "气温-5℃，风速12km/h。大家数一数，一共来了2个人，他们都很快乐，重新出发去重庆。"
)


def main() -> int:
    t0 = time.perf_counter()
    from hanvoice.text import Frontend

    fe = Frontend()
    t1 = time.perf_counter()
    fe.analyze(PARAGRAPH[:200])
    t2 = time.perf_counter()
    warm = []
    for _ in range(30):
        a = time.perf_counter()
        fe.analyze(PARAGRAPH[:200])
        warm.append((time.perf_counter() - a) * 1000)
    chapter = (PARAGRAPH * 120)[:20000]
    a = time.perf_counter()
    utt = fe.analyze(chapter)
    chapter_s = time.perf_counter() - a
    a = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "hanvoice.cli", "g2p", "--json", "你好"],
        check=True,
        capture_output=True,
    )
    cli_s = time.perf_counter() - a
    worst = 0.0
    worst_input = ""
    for unit in ("1.", "1-", "1/", "a@", "1:", "-1", "+8", "第1", "1", "a", "长", "😀"):
        text = (unit * 20000)[:20000]
        a = time.perf_counter()
        fe.analyze(text)
        took = time.perf_counter() - a
        if took > worst:
            worst, worst_input = took, unit
    rows = {
        "import_ms": round((t1 - t0) * 1000, 1),
        "first_call_200_chars_ms": round((t2 - t1) * 1000, 1),
        "warm_200_chars_median_ms": round(statistics.median(warm), 2),
        "warm_200_chars_p90_ms": round(sorted(warm)[int(0.9 * len(warm))], 2),
        "chapter_20000_chars_s": round(chapter_s, 2),
        "chapter_segments": len(utt.segments),
        "cli_g2p_process_s": round(cli_s, 2),
        "worst_20000_char_repetition_s": round(worst, 2),
        "worst_repeated_unit": worst_input,
    }
    for k, v in rows.items():
        print(f"{k:28s} {v}")
    out = ROOT / "bench" / "results" / "frontend_speed.json"
    write_json(out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
