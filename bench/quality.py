"""Listening-free quality and prosody measures for benchmarks (DNSMOS, F0, loudness)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.audio import measure

__all__ = ["dnsmos", "measure"]


def dnsmos(audio: np.ndarray[Any, np.dtype[np.float32]], sample_rate: int) -> dict[str, float]:
    """DNSMOS P.835 estimate (overall, signal, background) of one clip, at 16 kHz."""
    import soxr
    from speechmos import dnsmos as _dnsmos

    x = soxr.resample(audio.astype(np.float32), sample_rate, 16000).astype(np.float32)
    x = np.clip(x, -1.0, 1.0)
    r = _dnsmos.run(x, 16000)
    return {"ovrl": float(r["ovrl_mos"]), "sig": float(r["sig_mos"]), "bak": float(r["bak_mos"])}
