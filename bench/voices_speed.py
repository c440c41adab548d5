"""Speed and footprint per engine: the fast voice, the Mellotron set on onnxruntime (what
serves) and the same Mellotron computation in PyTorch (ttskit's way).

    .venv/bin/python -m bench.voices_speed [--rounds 5] [--json bench/results/voices_speed.json]

Each engine runs in a process of its own, so its peak memory (max RSS) is its own: load
time, real-time factor (wall and CPU seconds over audio seconds) for a 10- and a
200-character text, and the first-audio time of the 200-character text when streamed.
The PyTorch row needs the ``voices`` extra (torch); it decodes with the same step graph,
dropout masks and clause split, one thread, as ttskit would on one core.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.results import write_json
from bench.speed_engine import PARAGRAPH, SHORT

ENGINES = ("baker", "mellotron-onnx", "mellotron-torch")
VOICE = "aiyue"


def _onnx(voice: str) -> Callable[[str], Iterator[np.ndarray[Any, Any]]]:
    from hanvoice.voices import VoiceCatalog

    synth = VoiceCatalog().get(voice)

    def run(text: str) -> Iterator[np.ndarray[Any, Any]]:
        for chunk in synth.stream(text, early=True):
            yield chunk.audio

    return run


def _torch() -> Callable[[str], Iterator[np.ndarray[Any, Any]]]:
    import torch

    from hanvoice.engines.mellotron import assets
    from hanvoice.engines.mellotron.engine import CLAUSE_PAUSE, speech_bounds, split_clauses
    from hanvoice.engines.mellotron.export import build_modules, torch_reference
    from hanvoice.engines.mellotron.runtime import SAMPLE_RATE
    from hanvoice.engines.mellotron.symbols import PhonemeTable
    from hanvoice.text import Frontend

    torch.set_num_threads(1)
    modules = build_modules(assets.find_source_dir())
    frontend, table = Frontend(), PhonemeTable()
    gap = np.zeros(round(CLAUSE_PAUSE * SAMPLE_RATE), np.float32)

    def run(text: str) -> Iterator[np.ndarray[Any, Any]]:
        for segment in frontend.analyze(text).segments:
            for clause in split_clauses(segment.tokens):
                seq = table.encode(clause.tokens)
                if seq.spoken:
                    _, audio = torch_reference(modules, seq.ids, "Aiyue", seed=0)
                    start, end = speech_bounds(audio)
                    yield np.concatenate([audio[start:end], gap])

    return run


def measure_one(name: str, rounds: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    run = {"baker": lambda: _onnx("baker"), "mellotron-onnx": lambda: _onnx(VOICE)}.get(
        name, _torch
    )()
    for _ in run(SHORT):  # warm
        pass
    load = time.perf_counter() - t0
    sr = 24000 if name == "baker" else 22050
    out: dict[str, Any] = {"engine": name, "load_s": round(load, 2)}
    for label, text in (("short", SHORT), ("paragraph", PARAGRAPH)):
        walls, cpus, firsts, seconds = [], [], [], 0.0
        for _ in range(rounds if label == "short" else max(2, rounds // 2)):
            w0, c0 = time.perf_counter(), time.process_time()
            first = None
            samples = 0
            for audio in run(text):
                first = first if first is not None else time.perf_counter() - w0
                samples += audio.size
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            firsts.append(first or 0.0)
            seconds = samples / sr
        out[label] = {
            "audio_s": round(seconds, 2),
            "rtf": round(statistics.median(walls) / seconds, 3),
            "cpu_rtf": round(statistics.median(cpus) / seconds, 3),
            "first_audio_ms": round(1000 * statistics.median(firsts)),
        }
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=Path("bench/results/voices_speed.json"))
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.rounds)))
        return
    rows = []
    for name in args.engines.split(","):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.voices_speed",
                "--one",
                name,
                "--rounds",
                str(args.rounds),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    print(f"{'engine':16s} {'load s':>7s} {'RTF 10':>7s} {'RTF 200':>8s} {'CPU RTF':>8s} "
          f"{'first ms':>9s} {'RSS MB':>7s}")  # fmt: skip
    for r in rows:
        p = r["paragraph"]
        print(
            f"{r['engine']:16s} {r['load_s']:7.2f} {r['short']['rtf']:7.3f} {p['rtf']:8.3f} "
            f"{p['cpu_rtf']:8.3f} {p['first_audio_ms']:9d} {r['peak_rss_mb']:7d}"
        )
    write_json(args.json, {"engines": rows, "machine": platform.platform()})
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
