"""Audio bytes in every format, whole or piece by piece (the service's answers, streams).

:mod:`hanvoice.audio.encode` covers wav/mp3/ogg/opus/flac/pcm with libsndfile. libsndfile
has no AAC, so ``aac`` (ADTS, as OpenAI returns it) is encoded with PyAV's FFmpeg (part of
the ``service`` extra; imported only when AAC is asked for). :class:`StreamEncoder` turns
chunks into bytes as they arrive, so a streamed response sends audio while later sentences
are still being synthesized.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from hanvoice.audio.encode import (
    Audio,
    Format,
    Pcm16Writer,
    encode,
    get_format,
    to_pcm16,
    wav_header,
)
from hanvoice.errors import InvalidParameter

AAC = Format("aac", "aac", "audio/aac", "ADTS", "AAC")
STREAM_MP3_QUALITY = 0.5
"""libsndfile compression level for streamed MP3 (constant bitrate, about 80 kbit/s at
24 kHz): a streamed MP3 cannot go back to fill in its VBR header, and with a constant
bitrate every decoder works out the length from the size."""


def resolve_format(name: str, sample_rate: int) -> Format:
    """The format ``name`` (the core's formats plus ``aac``) at ``sample_rate``."""
    if name.lower().strip() == "aac":
        return AAC
    return get_format(name, sample_rate)


def encode_audio(audio: Audio, sample_rate: int, fmt: Format) -> bytes:
    """Whole-utterance bytes in ``fmt``."""
    if fmt.name == "aac":
        enc = _AacEncoder(sample_rate)
        return enc.write(audio) + enc.finish()
    return encode(audio, sample_rate, fmt)


class _Sink:
    """A write-only file for libsndfile that hands out bytes as they are written.

    Encoders that go back to patch a header when they close (MP3's Xing frame, FLAC's
    STREAMINFO) write to positions already sent; those writes are dropped, which leaves the
    "length unknown" header every streaming decoder accepts.
    """

    def __init__(self) -> None:
        self._out = bytearray()
        self._pos = 0
        self._end = 0

    def write(self, data: Any) -> int:
        b = bytes(data)
        if self._pos >= self._end:
            self._out += b
            self._end += len(b)
        self._pos += len(b)
        return len(b)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._end}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        return b""

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out


def _soundfile(target: Any, fmt: Format, sample_rate: int, **extra: Any) -> Any:
    """A mono libsndfile writer of ``fmt`` into ``target`` (a file object)."""
    import soundfile as sf

    return sf.SoundFile(
        target,
        mode="w",
        samplerate=sample_rate,
        channels=1,
        format=fmt.container,
        subtype=fmt.subtype,
        **extra,
    )


class _AacEncoder:
    def __init__(self, sample_rate: int) -> None:
        try:
            import av
        except ImportError as exc:  # the service extra installs it
            raise InvalidParameter("aac is not available on this server (PyAV missing)") from exc
        self._av = av
        self._buf = io.BytesIO()
        self._box = av.open(self._buf, "w", format="adts")
        self._stream: Any = self._box.add_stream("aac", rate=sample_rate, layout="mono")
        self._rate = sample_rate
        self._sent = 0

    def _take(self) -> bytes:
        data = self._buf.getvalue()[self._sent :]
        self._sent += len(data)
        return data

    def write(self, audio: Audio) -> bytes:
        if audio.size:
            x = np.ascontiguousarray(np.clip(audio, -1.0, 1.0), np.float32)[None, :]
            frame = self._av.AudioFrame.from_ndarray(x, format="fltp", layout="mono")
            frame.sample_rate = self._rate
            for packet in self._stream.encode(frame):
                self._box.mux(packet)
        return self._take()

    def finish(self) -> bytes:
        for packet in self._stream.encode(None):
            self._box.mux(packet)
        self._box.close()
        return self._take()


BUFFERED = frozenset({"flac"})
"""Formats sent whole at the end of a stream: a FLAC stream of unknown length is valid, but
libsndfile (and so Python's soundfile) cannot read one, so the header is filled in first."""


