"""Thousands of generated inputs through every voice: audio or a clean client error, never
anything else (the CI properties in ``tests/unit/test_properties_voices.py`` run a few
hundred of the same).

    python -m bench.fuzz          # 5000 texts, 1000 SSML (bundled voice); 500 (Mellotron)
    python -m bench.fuzz --texts 200 --ssml 50 --mellotron 20   # a quick look

Prints a table of outcomes per set and writes ``bench/results/fuzz.json``; every unexpected
exception is listed with the input that raised it (keep it as a table row once fixed).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.results import write_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.generators import PARAMS, SSML, TEXT, attempt  # noqa: E402


def run_set(
    name: str, voice: Any, strategy: st.SearchStrategy[str], n: int, ssml: bool
) -> dict[str, Any]:
    outcomes: collections.Counter[str] = collections.Counter()
    failures: list[dict[str, Any]] = []
    start = time.perf_counter()

    @settings(max_examples=n, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(text=strategy, params=PARAMS, early=st.booleans())
    def one(text: str, params: dict[str, Any], early: bool) -> None:
        is_ssml = ssml or text.startswith("<speak")
        try:
            outcomes[attempt(voice, text, ssml=is_ssml, params=params, early=early)] += 1
        except Exception as exc:  # the bug this looks for: recorded, and the run goes on
            outcomes["UNEXPECTED"] += 1
            failures.append(
                {
                    "text": text,
                    "ssml": is_ssml,
                    "params": params,
                    "early": early,
                    "error": f"{type(exc).__name__}: {exc}",
                    "where": traceback.format_exc().splitlines()[-3:],
                }
            )

    one()
    seconds = time.perf_counter() - start
    total = sum(outcomes.values())
    print(f"{name:28s} {total:6d} inputs  {seconds:7.1f} s  " + ", ".join(
        f"{k} {v}" for k, v in outcomes.most_common()))  # fmt: skip
    return {"set": name, "inputs": total, "seconds": round(seconds, 1),
            "outcomes": dict(outcomes), "unexpected": failures[:50]}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=5000)
    ap.add_argument("--ssml", type=int, default=1000)
    ap.add_argument("--mellotron", type=int, default=500)
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "fuzz.json"))
    args = ap.parse_args()

    from hanvoice.voices import VoiceCatalog

    catalog = VoiceCatalog()
    baker = catalog.get("baker")
    rows = [
        run_set("bundled voice, text", baker, TEXT, args.texts, ssml=False),
        run_set("bundled voice, SSML", baker, SSML, args.ssml, ssml=True),
    ]
    mellotron = [v for v in catalog.ids if catalog.configs[v].engine == "mellotron"]
    if args.mellotron and mellotron:
        voice = catalog.get(mellotron[0])
        rows.append(
            run_set(
                f"Mellotron ({mellotron[0]}), any",
                voice,
                st.one_of(TEXT, SSML),
                args.mellotron,
                ssml=False,
            )
        )
    elif args.mellotron:
        print("the Mellotron set is not installed (scripts/setup.sh --voices)")
    unexpected = sum(r["outcomes"].get("UNEXPECTED", 0) for r in rows)
    print(f"unexpected exceptions: {unexpected}")
    write_json(args.json, {"sets": rows, "unexpected": unexpected})
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
