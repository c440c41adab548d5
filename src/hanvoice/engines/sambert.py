"""ModelScope Sambert-HifiGan, the model family of the original design (optional extra).

Voices ``zhitian_emo``, ``zhiyan_emo``, ``zhizhe_emo``, ``zhibei_emo`` voice emotions
themselves, so this engine lists ``"emotion"`` as a native control and receives the emotion
name; the text is wrapped in Sambert's tag ``<emotion category="happy" intensity="1.0">``.

The model cannot be downloaded on machines without access to ModelScope: point
``path`` at a local copy of the model folder (``voices.yaml``: ``engine: sambert``,
``path: /models/speech_sambert-hifigan_tts_zh-cn_16k``). ModelScope and its ``kantts`` /
``ttsfrd`` come from ModelScope's own package index; the PyPI packages of those names are
empty placeholders and must never be installed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from hanvoice.engines.base import Controls, Rendered, VoiceConfig, VoiceInfo
from hanvoice.errors import EngineError, VoiceAssetError
from hanvoice.text.types import Segment

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
SPEAKERS = ("zhitian_emo", "zhiyan_emo", "zhizhe_emo", "zhibei_emo")
EMOTIONS = ("neutral", "happy", "sad", "angry", "fear", "surprise", "disgust")
_SAMBERT_NAMES = {"disgust": "hate", "surprise": "surprise"}
OUTPUT_WAV = "output_wav"  # modelscope.outputs.OutputKeys.OUTPUT_WAV


def _modelscope_pipeline(model_dir: str) -> Callable[..., dict[str, Any]]:
    try:
        from modelscope.pipelines import pipeline
        from modelscope.utils.constant import Tasks
    except ImportError as exc:
        raise VoiceAssetError(
            "the sambert engine needs ModelScope: pip install 'hanvoice[sambert]' "
            "with ModelScope's own index (see README)"
        ) from exc
    tts: Callable[..., dict[str, Any]] = pipeline(task=Tasks.text_to_speech, model=model_dir)
    return tts


def emotion_markup(text: str, emotion: str, intensity: float) -> str:
    """Sambert's emotion tag around ``text``; neutral text goes bare."""
    if emotion == "neutral" or intensity == 0:
        return text
    name = _SAMBERT_NAMES.get(emotion, emotion)
    return f'<emotion category="{name}" intensity="{intensity:.2f}">{text}</emotion>'


class SambertEngine:
    native_controls = frozenset({"emotion"})

    def __init__(self, config: VoiceConfig) -> None:
        speaker = str(config.options.get("speaker", "zhitian_emo"))
        if speaker not in SPEAKERS:
            raise VoiceAssetError(f"unknown Sambert speaker {speaker!r}; one of {SPEAKERS}")
        factory = config.options.get("pipeline_factory")
        if factory is None:
            if config.path is None or not config.path.is_dir():
                raise VoiceAssetError(
                    f"voice {config.id!r}: the sambert engine needs `path` to a local model "
                    f"folder; {config.path} is not a directory"
                )
            factory = _modelscope_pipeline
        self._pipeline = factory(str(config.path))
        self.speaker = speaker
        self.info = VoiceInfo(
            id=config.id,
            name=str(config.options.get("name", speaker)),
            engine="sambert",
            sample_rate=SAMPLE_RATE,
            gender=str(config.options.get("gender", "female")),
            model_id=f"modelscope/sambert-hifigan/{speaker}",
            model_sha256=str(config.options.get("sha256", "unknown")),
            emotions=EMOTIONS,
            speed_class="medium",
            description="ModelScope Sambert-HifiGan (local model folder)",
        )

    def render(self, segment: Segment, controls: Controls) -> Rendered:
        text = "".join(t.char for t in segment.tokens if t.spoken or t.char in "，。！？、")
        if not text.strip():
            return Rendered(np.zeros(0, np.float32), (None,) * len(segment.tokens))
        markup = emotion_markup(text, controls.emotion, controls.intensity)
        try:
            out = self._pipeline(input=markup, voice=self.speaker)
            wav = out[OUTPUT_WAV]
        except Exception as exc:
            raise EngineError(f"Sambert inference failed: {exc}") from exc
        audio = decode_wav(wav)
        return Rendered(audio, spread_times(segment, audio.size / SAMPLE_RATE))

    def close(self) -> None:
        self._pipeline = lambda **_: {}


def decode_wav(wav: bytes) -> np.ndarray[Any, np.dtype[np.float32]]:
    import soundfile as sf

    audio, sr = sf.read(io.BytesIO(wav), dtype="float32", always_2d=False)
    if sr != SAMPLE_RATE:
        raise EngineError(f"Sambert returned {sr} Hz audio, expected {SAMPLE_RATE}")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    return np.ascontiguousarray(audio, np.float32)


def spread_times(segment: Segment, seconds: float) -> tuple[tuple[float, float] | None, ...]:
    """Sambert gives no durations: share the time evenly over the spoken characters."""
    spoken = [i for i, t in enumerate(segment.tokens) if t.spoken]
    times: list[tuple[float, float] | None] = [None] * len(segment.tokens)
    if spoken:
        step = seconds / len(spoken)
        for k, i in enumerate(spoken):
            times[i] = (k * step, (k + 1) * step)
    return tuple(times)


__all__ = ["SambertEngine", "VoiceInfo"]
