"""Emotions on the Mellotron voices: the same preset + signal-processing layer as the bundled
voice, the same listener expectations, the same quality guard (DNSMOS within 0.25)."""

from __future__ import annotations

import numpy as np
import pytest
from voices_common import FEMALE, MALE, dnsmos

from hanvoice.synth import SynthesisParams, Synthesizer
from hanvoice.voices import VoiceCatalog
from support.audio import EMOTION_EXPECTATIONS, Measured, measure

SENTENCES = [
    "今天天气很好，我们去公园散步吧。",
    "前方五百米右转，进入人民大道，然后继续直行三公里。",
]
EMOTIONS = ("neutral", "happy", "sad", "angry", "surprise", "fear", "disgust")
# issue #2's listener expectations, as for the bundled voice
EXPECTATIONS = EMOTION_EXPECTATIONS
QUALITY_GUARD = 0.25

Results = dict[str, list[tuple[Measured, float]]]


@pytest.fixture(scope="module", params=[FEMALE, MALE])
def results(request: pytest.FixtureRequest, voice_set: None) -> Results:
    voice: Synthesizer = VoiceCatalog().get(request.param)
    out: Results = {}
    for emotion in EMOTIONS:
        out[emotion] = []
        for s in SENTENCES:
            audio = voice.synthesize(s, SynthesisParams(emotion=emotion)).audio
            out[emotion].append((measure(audio, voice.sample_rate), dnsmos(audio, 22050)))
    return out


def _ratio(r: Results, emotion: str, field: str) -> float:
    pairs = zip(r[emotion], r["neutral"], strict=True)
    return float(np.mean([getattr(e, field) / getattr(n, field) for (e, _), (n, _) in pairs]))


@pytest.mark.parametrize(("emotion", "field", "op", "bound"), EXPECTATIONS)
def test_emotion_moves_prosody_the_expected_way(
    results: Results, emotion: str, field: str, op: str, bound: float
) -> None:
    r = _ratio(results, emotion, field)
    ok = {">=": r >= bound, ">": r > bound, "<": r < bound}[op]
    assert ok, f"{emotion} {field}: ratio to neutral {r:.3f}, expected {op} {bound}"


def test_loudness(results: Results) -> None:
    def db(emotion: str) -> float:
        pairs = zip(results[emotion], results["neutral"], strict=True)
        return float(np.mean([e.rms_db - n.rms_db for (e, _), (n, _) in pairs]))

    assert db("angry") >= 1.5 and db("sad") < 0 and db("fear") < 0


@pytest.mark.parametrize("emotion", EMOTIONS[1:])
def test_emotion_keeps_the_quality(results: Results, emotion: str) -> None:
    neutral = np.mean([q for _, q in results["neutral"]])
    mine = np.mean([q for _, q in results[emotion]])
    assert mine >= neutral - QUALITY_GUARD, f"{emotion}: DNSMOS {mine:.2f} vs neutral {neutral:.2f}"
    assert all(m.peak < 0.99 for m, _ in results[emotion])
