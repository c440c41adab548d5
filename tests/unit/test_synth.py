"""The synthesizer end to end on the bundled voice: real audio, measured."""

from __future__ import annotations

import numpy as np
import pytest

from hanvoice.errors import EmptyText, InvalidParameter, UnknownEmotion
from hanvoice.synth import SynthesisParams, Synthesizer
from support.audio import EMOTION_EXPECTATIONS, Measured, assert_speech, measure

SENTENCES = [
    "今天天气很好，我们去公园散步吧。",
    "前方五百米右转，进入人民大道，然后继续直行三公里。",
]


@pytest.fixture(scope="module")
def measured(voice: Synthesizer) -> dict[str, list[Measured]]:
    out = {}
    for emotion in ("neutral", "happy", "sad", "angry", "surprise", "fear", "disgust"):
        out[emotion] = [
            measure(voice.synthesize(s, SynthesisParams(emotion=emotion)).audio, voice.sample_rate)
            for s in SENTENCES
        ]
    return out


def _ratio(m: dict[str, list[Measured]], emotion: str, field: str) -> float:
    return float(
        np.mean(
            [
                getattr(e, field) / getattr(n, field)
                for e, n in zip(m[emotion], m["neutral"], strict=True)
            ]
        )
    )


def _db(m: dict[str, list[Measured]], emotion: str) -> float:
    return float(
        np.mean([e.rms_db - n.rms_db for e, n in zip(m[emotion], m["neutral"], strict=True)])
    )


EXPECTATIONS = EMOTION_EXPECTATIONS


@pytest.mark.parametrize(("emotion", "field", "op", "bound"), EXPECTATIONS)
def test_emotion_moves_prosody_the_expected_way(
    measured: dict[str, list[Measured]], emotion: str, field: str, op: str, bound: float
) -> None:
    r = _ratio(measured, emotion, field)
    ok = {">=": r >= bound, ">": r > bound, "<": r < bound}[op]
    assert ok, f"{emotion} {field}: ratio to neutral {r:.3f}, expected {op} {bound}"


@pytest.mark.parametrize(
    ("emotion", "op", "bound"), [("angry", ">=", 1.5), ("sad", "<", 0.0), ("fear", "<", 0.0)]
)
def test_emotion_loudness(
    measured: dict[str, list[Measured]], emotion: str, op: str, bound: float
) -> None:
    d = _db(measured, emotion)
    assert (d >= bound) if op == ">=" else (d < bound), f"{emotion}: {d:+.2f} dB"


def test_every_emotion_is_clean_speech(
    voice: Synthesizer, measured: dict[str, list[Measured]]
) -> None:
    for emotion, ms in measured.items():
        for m in ms:
            assert m.peak < 0.99, emotion


def test_intensity_zero_sounds_neutral(voice: Synthesizer) -> None:
    a = voice.synthesize(SENTENCES[0], SynthesisParams(emotion="angry", intensity=0.0)).audio
    b = voice.synthesize(SENTENCES[0]).audio
    assert np.array_equal(a, b)


def test_stream_chunks_join_into_the_whole(voice: Synthesizer) -> None:
    text = "第一句话。第二句话，有一个逗号！第三句话？"
    chunks = list(voice.stream(text))
    assert len(chunks) == 3
    whole = voice.synthesize(text)
    assert np.array_equal(np.concatenate([c.audio for c in chunks]), whole.audio)
    assert [c.offset for c in chunks] == sorted(c.offset for c in chunks)
    assert_speech(whole.audio, whole.sample_rate, text_chars=14)


def test_timestamps_are_monotonic_and_inside_the_audio(voice: Synthesizer) -> None:
    r = voice.synthesize("银行行长说：明天开会。后天休息。")
    starts = [t.start for t in r.timestamps]
    assert starts == sorted(starts)
    assert r.timestamps[-1].end <= r.duration
    assert "".join(t.char for t in r.timestamps) == "银行行长说明天开会后天休息"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (SynthesisParams(speed=0.4), InvalidParameter),
        (SynthesisParams(speed=2.1), InvalidParameter),
        (SynthesisParams(pitch=7), InvalidParameter),
        (SynthesisParams(volume=13), InvalidParameter),
        (SynthesisParams(intensity=2.5), InvalidParameter),
        (SynthesisParams(speed=float("nan")), InvalidParameter),
        (SynthesisParams(emotion="joy"), UnknownEmotion),
    ],
)
def test_bad_params(voice: Synthesizer, params: SynthesisParams, error: type[Exception]) -> None:
    with pytest.raises(error):
        voice.synthesize("你好", params)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "😀😀", "，。！"])
def test_nothing_to_say(voice: Synthesizer, text: str) -> None:
    with pytest.raises(EmptyText):
        voice.synthesize(text)


@pytest.mark.parametrize(("speed", "lo", "hi"), [(0.5, 1.7, 2.3), (2.0, 0.4, 0.6)])
def test_speed(voice: Synthesizer, speed: float, lo: float, hi: float) -> None:
    base = voice.synthesize(SENTENCES[1]).duration
    r = voice.synthesize(SENTENCES[1], SynthesisParams(speed=speed)).duration / base
    assert lo < r < hi


@pytest.mark.parametrize("semitones", [-4.0, 4.0])
def test_pitch_semitones(voice: Synthesizer, semitones: float) -> None:
    base = measure(voice.synthesize(SENTENCES[0]).audio, 24000).f0_median
    shifted = measure(
        voice.synthesize(SENTENCES[0], SynthesisParams(pitch=semitones)).audio, 24000
    ).f0_median
    assert 12 * np.log2(shifted / base) == pytest.approx(semitones, abs=1.0)


def test_volume_never_clips(voice: Synthesizer) -> None:
    r = voice.synthesize(SENTENCES[0], SynthesisParams(volume=12.0))
    assert float(np.max(np.abs(r.audio))) < 0.98


ESTIMATES = [
    ("今天天气很好，我们去公园散步吧。", False, SynthesisParams()),
    ("前方五百米右转，进入人民大道，然后继续直行三公里。", False, SynthesisParams("sad")),
    ("欢迎使用多地域语音合成服务，请问有什么可以帮您？", False, SynthesisParams(speed=0.5)),
    ("您的验证码是372915，五分钟内有效。", False, SynthesisParams("happy", speed=1.5)),
    ('<speak>好<break time="3s"/>的<break time="2s"/></speak>', True, SynthesisParams()),
    ('<speak><prosody rate="x-slow">请慢慢地说这句话。</prosody></speak>', True, SynthesisParams()),
]


@pytest.mark.parametrize(("text", "ssml", "params"), ESTIMATES)
def test_audio_estimates_are_close(
    voice: Synthesizer, text: str, ssml: bool, params: SynthesisParams
) -> None:
    """Admission's guess from the text, and the figure once the text is analysed, are
    within 35 % of the audio made (breaks and speed are what matter most)."""
    utt = voice.analyze(text, ssml=ssml)
    made = voice.synthesize(utt, params).duration
    assert abs(voice.estimate_seconds(text, params, ssml=ssml) / made - 1) < 0.35
    assert abs(voice.audio_seconds(utt, params) / made - 1) < 0.35
