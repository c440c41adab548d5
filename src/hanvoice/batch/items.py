"""One unit of batch work (:class:`Item`) and its key, which decides whether a rerun skips it.

An item's key is a SHA-256 over everything that changes its audio: the text, whether it is
SSML, the voice, the prosody parameters, the output format and the voice's version
(``VoiceInfo.model_sha256``). Same key, same bytes: a rerun that finds a finished file under
the same key skips the item; any change renders it again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

KEY_VERSION = 1
"""Bumped when the way an item becomes audio changes in a way its fields do not show."""

_UNSAFE = re.compile(r"[^\w.-]+")


@dataclass(frozen=True, slots=True)
class Item:
    """What to say and how; ``title`` is only carried into the manifest (book chapters)."""

    id: str
    text: str
    voice: str = "baker"
    emotion: str = "neutral"
    intensity: float = 1.0
    speed: float = 1.0
    pitch: float = 0.0
    format: str = "wav"
    ssml: bool = False
    title: str = ""

    @property
    def filename(self) -> str:
        """``id`` made safe as a file name, with the format's extension
        (``"intro/1 a"`` -> ``"intro_1_a.wav"``)."""
        stem = _UNSAFE.sub("_", self.id).strip("._") or "item"
        return f"{stem}.{self.format}"

    def key(self, model_sha256: str) -> str:
        fields = asdict(self)
        fields.pop("id")
        fields.pop("title")
        fields["model_sha256"] = model_sha256
        fields["key_version"] = KEY_VERSION
        blob = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker sends back for one item: encoded audio, or the reason it failed."""

    id: str
    audio: bytes = b""
    duration: float = 0.0
    error: str = ""
    """Empty on success; else ``code: message`` of the error (``empty_text: ...``)."""
