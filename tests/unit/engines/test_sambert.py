"""The Sambert engine against a stand-in that honours the ModelScope pipeline contract:
called as ``pipeline(input=text, voice=speaker)``, it returns ``{OutputKeys.OUTPUT_WAV:
<16 kHz WAV bytes>}``. The stand-in speaks with the bundled voice, so the audio is real."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from hanvoice.audio.encode import encode, resample
from hanvoice.engines import load_engine
from hanvoice.engines.base import VoiceConfig
from hanvoice.engines.sambert import OUTPUT_WAV, SambertEngine, emotion_markup
from hanvoice.errors import EngineError, VoiceAssetError
from hanvoice.synth import SynthesisParams, Synthesizer
from hanvoice.voices import VoiceCatalog, voices_from_file
from support.audio import assert_speech

_TAG = re.compile(r"<emotion category=\"(\w+)\" intensity=\"([\d.]+)\">(.*)</emotion>")


class StandInPipeline:
    def __init__(self, speaker_voice: Synthesizer, rate: int = 16000) -> None:
        self.voice = speaker_voice
        self.rate = rate
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *, input: str, voice: str) -> dict[str, bytes]:
        self.calls.append({"input": input, "voice": voice})
        m = _TAG.fullmatch(input)
        text = m.group(3) if m else input
        audio = self.voice.synthesize(text).audio
        return {OUTPUT_WAV: encode(resample(audio, 24000, self.rate), self.rate, "wav")}


@pytest.fixture
def stand_in(voice: Synthesizer) -> StandInPipeline:
    return StandInPipeline(voice)


def _engine(stand_in: StandInPipeline, **options: Any) -> SambertEngine:
    config = VoiceConfig(
        "zhitian", "sambert", None, {"pipeline_factory": lambda _path: stand_in, **options}
    )
    engine = load_engine(config)
    assert isinstance(engine, SambertEngine)
    return engine


@pytest.mark.parametrize(
    ("emotion", "intensity", "expected"),
    [
        ("neutral", 1.0, "你好"),
        ("happy", 1.0, '<emotion category="happy" intensity="1.00">你好</emotion>'),
        ("disgust", 1.5, '<emotion category="hate" intensity="1.50">你好</emotion>'),
        ("sad", 0.0, "你好"),
    ],
)
def test_emotion_markup(emotion: str, intensity: float, expected: str) -> None:
    assert emotion_markup("你好", emotion, intensity) == expected


def test_synthesizes_through_the_pipeline_contract(stand_in: StandInPipeline) -> None:
    synth = Synthesizer(_engine(stand_in, speaker="zhiyan_emo"))
    r = synth.synthesize("欢迎使用语音合成服务。", SynthesisParams(emotion="happy"))
    assert r.sample_rate == 16000
    assert_speech(r.audio, 16000, text_chars=10)
    call = stand_in.calls[-1]
    assert call["voice"] == "zhiyan_emo"
    assert call["input"].startswith('<emotion category="happy" intensity="1.00">')
    stamps = [t.start for t in r.timestamps]
    assert stamps == sorted(stamps) and len(stamps) == 10


def test_native_emotion_is_not_also_applied_by_signal_processing(
    stand_in: StandInPipeline,
) -> None:
    synth = Synthesizer(_engine(stand_in))
    neutral = synth.synthesize("今天天气很好。").audio
    happy = synth.synthesize("今天天气很好。", SynthesisParams(emotion="happy")).audio
    # the stand-in ignores the tag, so with no DSP on top the audio must be identical
    assert neutral.size == happy.size and (neutral == happy).all()


def test_wrong_sample_rate_is_an_engine_error(voice: Synthesizer) -> None:
    engine = _engine(StandInPipeline(voice, rate=22050))
    with pytest.raises(EngineError, match="22050"):
        Synthesizer(engine).synthesize("你好。")


def test_unknown_speaker(stand_in: StandInPipeline) -> None:
    with pytest.raises(VoiceAssetError, match="speaker"):
        _engine(stand_in, speaker="nobody")


def test_missing_model_folder_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(VoiceAssetError, match="no-such-model"):
        load_engine(VoiceConfig("zhitian", "sambert", missing))


def test_voices_file_adds_a_sambert_voice(tmp_path: Path, stand_in: StandInPipeline) -> None:
    f = tmp_path / "voices.yaml"
    f.write_text(
        "voices:\n  - id: zhibei\n    engine: sambert\n    path: /models/x\n"
        "    speaker: zhibei_emo\n    gender: male\n",
        encoding="utf-8",
    )
    (config,) = voices_from_file(f)
    assert config.id == "zhibei" and config.path == Path("/models/x")
    assert config.options == {"speaker": "zhibei_emo", "gender": "male"}
    catalog = VoiceCatalog(
        [
            VoiceConfig(
                config.id,
                config.engine,
                None,
                {**config.options, "pipeline_factory": lambda _p: stand_in},
            )
        ]
    )
    assert catalog.get("zhibei").info.gender == "male"
