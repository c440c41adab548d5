"""Whole and streamed encodings decode back to the same audio."""

from __future__ import annotations

import io

import numpy as np
import pytest

from hanvoice.audio.codecs import StreamEncoder, encode_audio, resolve_format
from support.audio import decode

RATE = 24000


def _tone(seconds: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _decode(data: bytes, fmt: str) -> np.ndarray:
    if fmt == "pcm":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768
    if fmt == "aac":
        import av

        with av.open(io.BytesIO(data)) as box:
            return np.concatenate([f.to_ndarray().reshape(-1) for f in box.decode(audio=0)])
    return decode(data)[0]


FORMATS = ["wav", "pcm", "mp3", "ogg", "opus", "flac", "aac"]
LOSSY = {"mp3", "ogg", "opus", "aac"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_stream_matches_whole(fmt: str) -> None:
    chunks = [_tone(0.5, 220), _tone(0.7, 330), _tone(0.4, 440)]
    whole = np.concatenate(chunks)
    f = resolve_format(fmt, RATE)
    enc = StreamEncoder(f, RATE)
    parts = [enc.write(c) for c in chunks] + [enc.finish()]
    streamed = _decode(b"".join(parts), fmt)
    once = _decode(encode_audio(whole, RATE, f), fmt)
    for got in (streamed, once):
        # codecs add up to ~0.1 s of delay/padding; the content must all be there
        assert whole.size <= got.size < whole.size + int(0.15 * RATE), (fmt, got.size)
        assert abs(float(np.sqrt(np.mean(got**2))) - 0.3 / np.sqrt(2)) < 0.03
    if fmt not in LOSSY:
        assert np.allclose(streamed[: whole.size], whole, atol=2e-4)
    if fmt in ("wav", "pcm"):  # bytes leave with every chunk
        assert all(p for p in parts[:3])
    if fmt == "flac":  # sent whole at the end so every decoder knows its length
        assert parts[:3] == [b"", b"", b""]


def test_aac_is_adts() -> None:
    data = encode_audio(_tone(0.3), RATE, resolve_format("aac", RATE))
    assert data[0] == 0xFF and data[1] & 0xF6 == 0xF0  # ADTS sync word


def test_unknown_format() -> None:
    from hanvoice.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="unknown format"):
        resolve_format("m4a", RATE)
