from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hanvoice.audio.encode import FileWriter, Pcm16Writer, encode, get_format, resample, to_pcm16
from hanvoice.errors import InvalidParameter
from support.audio import decode


def _tone(sr: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05)  # lossy codecs ring at hard edges
    return (0.3 * fade * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg", "opus", "flac"])
@pytest.mark.parametrize("sr", [16000, 24000, 48000])
def test_every_format_decodes_back(fmt: str, sr: int) -> None:
    audio = _tone(sr)
    data = encode(audio, sr, fmt)
    out, rate = decode(data)
    assert rate == sr
    assert abs(out.size / rate - 1.0) < 0.1
    assert 0.2 < float(np.max(np.abs(out))) < 0.4


def test_pcm_is_raw_little_endian_16_bit() -> None:
    data = encode(np.array([0.0, 0.5, -0.5, 1.5], np.float32), 24000, "pcm")
    assert np.frombuffer(data, "<i2").tolist() == [0, 16384, -16384, 32767]


def test_wav_header_says_the_real_length() -> None:
    data = encode(_tone(24000, 0.5), 24000, "wav")
    info = sf.info(io.BytesIO(data))
    assert info.frames == 12000 and info.samplerate == 24000 and info.subtype == "PCM_16"


@pytest.mark.parametrize(("name", "sr"), [("nope", 24000), ("opus", 22050), ("opus", 44100)])
def test_bad_format(name: str, sr: int) -> None:
    with pytest.raises(InvalidParameter):
        get_format(name, sr)


def test_ogg_falls_back_to_vorbis_where_opus_cannot_go() -> None:
    assert get_format("ogg", 22050).subtype == "VORBIS"
    assert get_format("ogg", 24000).subtype == "OPUS"


@pytest.mark.parametrize(("rate_in", "rate_out"), [(24000, 8000), (24000, 44100), (24000, 24000)])
def test_resample_keeps_duration(rate_in: int, rate_out: int) -> None:
    out = resample(_tone(rate_in), rate_in, rate_out)
    assert out.size == rate_out


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg", "pcm"])
def test_file_writer_streams_chunks(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"x.{fmt}"
    with FileWriter(path, 24000, get_format(fmt, 24000)) as w:
        for _ in range(5):
            w.write(_tone(24000, 0.2))
    if fmt == "pcm":
        assert path.stat().st_size == 5 * 4800 * 2
    else:
        out, rate = decode(path.read_bytes())
        assert abs(out.size / rate - 1.0) < 0.1


@pytest.mark.parametrize(
    ("block", "sizes"),
    [
        (7, []),  # nothing written: the head alone
        (7, [0, 0]),
        (7, [7]),  # exactly one block
        (7, [5, 13, 1, 100, 3]),  # chunks that straddle blocks and span several
        (1 << 20, [240, 86_700, 0, 12]),  # the real block size
    ],
)
def test_pcm16_writer_gives_the_bytes_of_the_joined_chunks(block: int, sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes))
    chunks = [rng.uniform(-1.2, 1.2, n).astype(np.float32) for n in sizes]  # clipped, too
    writer = Pcm16Writer(block)
    for chunk in chunks:
        writer.write(chunk)
    assert writer.samples == sum(sizes)
    assert writer.getvalue(b"HEAD") == b"HEAD" + b"".join(map(to_pcm16, chunks))
    assert writer.getvalue() == b""  # the blocks were let go
    assert writer.samples == 0
