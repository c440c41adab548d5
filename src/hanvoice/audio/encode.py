"""Arrays -> audio bytes in the formats users ask for; resampling with soxr.

Formats: ``wav`` (16-bit PCM), ``mp3``, ``ogg`` (Opus where the rate allows, else Vorbis),
``opus`` (Opus in an Ogg container), ``flac``, ``pcm`` (raw signed 16-bit little-endian).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from hanvoice.errors import InvalidParameter

Audio = npt.NDArray[np.float32]

SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    extension: str
    media_type: str
    container: str | None
    """libsndfile major format, ``None`` for raw PCM."""
    subtype: str | None


FORMATS = {
    "wav": Format("wav", "wav", "audio/wav", "WAV", "PCM_16"),
    "mp3": Format("mp3", "mp3", "audio/mpeg", "MP3", "MPEG_LAYER_III"),
    "ogg": Format("ogg", "ogg", "audio/ogg", "OGG", "OPUS"),
    "opus": Format("opus", "opus", "audio/ogg; codecs=opus", "OGG", "OPUS"),
    "flac": Format("flac", "flac", "audio/flac", "FLAC", "PCM_16"),
    "pcm": Format("pcm", "pcm", "audio/L16", None, None),
}


def get_format(name: str, sample_rate: int | None = None) -> Format:
    """The format called ``name``, adjusted for ``sample_rate`` (ogg falls back to Vorbis)."""
    fmt = FORMATS.get(name.lower().strip())
    if fmt is None:
        raise InvalidParameter(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    if fmt.subtype == "OPUS" and sample_rate is not None and sample_rate not in OPUS_RATES:
        if fmt.name == "ogg":
            return Format("ogg", "ogg", "audio/ogg", "OGG", "VORBIS")
        raise InvalidParameter(
            f"opus supports sample rates {', '.join(map(str, OPUS_RATES))}, not {sample_rate}"
        )
    return fmt


def default_rate(name: str, native: int) -> int:
    """The rate to encode format ``name`` at when the caller names none: the voice's own,
    unless the format cannot carry it (Opus has no 22.05 kHz: such a voice goes out at the
    next Opus rate, 24 kHz)."""
    fmt = FORMATS.get(name.lower().strip())
    if fmt is not None and fmt.name == "opus" and native not in OPUS_RATES:
        return min((r for r in OPUS_RATES if r >= native), default=max(OPUS_RATES))
    return native


def check_sample_rate(rate: int) -> int:
    if rate not in SAMPLE_RATES:
        raise InvalidParameter(
            f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}, got {rate}"
        )
    return rate


def resample(audio: Audio, rate_in: int, rate_out: int) -> Audio:
    if rate_in == rate_out or audio.size == 0:
        return audio
    import soxr

    out = soxr.resample(audio, rate_in, rate_out, quality="HQ")
    return np.clip(np.asarray(out, np.float32), -1.0, 1.0)


class Resampler:
    """Chunks at one rate in, the same audio at another out, as if resampled whole.

    A chunk resampled on its own is filtered as if silence surrounded it: where a stream's
    chunks meet inside speech (its early lead part) that is a click, and whole answers were
    held whole as float audio only to avoid it. soxr's stream keeps the filter's state
    across chunks, so the chunks joined are exactly the one-shot result, and a whole answer
    is resampled and encoded chunk by chunk."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._stream: Any = None
        if rate_in != rate_out:
            import soxr

            self._stream = soxr.ResampleStream(rate_in, rate_out, 1, "float32", quality="HQ")

    def write(self, audio: Audio) -> Audio:
        if self._stream is None:
            return audio
        out = self._stream.resample_chunk(np.ascontiguousarray(audio, np.float32), last=False)
        return np.clip(np.asarray(out, np.float32), -1.0, 1.0)

    def finish(self) -> Audio:
        """What the filter still holds (the end of the audio)."""
        if self._stream is None:
            return np.zeros(0, np.float32)
        out = self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
        return np.clip(np.asarray(out, np.float32), -1.0, 1.0)


def pcm16(audio: Audio) -> npt.NDArray[np.int16]:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")


def to_pcm16(audio: Audio) -> bytes:
    return pcm16(audio).tobytes()


