"""Emotion presets -> prosody controls.

The voice's model controls only tempo and intonation width, so each emotion is a preset over
tempo, pitch level, pitch range, loudness and pauses (``data/emotions.yaml``), scaled by an
intensity and combined with the caller's own speed, pitch and volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hanvoice.engines.base import Controls
from hanvoice.errors import InvalidParameter, UnknownEmotion

_FIELDS = ("tempo", "pitch", "pitch_range", "volume_db", "pause_scale")
_MULTIPLICATIVE = {"tempo", "pitch_range", "pause_scale"}
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
            v = {k: float(x) for k, x in values.items()}
            presets[name] = Controls(
                tempo=v.get("tempo", 1.0),
                pitch=v.get("pitch", 0.0),
                pitch_range=v.get("pitch_range", 1.0),
                volume_db=v.get("volume_db", 0.0),
                pause_scale=v.get("pause_scale", 1.0),
                emotion=name,
            )
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
        values = {}
        for f in _FIELDS:
            v = float(getattr(preset, f))
            values[f] = v**intensity if f in _MULTIPLICATIVE else v * intensity
        return Controls(
            tempo=values["tempo"] * speed,
            pitch=values["pitch"] + pitch,
            pitch_range=values["pitch_range"],
            volume_db=values["volume_db"] + volume,
            pause_scale=values["pause_scale"],
            emotion=emotion,
            intensity=intensity,
        )
