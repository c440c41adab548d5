"""Quality must not pay for speed: the fast path's audio against the engine as handed over.

Both run the same front end and acoustic model; they differ in the vocoder runtime (ONNX
graph built from the TFLite file vs TFLite itself) and in windowed vocoding. Measured per
sentence: length in samples, waveform SNR and largest sample difference, log-mel distance,
F0 (median and frame-by-frame difference in cents) and DNSMOS, plus the stock pipeline's
DNSMOS on the same text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.quality import dnsmos
from bench.speed_engine import PARAGRAPH, Ours, Peer

Audio = np.ndarray[Any, np.dtype[np.float32]]
SENTENCES = Path(__file__).with_name("sentences.txt")


def log_mel_distance(a: Audio, b: Audio, sr: int) -> float:
    """Mean absolute difference in dB of 80-bin log-mel spectra, over frames with sound."""
    import librosa

    def spec(x: Audio) -> np.ndarray[Any, Any]:
        m = librosa.feature.melspectrogram(y=x, sr=sr, n_fft=2048, hop_length=300, n_mels=80)
        return np.asarray(10 * np.log10(np.maximum(m, 1e-10)))

    sa, sb = spec(a), spec(b)
    loud = sa.max(axis=0) > sa.max() - 60
    return float(np.mean(np.abs(sa[:, loud] - sb[:, loud])))


def f0_difference(a: Audio, b: Audio, sr: int) -> tuple[float, float, float]:
    """(median F0 of a, of b, RMS difference in cents over frames voiced in both)."""
    import pyworld

    def track(x: Audio) -> np.ndarray[Any, Any]:
        d = x.astype(np.float64)
        f, t = pyworld.dio(d, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=5.0)
        return np.asarray(pyworld.stonemask(d, f, t, sr))

    fa, fb = track(a), track(b)
    both = (fa > 0) & (fb > 0)
    cents = 1200 * np.log2(fa[both] / fb[both])
    return (
        float(np.median(fa[fa > 0])),
        float(np.median(fb[fb > 0])),
        float(np.sqrt(np.mean(cents**2))) if cents.size else 0.0,
    )


def compare(fast: Ours, reference: Ours, peer: Peer) -> dict[str, Any]:
    texts = [PARAGRAPH] + [
        line.strip() for line in SENTENCES.read_text("utf-8").splitlines() if line.strip()
    ]
    sr = fast.voice.sample_rate
    rows = []
    for text in texts:
        a = fast.voice.synthesize(text).audio
        b = reference.voice.synthesize(text).audio
        p = peer.stock.synthesize(text)
        diff = a.astype(np.float64) - b
        snr = 10 * np.log10(np.sum(b.astype(np.float64) ** 2) / max(np.sum(diff**2), 1e-30))
        f0a, f0b, cents = f0_difference(a, b, sr)
        rows.append(
            {
                "chars": len(text),
                "samples_equal": a.size == b.size,
                "snr_db": round(float(snr), 1),
                "max_abs": round(float(np.max(np.abs(diff))), 4),
                "log_mel_db": round(log_mel_distance(a, b, sr), 3),
                "f0_median_hz": [round(f0a, 1), round(f0b, 1)],
                "f0_rms_cents": round(cents, 1),
                "dnsmos_fast": dnsmos(a, sr)["ovrl"],
                "dnsmos_reference": dnsmos(b, sr)["ovrl"],
                "dnsmos_peer": dnsmos(p, sr)["ovrl"],
            }
        )
    return {
        "sentences": len(rows),
        "all_lengths_equal": all(r["samples_equal"] for r in rows),
        "snr_db_min": min(r["snr_db"] for r in rows),
        "max_abs": max(r["max_abs"] for r in rows),
        "log_mel_db_max": max(r["log_mel_db"] for r in rows),
        "f0_rms_cents_max": max(r["f0_rms_cents"] for r in rows),
        "f0_median_hz_max_diff": max(
            abs(r["f0_median_hz"][0] - r["f0_median_hz"][1]) for r in rows
        ),
        "dnsmos_fast_mean": round(float(np.mean([r["dnsmos_fast"] for r in rows])), 3),
        "dnsmos_reference_mean": round(float(np.mean([r["dnsmos_reference"] for r in rows])), 3),
        "dnsmos_peer_mean": round(float(np.mean([r["dnsmos_peer"] for r in rows])), 3),
        "rows": rows,
    }
