"""Checks on real decoded audio, shared by unit and integration tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soundfile as sf

Audio = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Measured:
    duration: float
    peak: float
    rms_db: float
    f0_median: float
    f0_range_st: float
    """Spread of the voiced F0 (5th to 95th percentile) in semitones."""


def decode(data: bytes) -> tuple[Audio, int]:
    audio, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    return np.asarray(audio, np.float32), int(sr)


def rms_db(audio: Audio) -> float:
    """Loudness of the speech: RMS over frames louder than -50 dBFS (pauses excluded)."""
    n = audio.size // 480 * 480
    frames = audio[:n].reshape(-1, 480).astype(np.float64)
    rms = np.sqrt((frames**2).mean(axis=1))
    speech = rms[rms > 10 ** (-50 / 20)]
    return float(20 * np.log10(np.sqrt((speech**2).mean()) + 1e-12)) if speech.size else -120.0


def f0(audio: Audio, sr: int) -> npt.NDArray[np.float64]:
    import pyworld

    x = audio.astype(np.float64)
    f, t = pyworld.dio(x, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=5.0)
    f = pyworld.stonemask(x, f, t, sr)
    return np.asarray(f[f > 0], np.float64)


def measure(audio: Audio, sr: int) -> Measured:
    voiced = f0(audio, sr)
    st = 12 * np.log2(voiced)
    return Measured(
        duration=audio.size / sr,
        peak=float(np.max(np.abs(audio))),
        rms_db=rms_db(audio),
        f0_median=float(np.median(voiced)),
        f0_range_st=float(np.percentile(st, 95) - np.percentile(st, 5)),
    )


def assert_speech(audio: Audio, sr: int, *, text_chars: int | None = None) -> None:
    """Real speech: plausible length for the text, not silent, not clipped."""
    assert audio.ndim == 1 and audio.size > 0
    peak = float(np.max(np.abs(audio)))
    assert peak < 0.999, f"clipped: peak {peak}"
    assert rms_db(audio) > -35, f"too quiet: {rms_db(audio):.1f} dBFS"
    if text_chars:
        per_char = audio.size / sr / text_chars
        assert 0.10 < per_char < 0.6, f"{per_char:.3f} s per character is implausible"


# (emotion, field, comparison, bound): the listener expectations of issue #2, against
# neutral on the same sentences (ratios)
EMOTION_EXPECTATIONS = [
    ("happy", "f0_median", ">=", 1.05),
    ("happy", "duration", "<", 1.0),
    ("sad", "f0_median", "<", 1.0),
    ("sad", "duration", ">=", 1.08),
    ("sad", "f0_range_st", "<", 1.0),
    ("angry", "duration", "<", 1.0),
    ("angry", "f0_range_st", ">", 1.0),
    ("surprise", "f0_range_st", ">=", 1.15),
    ("surprise", "f0_median", ">", 1.0),
    ("fear", "f0_median", ">", 1.0),
    ("fear", "duration", "<", 1.0),
    ("disgust", "f0_median", "<", 1.0),
    ("disgust", "duration", ">", 1.0),
]