PCM_BLOCK = 1 << 20
"""Samples per block of :class:`Pcm16Writer` (2 MB: over the malloc mmap threshold the
service sets, see :mod:`hanvoice.service.memory`)."""


class Pcm16Writer:
    """16-bit PCM gathered chunk by chunk into a few large blocks, joined once at the end.

    A long answer arrives as hundreds of vocoder windows (~170 kB of PCM each). Kept as
    separate ``bytes`` they live in the malloc heap, and after the join frees them they stay
    resident until the heap is trimmed: a 10-minute chapter held its PCM twice over for
    seconds, and eight clients' chapters overlapped. A 2 MB block is mapped and unmapped
    whole, so the join's second copy lasts only while the copy runs.
    """

    def __init__(self, block: int = PCM_BLOCK) -> None:
        self._block = block
        self._blocks: list[npt.NDArray[np.int16]] = []
        self._used = block  # of the last block: full, so the first write opens one

    def write(self, audio: Audio) -> None:
        pcm = pcm16(audio)
        done = 0
        while done < pcm.size:
            if self._used == self._block:
                self._blocks.append(np.empty(self._block, "<i2"))
                self._used = 0
            n = min(self._block - self._used, pcm.size - done)
            self._blocks[-1][self._used : self._used + n] = pcm[done : done + n]
            self._used += n
            done += n

    @property
    def samples(self) -> int:
        """Samples written since the last :meth:`getvalue`."""
        return (len(self._blocks) - 1) * self._block + self._used

    def getvalue(self, head: bytes = b"") -> bytes:
        """``head`` and the PCM written so far, as one ``bytes``; the blocks are let go."""
        views = [b.data for b in self._blocks]
        if views:
            views[-1] = views[-1][: self._used]
        out = b"".join([head, *views])
        del views
        self._blocks.clear()
        self._used = self._block
        return out


def wav_header(sample_rate: int, data_bytes: int = 0xFFFFFFFF - 36) -> bytes:
    """A 16-bit mono WAV header; the default sizes say "unknown length" for streaming."""
    riff = min(data_bytes + 36, 0xFFFFFFFF)
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", min(data_bytes, 0xFFFFFFFF))
    )


def encode(audio: Audio, sample_rate: int, fmt: str | Format) -> bytes:
    """Whole-utterance encoding to bytes."""
    f = fmt if isinstance(fmt, Format) else get_format(fmt, sample_rate)
    if f.container is None:
        return to_pcm16(audio)
    if f.name == "wav":
        pcm = to_pcm16(audio)
        return wav_header(sample_rate, len(pcm)) + pcm
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, audio, sample_rate, format=f.container, subtype=f.subtype)
    return buf.getvalue()


class FileWriter:
    """Writes audio to a path or binary stream chunk by chunk, so a long text is never held
    whole in memory. Use as a context manager."""

    def __init__(self, target: str | Path | IO[bytes], sample_rate: int, fmt: Format) -> None:
        self.fmt = fmt
        self.sample_rate = sample_rate
        self.frames = 0
        self._raw: IO[bytes] | None = None
        self._sf: Any = None
        self._owned: IO[bytes] | None = None
        try:
            self._open(target)
        except (OSError, RuntimeError) as exc:  # soundfile's LibsndfileError is a RuntimeError
            raise InvalidParameter(f"cannot write {target}: {exc}") from exc

    def _open(self, target: str | Path | IO[bytes]) -> None:
        fmt = self.fmt
        if fmt.container is None:
            if isinstance(target, str | Path):
                self._owned = open(target, "wb")  # noqa: SIM115 - closed in close()
                self._raw = self._owned
            else:
                self._raw = target
        else:
            import soundfile as sf

            self._sf = sf.SoundFile(
                target if not isinstance(target, Path) else str(target),
                mode="w",
                samplerate=self.sample_rate,
                channels=1,
                format=fmt.container,
                subtype=fmt.subtype,
            )

    def write(self, audio: Audio) -> None:
        if audio.size == 0:
            return
        if self._raw is not None:
            self._raw.write(to_pcm16(audio))
        else:
            self._sf.write(np.clip(audio, -1.0, 1.0))
        self.frames += audio.size

    def close(self) -> None:
        if self._sf is not None:
            self._sf.close()
        if self._owned is not None:
            self._owned.close()

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