class StreamEncoder:
    """``write(chunk) -> bytes`` as soon as they exist, then ``finish() -> bytes``.

    wav and pcm bytes leave with every chunk; mp3, ogg/opus and aac as their encoders emit
    frames (Ogg pages hold about a second); flac only at the end (see :data:`BUFFERED`).
    """

    def __init__(self, fmt: Format, sample_rate: int) -> None:
        self.fmt = fmt
        self.sample_rate = sample_rate
        self._started = False
        self._sf: Any = None
        self._sink: _Sink | None = None
        self._aac: _AacEncoder | None = None
        self._whole: io.BytesIO | None = None
        if fmt.name == "aac":
            self._aac = _AacEncoder(sample_rate)
        elif fmt.container is not None and fmt.name != "wav":
            self._sink = _Sink()
            target: Any = io.BytesIO() if fmt.name in BUFFERED else self._sink
            self._whole = target if fmt.name in BUFFERED else None
            extra: dict[str, Any] = {}
            if fmt.name == "mp3":
                extra = {"bitrate_mode": "CONSTANT", "compression_level": STREAM_MP3_QUALITY}
            self._sf = _soundfile(target, fmt, sample_rate, **extra)

    def write(self, audio: Audio) -> bytes:
        if self._aac is not None:
            return self._aac.write(audio)
        if self._sf is not None and self._sink is not None:
            if audio.size:
                self._sf.write(np.clip(audio, -1.0, 1.0))
            return self._sink.take()
        head = b""
        if not self._started and self.fmt.name == "wav":
            head = wav_header(self.sample_rate)
        self._started = True
        return head + to_pcm16(audio)

    def finish(self) -> bytes:
        if self._aac is not None:
            return self._aac.finish()
        if self._sf is not None and self._sink is not None:
            self._sf.close()
            return self._whole.getvalue() if self._whole is not None else self._sink.take()
        if not self._started and self.fmt.name == "wav":
            self._started = True
            return wav_header(self.sample_rate)
        return b""


class WholeEncoder:
    """A whole answer's bytes, encoded chunk by chunk: ``write(chunk)``, then ``finish()``.

    Nothing but the encoded bytes is ever held: 16-bit PCM in blocks (:class:`Pcm16Writer`)
    for wav and pcm, libsndfile writing into a seekable buffer for the others (so MP3's
    header and FLAC's STREAMINFO are filled in as a file's would be; the bytes equal one
    call on the whole audio), and the AAC encoder's packets. A 40-minute answer once cost
    its float audio, a resampled copy and the encoding at the same time (1.8 GB)."""

    def __init__(self, fmt: Format, sample_rate: int) -> None:
        self.fmt = fmt
        self.sample_rate = sample_rate
        self.samples = 0
        self._pcm: Pcm16Writer | None = None
        self._sf: Any = None
        self._buf: io.BytesIO | None = None
        self._aac: _AacEncoder | None = None
        self._aac_out: list[bytes] = []
        if fmt.name in ("wav", "pcm"):
            self._pcm = Pcm16Writer()
        elif fmt.name == "aac":
            self._aac = _AacEncoder(sample_rate)
        else:
            self._buf = io.BytesIO()
            self._sf = _soundfile(self._buf, fmt, sample_rate)

    def write(self, audio: Audio) -> None:
        if not audio.size:
            return
        self.samples += audio.size
        if self._pcm is not None:
            self._pcm.write(audio)
        elif self._aac is not None:
            self._aac_out.append(self._aac.write(audio))
        else:
            self._sf.write(np.clip(audio, -1.0, 1.0))

    def finish(self) -> bytes:
        if self._pcm is not None:
            n = self._pcm.samples
            head = wav_header(self.sample_rate, 2 * n) if self.fmt.name == "wav" else b""
            return self._pcm.getvalue(head)
        if self._aac is not None:
            out = b"".join([*self._aac_out, self._aac.finish()])
            self._aac_out.clear()
            return out
        assert self._buf is not None
        self._sf.close()
        return self._buf.getvalue()


def output_cost(fmt: Format, sample_rate: int) -> tuple[float, float]:
    """(CPU seconds, bytes) per second of audio in ``fmt`` at ``sample_rate``, at most:
    what encoding (and resampling) adds to a request beyond synthesis, for admission.

    Measured on 20 s of noise (``StreamEncoder``, one core): wav/pcm 0.04-0.7 ms a second
    of audio, flac 0.4-2 ms, mp3 4-27 ms, aac 8-12 ms, ogg/opus 11-48 ms (Opus resamples
    everything to 48 kHz inside); compressed sizes 2.7-20 kB a second."""
    scale = sample_rate / 24000
    name = fmt.name
    if name in ("wav", "pcm"):
        return 0.001 * scale, 2.0 * sample_rate
    if name == "flac":
        return 0.003 * scale, 2.0 * sample_rate
    if name == "mp3":
        return 0.03 * scale, max(0.5 * sample_rate, 5000.0)
    if name == "aac":
        return 0.015, 12000.0
    return 0.05, 10000.0  # ogg / opus (Vorbis at 22.05 / 44.1 kHz alike)
