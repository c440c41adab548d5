"""Decode whatever the service returns back to samples, and check it is speech."""

from __future__ import annotations

import io

import numpy as np

from support.audio import Audio, assert_speech, decode


def decode_any(data: bytes, fmt: str, pcm_rate: int = 24000) -> tuple[Audio, int]:
    if fmt == "pcm":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, pcm_rate
    if fmt == "aac":
        import av

        with av.open(io.BytesIO(data)) as box:
            frames = [f.to_ndarray().reshape(-1) for f in box.decode(audio=0)]
            rate = box.streams.audio[0].rate
        return np.concatenate(frames).astype(np.float32), int(rate)
    return decode(data)


def check_speech(data: bytes, fmt: str, text: str, rate: int = 24000) -> tuple[Audio, int]:
    audio, sr = decode_any(data, fmt, rate)
    spoken = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    assert_speech(audio, sr, text_chars=spoken or None)
    return audio, sr
