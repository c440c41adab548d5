"""Listening-free quality and prosody measures for benchmarks (DNSMOS, F0, loudness)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.audio import EMOTION_EXPECTATIONS, measure

__all__ = ["EMOTION_EXPECTATIONS", "dnsmos", "measure", "pyin_median"]


def dnsmos(audio: np.ndarray[Any, np.dtype[np.float32]], sample_rate: int) -> dict[str, float]:
    """DNSMOS P.835 estimate (overall, signal, background) of one clip, at 16 kHz."""
    import soxr
    from speechmos import dnsmos as _dnsmos

    x = soxr.resample(audio.astype(np.float32), sample_rate, 16000).astype(np.float32)
    x = np.clip(x, -1.0, 1.0)
    r = _dnsmos.run(x, 16000)
    return {"ovrl": float(r["ovrl_mos"]), "sig": float(r["sig_mos"]), "bak": float(r["bak_mos"])}


def pyin_median(audio: np.ndarray[Any, np.dtype[np.float32]], sample_rate: int) -> float:
    """Median F0 (Hz) of the voiced frames by pyin at 16 kHz: slower than the WORLD
    estimate ``measure`` uses, but free of its octave slips, so pitch shifts are judged by
    it."""
    import librosa
    import soxr

    x = soxr.resample(audio.astype(np.float32), sample_rate, 16000)
    f0, voiced, _ = librosa.pyin(x, fmin=80, fmax=600, sr=16000, frame_length=1024, hop_length=320)
    f = f0[voiced & np.isfinite(f0)]
    return float(np.median(f)) if f.size else float("nan")
