"""What the voice-set tests share."""

from __future__ import annotations

from typing import Any

import numpy as np

FEMALE, MALE = "aiyue", "aicheng"
SENTENCE = "欢迎使用多地域语音合成服务，今天天气很好。"


def timbre(audio: Any, sr: int) -> Any:
    """Mean MFCCs 1-19 over the louder frames: the spectral envelope, not the pitch (as
    bench/voices_report.py measures it)."""
    import librosa
    import soxr

    x = soxr.resample(audio, sr, 16000).astype(np.float32)
    mfcc = librosa.feature.mfcc(y=x, sr=16000, n_mfcc=20, n_fft=512, hop_length=160)
    loud = mfcc[0] > np.percentile(mfcc[0], 40)
    return np.asarray(mfcc[1:, loud].mean(axis=1), np.float64)


def dnsmos(audio: Any, sr: int) -> float:
    """DNSMOS P.835 overall estimate at 16 kHz (its ONNX models ship in the speechmos wheel)."""
    import soxr
    from speechmos import dnsmos as _dnsmos

    x = np.clip(soxr.resample(audio, sr, 16000), -1.0, 1.0).astype(np.float32)
    return float(_dnsmos.run(x, 16000)["ovrl_mos"])
