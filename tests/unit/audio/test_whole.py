"""Whole answers made chunk by chunk are the bytes of one call on the whole audio, and the
streamed resampler gives the one-shot result: memory bounded per request changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from hanvoice.audio.codecs import WholeEncoder, encode_audio, output_cost, resolve_format
from hanvoice.audio.encode import Resampler, resample

AUDIO = (np.sin(np.arange(24000 * 3) * 0.05) * 0.3).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100, 48000])
@pytest.mark.parametrize("chunk", [1, 777, 24000])
def test_streamed_resampling_is_one_shot(rate: int, chunk: int) -> None:
    r = Resampler(24000, rate)
    parts = [
        r.write(AUDIO[i : i + chunk]) for i in range(0, 9000 if chunk == 1 else AUDIO.size, chunk)
    ]
    head = AUDIO[: 9000 if chunk == 1 else AUDIO.size]
    out = np.concatenate([*parts, r.finish()])
    np.testing.assert_array_equal(out, resample(head, 24000, rate))


@pytest.mark.parametrize("fmt", ["wav", "pcm", "mp3", "flac", "aac"])
@pytest.mark.parametrize("rate", [24000, 48000])
def test_whole_encoder_gives_the_bytes_of_one_call(fmt: str, rate: int) -> None:
    f = resolve_format(fmt, rate)
    audio = resample(AUDIO, 24000, rate)
    enc = WholeEncoder(f, rate)
    for i in range(0, audio.size, 5000):
        enc.write(audio[i : i + 5000])
    assert enc.finish() == encode_audio(audio, rate, f)
    assert enc.samples == audio.size


@pytest.mark.parametrize("fmt", ["wav", "pcm", "mp3", "flac", "aac", "ogg", "opus"])
@pytest.mark.parametrize("rate", [8000, 24000, 48000])
def test_output_cost_bounds_the_bytes(fmt: str, rate: int) -> None:
    """The admission's bytes per second are at least what the encoder makes of speech-like
    audio (a noise-free tone, and noise, the worst case for a compressor)."""
    f = resolve_format(fmt, rate)
    noise = (np.random.default_rng(0).standard_normal(24000 * 5) * 0.1).astype(np.float32)
    for audio in (AUDIO, noise):
        data = encode_audio(resample(audio, 24000, rate), rate, f)
        seconds = audio.size / 24000
        assert len(data) <= output_cost(f, rate)[1] * seconds + 4096
