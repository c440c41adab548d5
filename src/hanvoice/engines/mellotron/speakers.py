"""The 24 trained speakers of the Mellotron set, and the voices they become.

Cheap to import and call: no onnxruntime, no model files opened beyond a small manifest,
so ``hanvoice voices`` can list the set without loading it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from hanvoice.engines.base import VoiceConfig

ENGINE = "mellotron"


@dataclass(frozen=True, slots=True)
class Speaker:
    id: str
    """Voice id users pass (``aiyue``)."""
    speaker: str
    """Exact training name, hashed into the model's speaker input (``Aiyue``)."""
    name: str
    """Display name, Chinese first, with pinyin."""
    gender: str
    withheld: str = ""
    """Why the voice is not offered although it was trained (empty: offered)."""
    note: str = ""
    """What a user should know when choosing it (added to its description)."""
    gain_db: float = 0.0
    """Brings the speaker to the common speech level (they were trained at different ones)."""


@functools.cache
def speakers() -> tuple[Speaker, ...]:
    """The trained speakers from ``voices.yaml`` (read once; the data never changes)."""
    text = resources.files(__package__).joinpath("voices.yaml").read_text("utf-8")
    data: Any = yaml.safe_load(text)
    return tuple(
        Speaker(
            str(v["id"]),
            str(v["speaker"]),
            str(v["name"]),
            str(v["gender"]),
            str(v.get("withheld", "")),
            str(v.get("note", "")),
            float(v.get("gain_db", 0.0)),
        )
        for v in data["voices"]
    )


def by_speaker(name: str) -> Speaker | None:
    """The speaker trained under exactly ``name`` (case-sensitive, as the hash is)."""
    return next((s for s in speakers() if s.speaker == name), None)


def by_id(voice_id: str) -> Speaker | None:
    return next((s for s in speakers() if s.id == voice_id), None)


def speaker_vector(name: str) -> npt.NDArray[np.float32]:
    """ttskit's speaker input: the 32 hex digits of MD5(name), each mapped to (d - 7) / 10.

    >>> speaker_vector("Aiyue").shape
    (32,)
    """
    digits = hashlib.md5(name.encode("utf-8")).hexdigest()  # a name hash, not security
    return ((np.array([int(c, 16) for c in digits], np.float32) - 7.0) / 10.0).astype(np.float32)


def voice_configs(folder: Path | None = None) -> list[VoiceConfig]:
    """One voice per offered speaker, all sharing one model; empty unless set up."""
    from hanvoice.engines.mellotron.assets import installed

    if not installed(folder):
        return []
    return [
        VoiceConfig(s.id, ENGINE, folder, {"speaker": s.speaker})
        for s in speakers()
        if not s.withheld
    ]


def unavailable_reason(voice_id: str) -> str:
    """Why a Mellotron voice id is not in the catalogue here ("" if it is no such voice)."""
    from hanvoice.engines.mellotron.assets import SETUP_HINT, installed

    s = by_id(voice_id)
    if s is None:
        return ""
    if s.withheld:
        return f"the Mellotron voice {voice_id!r} is withheld: {s.withheld}"
    if not installed():
        return f"it belongs to the optional Mellotron voice set, not set up here: {SETUP_HINT}"
    return ""
