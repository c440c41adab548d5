"""The audio cache key: everything that changes the bytes a request gets back.

The key is a SHA-256 over a canonical JSON document of the model identity (id and the
SHA-256 of its weights, so a new model never serves old audio), the normalized input, every
field of :class:`~hanvoice.synth.SynthesisParams` (taken with ``dataclasses.fields``, so a
parameter added later joins the key without anyone remembering to add it here), the output
format and sample rate, and whatever else the caller says shapes the response (``extra``).

Example::

    >>> k = audio_cache_key(
    ...     model_id="m", model_sha256="00", voice="baker", text=" 你好  世界 ",
    ...     params=SynthesisParams(), fmt="wav", sample_rate=24000)
    >>> k == audio_cache_key(
    ...     model_id="m", model_sha256="00", voice="baker", text="你好 世界",
    ...     params=SynthesisParams(), fmt="wav", sample_rate=24000)
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping

from hanvoice.synth import SynthesisParams

KEY_SCHEMA = 1
"""Bump when the entry layout or the meaning of a field changes: old entries stop matching."""

_SPACES = re.compile(r"\s+")


def normalize_input(text: str) -> str:
    """Canonical form of the input for the key: NFC, trimmed, runs of whitespace as one space.

    Only changes that cannot change the audio are made here (the front end treats any run of
    whitespace alike); full-width/half-width folding is *not* done because full-width
    punctuation and digits can be read differently.
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _canonical(value: object) -> object:
    """Numbers as floats (``1`` and ``1.0`` are one parameter value), bools kept as bools."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return str(value)


def audio_cache_key(
    *,
    model_id: str,
    model_sha256: str,
    voice: str,
    text: str,
    params: SynthesisParams,
    fmt: str,
    sample_rate: int,
    ssml: bool = False,
    extra: Mapping[str, object] | None = None,
) -> str:
    """Hex SHA-256 naming one synthesized response. ``params`` must already be validated
    (emotion aliases resolved), so ``hate`` and ``disgust`` share an entry."""
    doc = {
        "schema": KEY_SCHEMA,
        "model": [model_id, model_sha256],
        "voice": voice,
        "text": normalize_input(text),
        "ssml": bool(ssml),
        "params": {f.name: _canonical(getattr(params, f.name)) for f in dataclasses.fields(params)},
        "format": fmt.lower(),
        "sample_rate": int(sample_rate),
        "extra": _canonical(dict(extra or {})),
    }
    blob = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
