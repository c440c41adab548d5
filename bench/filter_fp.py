"""False positives of the content filter: a realistic word list (``bench/filter_words.yaml``,
a few hundred words) over everyday sentences that hold none of them (every bench sentence
list and the front end's case tables), matched by characters only and by characters and
sound. A flagged clean sentence is an IVR prompt that would be refused.

    python -m bench.filter_fp            # table + bench/results/filter_fp.json

Each flagged sentence is printed with what it was taken for; common words that only sound
like a listed word belong in ``src/hanvoice/data/text/filter_allow.txt``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from bench.results import write_json
from hanvoice.text import Frontend
from hanvoice.text.filter import ContentFilter, parse_word_list

ROOT = Path(__file__).resolve().parents[1]
TUNED = [
    *sorted((ROOT / "bench").glob("*.tsv")),
    *sorted((ROOT / "bench").glob("*sentences*.txt")),
    *sorted(p for p in (ROOT / "tests" / "cases").glob("*.tsv") if p.name != "filter.tsv"),
]
"""What the filter's rules and allow list were measured on."""
HELD_OUT = [ROOT / "bench" / "filter_heldout.txt"]
"""Written for this benchmark and never used to tune the filter."""


def sentences(paths: list[Path]) -> list[str]:
    """First column of every line, deduplicated; comment lines left out."""
    out: dict[str, None] = {}
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            text = line.split("\t", 1)[0].strip()
            if text and not text.startswith("#") and len(text) >= 4:
                out[text] = None
    return list(out)


def run(frontend: Frontend, cf: ContentFilter, texts: list[str]) -> dict[str, Any]:
    flagged = []
    times = []
    for text in texts:
        utt = frontend.analyze(text)
        start = time.perf_counter()
        matches = cf.find(utt)
        times.append(time.perf_counter() - start)
        if matches:
            spans = sorted({(m.category, m.by, utt.normalized[m.start : m.end]) for m in matches})
            flagged.append({"text": text, "matches": spans})
    return {
        "sentences": len(texts),
        "flagged": len(flagged),
        "rate": round(len(flagged) / max(1, len(texts)), 4),
        "ms_median": round(statistics.median(times) * 1000, 3),
        "examples": flagged,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", default=str(ROOT / "bench" / "filter_words.yaml"))
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "filter_fp.json"))
    args = ap.parse_args()
    words = parse_word_list(yaml.safe_load(Path(args.words).read_text("utf-8")))
    frontend = Frontend()
    size = sum(len(v) for v in words.words.values())
    print(f"{size} words in {len(words.words)} categories")
    rows: dict[str, Any] = {}
    for mode, sound in (("characters", False), ("characters + sound", True)):
        cf = ContentFilter(words.words, sound=sound, allow=words.allow, frontend=frontend)
        for corpus, paths in (("tuned on", TUNED), ("held out", HELD_OUT)):
            rows[f"{mode}, {corpus}"] = result = run(frontend, cf, sentences(paths))
            print(f"{mode:20s} {corpus:9s} flagged {result['flagged']:4d} / "
                  f"{result['sentences']} ({result['rate']:.2%}), "
                  f"{result['ms_median']} ms a sentence")  # fmt: skip
            for ex in result["examples"][:40]:
                print(f"    {ex['text'][:50]}  <- {ex['matches']}")
    write_json(args.json, {"words": size, "modes": rows})


if __name__ == "__main__":
    main()
