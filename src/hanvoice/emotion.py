"""Emotion presets -> prosody controls.

Each emotion is a preset over tempo, pitch level, pitch range, loudness and pauses, plus
the shape of its intonation (accented peaks, declination, final and question rises), in
``data/emotions.yaml``, scaled by an intensity and combined with the caller's own speed,
pitch and volume. The bundled voice realises all of it inside its model
(:mod:`hanvoice.engines.fastspeech2.prosody`); other voices realise what they can and leave
level, range and tempo to signal processing (the contour shapes then go unrealised).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hanvoice.engines.base import Controls
from hanvoice.errors import InvalidParameter, UnknownEmotion

_FIELDS = (
    "tempo",
    "pitch",
    "pitch_range",
    "volume_db",
    "pause_scale",
    "accent",
    "declination",
    "final_rise",
    "question_rise",
)
_MULTIPLICATIVE = {"tempo", "pitch_range", "pause_scale", "accent"}
INTENSITY_RANGE = (0.0, 2.0)


@dataclass(frozen=True, slots=True)
class EmotionPresets:
    presets: dict[str, Controls]
    aliases: dict[str, str]

    @classmethod
    def load(cls, path: Path | None = None) -> EmotionPresets:
        if path is None:
            text = resources.files("hanvoice").joinpath("data/emotions.yaml").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data: dict[str, Any] = yaml.safe_load(text)
        presets = {}
        for name, values in data["emotions"].items():
            unknown = set(values) - set(_FIELDS)
            if unknown:
                raise ValueError(f"emotion {name!r}: unknown fields {sorted(unknown)}")
            v: dict[str, Any] = {k: float(x) for k, x in values.items()}
            presets[name] = Controls(**v, emotion=name)
        aliases = {str(k): str(v) for k, v in (data.get("aliases") or {}).items()}
        return cls(presets, aliases)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.presets)

    def resolve(self, name: str) -> str:
        """The canonical emotion name for ``name`` (case-insensitive, aliases allowed)."""
        key = name.strip().lower()
        key = self.aliases.get(key, key)
        if key not in self.presets:
            raise UnknownEmotion(
                f"unknown emotion {name!r}; choose one of: {', '.join(self.presets)}"
            )
        return key

    def controls(
        self,
        emotion: str,
        intensity: float = 1.0,
        *,
        speed: float = 1.0,
        pitch: float = 0.0,
        volume: float = 0.0,
    ) -> Controls:
        """The controls for ``emotion`` at ``intensity`` with the caller's adjustments on top.

        >>> p = EmotionPresets.load()
        >>> p.controls("happy", 0.0) == p.controls("neutral")
        True
        """
        lo, hi = INTENSITY_RANGE
        if not lo <= intensity <= hi:
            raise InvalidParameter(f"intensity must be between {lo} and {hi}, got {intensity}")
        emotion = self.resolve(emotion)
        preset = self.presets[emotion]
        values: dict[str, Any] = {}
        for f in _FIELDS:
            v = float(getattr(preset, f))
            values[f] = v**intensity if f in _MULTIPLICATIVE else v * intensity
        values["tempo"] *= speed
        values["pitch"] += pitch
        values["volume_db"] += volume
        return Controls(**values, emotion=emotion, intensity=intensity)
