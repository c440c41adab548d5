"""One cached response: encoded audio bytes plus what is needed to answer without synthesis.

Stored as ``MAGIC + u32 header length + JSON header + audio`` so Redis holds one opaque
value per key (one round trip per hit) and the audio bytes are never base64-inflated.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

MAGIC = b"HVC1"
_LEN = struct.Struct(">I")


class CorruptEntry(ValueError):
    """Bytes in the cache that are not an entry this version wrote (treated as a miss)."""


@dataclass(frozen=True, slots=True)
class CachedAudio:
    audio: bytes
    """The encoded response body (wav/mp3/... bytes), exactly as sent to the client."""
    format: str
    media_type: str
    sample_rate: int
    duration: float
    meta: dict[str, Any] = field(default_factory=dict)
    """Anything else the response carries (timestamps, normalized text, voice)."""

    @property
    def size(self) -> int:
        return len(self.audio) + 256

    def to_bytes(self) -> bytes:
        header = json.dumps(
            {
                "format": self.format,
                "media_type": self.media_type,
                "sample_rate": self.sample_rate,
                "duration": self.duration,
                "meta": self.meta,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        return MAGIC + _LEN.pack(len(header)) + header + self.audio

    @classmethod
    def from_bytes(cls, blob: bytes) -> CachedAudio:
        if len(blob) < len(MAGIC) + _LEN.size or not blob.startswith(MAGIC):
            raise CorruptEntry("not a hanvoice cache entry")
        start = len(MAGIC) + _LEN.size
        (n,) = _LEN.unpack_from(blob, len(MAGIC))
        if start + n > len(blob):
            raise CorruptEntry("truncated cache entry")
        try:
            h = json.loads(blob[start : start + n].decode("utf-8"))
            return cls(
                audio=blob[start + n :],
                format=str(h["format"]),
                media_type=str(h["media_type"]),
                sample_rate=int(h["sample_rate"]),
                duration=float(h["duration"]),
                meta=dict(h.get("meta") or {}),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptEntry(f"bad cache entry header: {exc}") from exc
