"""Uploads decoded with bounds, and long audio cut into Whisper's windows in its pauses."""

from __future__ import annotations

import io
import itertools
import re

import numpy as np
import pytest
import soundfile as sf

from hanvoice.asr.audio import RATE, decode, windows
from hanvoice.errors import AudioError, RecordingTooLong


def encoded(seconds: float, fmt: str, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    audio = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "rate"), [("WAV", 16000), ("FLAC", 44100), ("OGG", 22050)])
def test_decodes_to_16k_mono(fmt: str, rate: int) -> None:
    audio = decode(encoded(2.0, fmt, rate), max_seconds=10)
    assert audio.dtype == np.float32 and abs(audio.size / RATE - 2.0) < 0.05


def test_a_small_file_of_hours_is_refused_before_decoding() -> None:
    silence = io.BytesIO()
    sf.write(silence, np.zeros(8000 * 3600, np.float32), 8000, format="FLAC")
    data = silence.getvalue()
    assert len(data) < 600_000  # an hour of silence fits under the body limit...
    with pytest.raises(RecordingTooLong, match="the limit is 300 s"):
        decode(data, max_seconds=300)  # ...and is refused for its duration


def test_counted_while_decoding_whatever_the_header_says() -> None:
    """A container may state no duration, or a false one: the samples are counted too."""
    import av

    from hanvoice.asr.audio import _samples

    message = re.escape("more than 3.0 s; the limit is 3 s")
    with (
        av.open(io.BytesIO(encoded(5.0, "WAV"))) as container,
        pytest.raises(RecordingTooLong, match=message),
    ):
        _samples(container, max_seconds=3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not audio at all" * 10, "cannot read the audio"),
        (b"", "cannot read the audio"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "cannot read the audio|unsupported"),
    ],
)
def test_not_audio(data: bytes, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        decode(data, max_seconds=10)


def test_too_short() -> None:
    with pytest.raises(AudioError, match=r"shorter than 0\.1 s"):
        decode(encoded(0.05, "WAV"), max_seconds=10)


def test_windows_cut_in_pauses() -> None:
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(RATE * 75)).astype(np.float32)
    for pause in (24.0, 51.0):  # the quiet moments the cuts should find
        audio[int(pause * RATE) : int((pause + 0.3) * RATE)] = 0.0
    cuts = windows(audio)
    assert cuts[0][0] == 0 and cuts[-1][1] == audio.size
    assert all(b - a <= 30 * RATE for a, b in cuts)
    assert all(prev[1] == nxt[0] for prev, nxt in itertools.pairwise(cuts))
    assert [round(b / RATE) for _, b in cuts[:-1]] == [24, 51]
    assert windows(audio[: RATE * 10]) == [(0, RATE * 10)]
