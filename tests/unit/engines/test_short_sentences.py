"""One-character sentences next to each other ("发。好") synthesize, plain and in SSML.

17 of 211 such pairs once failed in the vocoder's window plan: a first sentence shorter than
a stream's lead window (0.3 s of sound) got a lead window running past its sound and a
second window that ended before it began. Every pair of these common characters with each
sentence end, and the same as SSML sentences, must give audio.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hanvoice.engines.fastspeech2.windows import HOP
from hanvoice.synth import SynthesisParams, Synthesizer

FIRST = "发了的呢吗吧啊好是对我你他一不"
"""Characters that end a sentence often, or are a sentence alone (answers, particles)."""
SECOND = "好是对发了我你他她嗯哦行走来"
ENDS = "。！？"

PAIRS = [f"{x}{end}{y}" for x, y in itertools.product(FIRST, SECOND) for end in ENDS[:1]]
PAIRS += [f"{x}{end}{y}" for x, y in zip(FIRST, SECOND, strict=False) for end in ENDS[1:]]


def test_enough_pairs() -> None:
    assert len(PAIRS) >= 211


@pytest.mark.parametrize("chunk", range(0, len(PAIRS), 40))
def test_pairs_synthesize(voice: Synthesizer, chunk: int) -> None:
    for text in PAIRS[chunk : chunk + 40]:
        result = voice.synthesize(text)
        assert result.duration > 0.2, text


@pytest.mark.parametrize("chunk", range(0, len(PAIRS), 40))
def test_pairs_synthesize_as_ssml(voice: Synthesizer, chunk: int) -> None:
    for text in PAIRS[chunk : chunk + 40]:
        x, y = text[0], text[2]
        result = voice.synthesize(f"<speak><s>{x}</s><s>{y}</s></speak>", ssml=True)
        assert result.duration > 0.2, text


@pytest.mark.parametrize("text", ["发。好", "了！好", "<s>发</s><s>好</s>"])
def test_streamed_early_parts_too(voice: Synthesizer, text: str) -> None:
    """The service streams with early parts (a lead window for the first sentence)."""
    ssml = text.startswith("<")
    chunks = list(voice.stream(text, ssml=ssml, early=True))
    assert sum(c.duration for c in chunks) > 0.2


FOUND_BY_FUZZING = [
    # (text, params, early): one syllable or two at double speed made a whole sentence's
    # mel shorter than the vocoder takes (9 frames; it needs 10): "Pad reflect" errors
    ("地", {"speed": 2.0}, False),
    ("不", {"speed": 2.0, "emotion": "angry"}, True),
    ("不，", {"speed": 2.0, "emotion": "happy"}, True),
    ("！对", {"speed": 2.0, "emotion": "angry"}, False),
    ("一。一。", {"speed": 2.0, "emotion": "happy"}, True),
    ("上，人以生他大国来？为", {"speed": 2.0, "emotion": "happy"}, True),
]


@pytest.mark.parametrize(("text", "params", "early"), FOUND_BY_FUZZING)
def test_found_by_fuzzing(voice: Synthesizer, text: str, params: dict[str, object],
                          early: bool) -> None:  # fmt: skip
    chunks = list(voice.stream(text, SynthesisParams(**params), early=early))  # type: ignore[arg-type]
    assert sum(c.duration for c in chunks) > 0.05


@pytest.mark.parametrize("frames", [1, 2, 5, 9, 10, 11])
def test_any_mel_length_vocodes(voice: Synthesizer, frames: int) -> None:
    """The vocoder's own floor (10 frames) is the engine's business, not the caller's."""
    mel = np.full((1, frames, 80), -4.0, np.float32)
    audio = voice.engine._vocode(mel)  # type: ignore[attr-defined]
    assert audio.shape == (frames * HOP,) and np.isfinite(audio).all()
