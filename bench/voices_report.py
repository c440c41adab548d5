"""Every voice on the same held-out sentences: pitch, timbre, intelligibility, quality, speed.

    .venv/bin/python -m bench.voices_report [--voices aiyue,xiaogang] [--asr PYTHON]
        [--sentences bench/voices_sentences.txt] [--json bench/results/voices_report.json]

For each voice (default: the bundled ``baker`` and all 24 Mellotron speakers, withheld ones
included) it synthesizes each sentence and measures the median F0 and its range, seconds per
character, DNSMOS, the real-time factor and a timbre vector (mean MFCCs 1-19), and finds
each voice's nearest other voice by timbre on the same sentences. With ``--asr`` (the Python
of the ASR tool's venv) it also transcribes every clip with Whisper base and reports the
character error rate (CER).
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bench.quality import dnsmos, measure
from bench.results import write_json
from hanvoice.engines import load_engine
from hanvoice.engines.base import VoiceConfig
from hanvoice.engines.mellotron.speakers import ENGINE, speakers
from hanvoice.synth import Synthesizer
from hanvoice.text import Frontend

CER_TOOL = Path("/work/shared/tools/asr_cer/cer.py")
TIMBRE_APART = 13.0
PITCH_APART = 0.08


def timbre(audio: np.ndarray[Any, Any], sr: int) -> np.ndarray[Any, Any]:
    """Mean MFCCs 1-19 over the voiced, loud frames: the spectral envelope, not the pitch."""
    import librosa
    import soxr

    x = soxr.resample(audio, sr, 16000).astype(np.float32)
    mfcc = librosa.feature.mfcc(y=x, sr=16000, n_mfcc=20, n_fft=512, hop_length=160)
    energy = mfcc[0]
    loud = energy > np.percentile(energy, 40)
    return np.asarray(mfcc[1:, loud].mean(axis=1), np.float64)


def asr_cer(python: str, clips: list[tuple[Path, str]]) -> dict[str, float]:
    """CER of each clip (by path) from the shared ASR tool."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as f:
        f.writelines(f"{p}\t{t}\n" for p, t in clips)
        manifest = f.name
    out = subprocess.run(
        [python, str(CER_TOOL), "--manifest", manifest, "--threads", "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = {}
    current = None
    for line in out.splitlines():
        if line.endswith(".wav") or "\tdur=" in line:
            current = line.split("\t")[0]
        m = re.search(r"CER=([0-9.]+) \((\d+)/(\d+)\)", line)
        if m and current and not line.startswith("#"):
            result[current] = float(m.group(1))
            current = None
    return result


def configs(names: list[str] | None) -> list[VoiceConfig]:
    out = [VoiceConfig("baker", "fastspeech2")]
    out += [VoiceConfig(s.id, ENGINE, None, {"speaker": s.speaker}) for s in speakers()]
    return [c for c in out if names is None or c.id in names]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voices", default=None, help="comma-separated ids (default: all)")
    ap.add_argument("--sentences", type=Path, default=Path("bench/voices_sentences.txt"))
    ap.add_argument("--asr", default=None, help="python of the ASR tool's venv, to get CER")
    ap.add_argument("--keep", type=Path, default=None, help="keep the clips in this folder")
    ap.add_argument("--json", type=Path, default=Path("bench/results/voices_report.json"))
    args = ap.parse_args()
    sentences = [s for s in args.sentences.read_text("utf-8").splitlines() if s.strip()]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="voices_report."))
    folder.mkdir(parents=True, exist_ok=True)
    frontend = Frontend()
    rows: dict[str, dict[str, Any]] = {}
    clips: list[tuple[Path, str]] = []
    vectors: dict[str, list[np.ndarray[Any, Any]]] = {}
    for config in configs(args.voices.split(",") if args.voices else None):
        synth = Synthesizer(load_engine(config), frontend)
        per: list[dict[str, float]] = []
        vectors[config.id] = []
        for k, text in enumerate(sentences):
            t0 = time.perf_counter()
            r = synth.synthesize(text)
            elapsed = time.perf_counter() - t0
            path = folder / f"{config.id}_{k:02d}.wav"
            sf.write(path, r.audio, r.sample_rate)
            clips.append((path, text))
            m = measure(r.audio, r.sample_rate)
            vec = timbre(r.audio, r.sample_rate)
            vectors[config.id].append(vec)
            chars = sum(1 for t in r.utterance.tokens if t.spoken)
            per.append(
                {
                    "f0_median": m.f0_median,
                    "f0_range_st": m.f0_range_st,
                    "sec_per_char": m.duration / max(chars, 1),
                    "dnsmos": dnsmos(r.audio, r.sample_rate)["ovrl"],
                    "rtf": elapsed / m.duration,
                }
            )
        rows[config.id] = {
            "engine": synth.info.engine,
            "gender": synth.info.gender,
            "name": synth.info.name,
            **{key: float(np.median([p[key] for p in per])) for key in per[0]},
        }
        print(f"{config.id:10s} done", flush=True)
    _distinctness(rows, vectors)
    if args.asr:
        cers = asr_cer(args.asr, clips)
        for vid, row in rows.items():
            mine = [cers[str(p)] for p, _ in clips if Path(p).name.startswith(f"{vid}_")]
            row["cer"] = float(np.mean(mine)) if mine else float("nan")
    _print(rows)
    write_json(args.json, {"sentences": sentences, "voices": rows, "machine": platform.platform()})
    print(f"wrote {args.json}; clips in {folder}")


def _distinctness(rows: dict[str, dict[str, Any]], vectors: dict[str, list[Any]]) -> None:
    """Nearest other voice by timbre on the *same* sentences (so the words cancel out): the
    mean distance of the paired clips. Distinct: further than ``TIMBRE_APART``, or a median
    F0 more than ``PITCH_APART`` apart (the thresholds the API test holds every voice to)."""
    for vid, mine in vectors.items():
        others = {
            o: float(np.mean([np.linalg.norm(a - b) for a, b in zip(mine, vs, strict=True)]))
            for o, vs in vectors.items()
            if o != vid
        }
        nearest = min(others, key=lambda o: others[o]) if others else ""
        f0 = rows[vid]["f0_median"]
        pitch = abs(float(np.log(f0 / rows[nearest]["f0_median"]))) if nearest else 0.0
        rows[vid]["nearest"] = nearest
        rows[vid]["nearest_distance"] = others.get(nearest, float("nan"))
        rows[vid]["distinct"] = bool(others) and (
            others[nearest] > TIMBRE_APART or pitch > PITCH_APART
        )


def _print(rows: dict[str, dict[str, Any]]) -> None:
    heads = ("gender", "F0 Hz", "range st", "s/char", "DNSMOS", "RTF", "CER", "nearest", "dist")
    print(f"{'voice':10s} " + " ".join(f"{h:>9s}" for h in heads))
    for vid, r in rows.items():
        print(
            f"{vid:10s} {r['gender']:>9s} {r['f0_median']:9.1f} {r['f0_range_st']:9.1f} "
            f"{r['sec_per_char']:9.3f} {r['dnsmos']:9.2f} {r['rtf']:9.3f} "
            f"{r.get('cer', float('nan')):9.3f} {r['nearest']:>9s} "
            f"{r['nearest_distance']:9.1f}{'' if r['distinct'] else ' (alike)'}"
        )


if __name__ == "__main__":
    main()
