"""The core call both the CLI and the service use: text in, audio chunks out.

:class:`Synthesizer` ties a front end, an engine and the emotion presets together.
``stream()`` yields one :class:`Chunk` per segment as soon as it is ready (each ends with the
pause that follows it, so a consumer just concatenates); ``synthesize()`` is built on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hanvoice.audio import effects
from hanvoice.emotion import EmotionPresets
from hanvoice.engines.base import Audio, Controls, Engine, VoiceInfo
from hanvoice.errors import EmptyText, InvalidParameter
from hanvoice.text import Frontend, Segment, Style, Utterance

SPEED_RANGE = (0.5, 2.0)
PITCH_RANGE = (-6.0, 6.0)
VOLUME_RANGE = (-30.0, 12.0)


@dataclass(frozen=True, slots=True)
class SynthesisParams:
    """Per-call settings; ``validated()`` checks ranges and resolves the emotion name."""

    emotion: str = "neutral"
    intensity: float = 1.0
    speed: float = 1.0
    """0.5-2.0, > 1 faster (as OpenAI's ``speed``)."""
    pitch: float = 0.0
    """Semitones, -6..+6."""
    volume: float = 0.0
    """dB, -30..+12."""

    def validated(
        self, presets: EmotionPresets, allowed: tuple[str, ...] | None = None
    ) -> SynthesisParams:
        for name, value, (lo, hi) in (
            ("speed", self.speed, SPEED_RANGE),
            ("pitch", self.pitch, PITCH_RANGE),
            ("volume", self.volume, VOLUME_RANGE),
            ("intensity", self.intensity, (0.0, 2.0)),
        ):
            if not (isinstance(value, int | float) and math.isfinite(value) and lo <= value <= hi):
                raise InvalidParameter(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
        emotion = presets.resolve(self.emotion)
        if allowed is not None and emotion not in allowed:
            raise InvalidParameter(
                f"emotion {emotion!r} is not enabled here; allowed: {', '.join(allowed)}"
            )
        return replace(self, emotion=emotion)


@dataclass(frozen=True, slots=True)
class CharTime:
    """Where one character of the normalized text is spoken."""

    char: str
    start: float
    end: float
    source: tuple[int, int]
    """Span of the original input it came from."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "char": self.char,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "source": list(self.source),
        }


@dataclass(frozen=True, slots=True)
class Chunk:
    audio: Audio
    """Mono float32 at ``sample_rate``, peak-safe, including the pause after the segment."""
    sample_rate: int
    offset: float
    """Seconds from the start of the whole stream to this chunk's first sample."""
    text: str
    timestamps: tuple[CharTime, ...]
    index: int

    @property
    def duration(self) -> float:
        return self.audio.size / self.sample_rate


@dataclass(frozen=True, slots=True)
class SynthesisResult:
    audio: Audio
    sample_rate: int
    timestamps: tuple[CharTime, ...]
    utterance: Utterance
    params: SynthesisParams = field(default_factory=SynthesisParams)

    @property
    def duration(self) -> float:
        return self.audio.size / self.sample_rate


class Synthesizer:
    """A loaded voice with its front end: safe to share between threads."""

    def __init__(
        self,
        engine: Engine,
        frontend: Frontend | None = None,
        presets: EmotionPresets | None = None,
    ) -> None:
        self.engine = engine
        self.frontend = frontend or Frontend()
        self.presets = presets or EmotionPresets.load()

    @property
    def info(self) -> VoiceInfo:
        return self.engine.info

    @property
    def sample_rate(self) -> int:
        return self.engine.info.sample_rate

    def analyze(self, text: str, *, ssml: bool = False) -> Utterance:
        """Run the front end; raise EmptyText when nothing in ``text`` can be spoken."""
        if not text or not text.strip():
            raise EmptyText("text is empty")
        utt = self.frontend.analyze(text, ssml=ssml)
        if not utt.speakable:
            raise EmptyText("text has nothing that can be spoken")
        return utt

    def stream(
        self,
        text: str | Utterance,
        params: SynthesisParams | None = None,
        *,
        ssml: bool = False,
        allowed_emotions: tuple[str, ...] | None = None,
    ) -> Iterator[Chunk]:
        """Yield one chunk per segment as soon as it is synthesized."""
        params = (params or SynthesisParams()).validated(self.presets, allowed_emotions)
        utt = text if isinstance(text, Utterance) else self.analyze(text, ssml=ssml)
        sr = self.sample_rate
        base = Style(params.emotion, params.intensity, params.speed, params.pitch, params.volume)
        offset = 0.0
        for index, segment in enumerate(utt.segments):
            controls = self._controls(segment.style.over(base), allowed_emotions)
            audio, times = self._render(segment, controls)
            pause = np.zeros(round(segment.pause_after * controls.pause_scale * sr), np.float32)
            audio = np.concatenate([audio, pause]) if pause.size else audio
            stamps = tuple(
                CharTime(tok.char, offset + t[0], offset + t[1], tok.source)
                for tok, t in zip(segment.tokens, times, strict=True)
                if t is not None
            )
            yield Chunk(audio, sr, offset, segment.text, stamps, index)
            offset += audio.size / sr

    def synthesize(
        self,
        text: str | Utterance,
        params: SynthesisParams | None = None,
        *,
        ssml: bool = False,
        allowed_emotions: tuple[str, ...] | None = None,
    ) -> SynthesisResult:
        params = (params or SynthesisParams()).validated(self.presets, allowed_emotions)
        utt = text if isinstance(text, Utterance) else self.analyze(text, ssml=ssml)
        chunks = list(self.stream(utt, params, allowed_emotions=allowed_emotions))
        audio = np.concatenate([c.audio for c in chunks]) if chunks else np.zeros(0, np.float32)
        stamps = tuple(t for c in chunks for t in c.timestamps)
        return SynthesisResult(audio, self.sample_rate, stamps, utt, params)

    def _controls(self, style: Style, allowed: tuple[str, ...] | None) -> Controls:
        emotion = self.presets.resolve(style.emotion or "neutral")
        if allowed is not None and emotion not in allowed:
            raise InvalidParameter(f"emotion {emotion!r} is not enabled here")
        intensity = 1.0 if style.intensity is None else style.intensity
        native = "emotion" in self.engine.native_controls
        controls = self.presets.controls(
            "neutral" if native else emotion,
            intensity,
            speed=1.0 if style.rate is None else style.rate,
            pitch=style.pitch or 0.0,
            volume=style.volume or 0.0,
        )
        return replace(controls, emotion=emotion, intensity=intensity)

    def _render(
        self, segment: Segment, c: Controls
    ) -> tuple[Audio, tuple[tuple[float, float] | None, ...]]:
        """Engine output with the controls it does not realise itself applied by DSP."""
        native = self.engine.native_controls
        rendered = self.engine.render(segment, c)
        audio, times = rendered.audio, rendered.times
        if audio.size == 0:
            return audio, times
        tempo = 1.0 if "tempo" in native else c.tempo
        audio = effects.reshape_pitch(
            audio,
            self.sample_rate,
            semitones=0.0 if "pitch" in native else c.pitch,
            range_factor=1.0 if "pitch_range" in native else c.pitch_range,
            tempo=tempo,
        )
        if tempo != 1.0:
            times = tuple(None if t is None else (t[0] / tempo, t[1] / tempo) for t in times)
        if "volume_db" not in native:
            audio = effects.gain(audio, c.volume_db)
        audio = effects.limit_peak(effects.fade_edges(audio, self.sample_rate))
        return audio, times
