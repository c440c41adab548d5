"""Audio in for recognition: bytes or a file -> 16 kHz mono float32, bounded by construction;
and where to cut it into the 30-second windows Whisper reads.

Decoding untrusted uploads: only the containers OpenAI's transcription API takes (flac, mp3,
mp4/m4a, mpeg, ogg, wav, webm, and ADTS AAC) are opened, and the duration is capped *while
decoding*: a tiny compressed file can hold hours of silence, so the declared duration is
checked first (when the container states one) and the decoded samples are counted as they
come, stopping at the cap with :class:`~hanvoice.errors.RecordingTooLong` before any model runs.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hanvoice.errors import AudioError, RecordingTooLong

RATE = 16000
"""Whisper's sample rate."""
WINDOW = 30.0
"""Seconds Whisper reads at once (shorter audio is padded to it)."""
SHORTEST_WINDOW = 20.0
"""A window is cut at the quietest moment between this and :data:`WINDOW` seconds."""
CONTAINERS = frozenset(
    {"wav", "mp3", "ogg", "flac", "aac", "mpeg", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}
)
"""FFmpeg demuxer names we open (PyAV's ``container.format.name``)."""

Samples = npt.NDArray[np.float32]


def decode(data: bytes | Path, max_seconds: float) -> Samples:
    """The audio as 16 kHz mono float32; :class:`AudioError` when it is not audio we take,
    :class:`RecordingTooLong` past ``max_seconds`` (found out before decoding the rest)."""
    import av

    source: Any = str(data) if isinstance(data, Path) else io.BytesIO(data)
    try:
        container = av.open(source, mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise AudioError(f"cannot read the audio: {_reason(exc)}") from None
    with container:
        name = container.format.name
        if name not in CONTAINERS:
            raise AudioError(
                f"unsupported audio container {name!r}; send flac, mp3, mp4, m4a, mpeg, ogg, "
                "wav or webm"
            )
        if not container.streams.audio:
            raise AudioError("the file has no audio stream")
        declared = (container.duration or 0) / 1_000_000  # microseconds (av.time_base)
        if declared > max_seconds:
            raise RecordingTooLong(_too_long(declared, max_seconds))
        return _samples(container, max_seconds)


def _samples(container: Any, max_seconds: float) -> Samples:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    limit = int(max_seconds * RATE)
    parts: list[Samples] = []
    total = 0
    try:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                arr = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                total += arr.size
                if total > limit:
                    raise RecordingTooLong(_too_long(total / RATE, max_seconds, partial=True))
                parts.append(arr)
        for out in resampler.resample(None):  # flush
            parts.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    except av.FFmpegError as exc:
        raise AudioError(f"cannot decode the audio: {_reason(exc)}") from None
    audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if audio.size > limit:
        raise RecordingTooLong(_too_long(audio.size / RATE, max_seconds))
    if audio.size < RATE // 10:
        raise AudioError("the audio is shorter than 0.1 s")
    return np.clip(audio, -1.0, 1.0)


def _too_long(seconds: float, limit: float, partial: bool = False) -> str:
    more = "more than " if partial else ""
    return f"the audio lasts {more}{seconds:.1f} s; the limit is {limit:g} s"


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__


def from_array(audio: npt.NDArray[np.float32], sample_rate: int) -> Samples:
    """Our own audio (a synthesis result) at Whisper's rate."""
    from hanvoice.audio.encode import resample

    return np.asarray(resample(np.asarray(audio, np.float32), sample_rate, RATE), np.float32)


def windows(audio: Samples) -> list[tuple[int, int]]:
    """``(start, end)`` sample ranges of at most :data:`WINDOW` seconds covering ``audio``,
    each cut at the quietest 20 ms between :data:`SHORTEST_WINDOW` and :data:`WINDOW`
    seconds, so no word is split (a sentence pause is the quietest moment there)."""
    size, longest = audio.size, int(WINDOW * RATE)
    out = []
    start = 0
    while size - start > longest:
        lo, hi = start + int(SHORTEST_WINDOW * RATE), start + longest
        frame = RATE // 50
        frames = audio[lo:hi][: (hi - lo) // frame * frame].reshape(-1, frame)
        cut = lo + int(np.argmin((frames**2).mean(axis=1))) * frame + frame // 2
        out.append((start, cut))
        start = cut
    out.append((start, size))
    return out
