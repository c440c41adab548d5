"""The fast paths keep the engine's behaviour: parts, cores, both vocoders, streaming."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from hanvoice.audio.effects import PEAK_CEILING
from hanvoice.engines.base import Controls, PartialEngine, VoiceConfig
from hanvoice.engines.fastspeech2 import onnx_vocoder
from hanvoice.engines.fastspeech2.engine import SAMPLE_RATE, FastSpeech2Engine, clean_pauses
from hanvoice.scheduler import Scheduler
from hanvoice.synth import SynthesisParams, Synthesizer
from support.audio import assert_speech

SENTENCES = [
    "前方五百米右转，进入人民大道，然后继续直行三公里。",
    "今天天气很好，我们去公园散步吧。",
    "银行行长昨天参加了一个重要的会议。",
    "好。",
]
PARAGRAPH = "".join(SENTENCES) * 2
"""Its first segment sounds longer than one window, so streams get a short first part."""


@pytest.fixture(scope="module")
def tflite_voice(voice: Synthesizer) -> Iterator[Synthesizer]:
    engine = FastSpeech2Engine(
        VoiceConfig("baker-tflite", "fastspeech2", None, {"vocoder": "tflite"})
    )
    yield Synthesizer(engine, voice.frontend, voice.presets)
    engine.close()


@pytest.fixture(scope="module")
def one_core_voice(voice: Synthesizer) -> Iterator[Synthesizer]:
    """The same engine on a scheduler with one core."""
    scheduler = Scheduler(1)
    yield Synthesizer(voice.engine, voice.frontend, voice.presets, scheduler=scheduler)
    scheduler.close()


def _engine(voice: Synthesizer) -> FastSpeech2Engine:
    assert isinstance(voice.engine, FastSpeech2Engine)
    return voice.engine


def test_engine_offers_parts(voice: Synthesizer) -> None:
    assert isinstance(voice.engine, PartialEngine)
    assert _engine(voice).files.vocoder_onnx is not None


@pytest.mark.parametrize(
    ("lead", "alone"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_parts_join_into_the_segment(voice: Synthesizer, lead: bool, alone: bool) -> None:
    engine = _engine(voice)
    seg = voice.analyze(SENTENCES[0]).segments[0]
    whole = engine.render(seg, Controls())
    parts = list(engine.render_parts(seg, Controls(), lead=lead, alone=alone))
    assert [p.final for p in parts] == [False] * (len(parts) - 1) + [True]
    assert len(parts) >= (2 if lead else 1)
    audio = np.concatenate([p.audio for p in parts])
    c = onnx_vocoder.compare(whole.audio, audio)
    assert c.max_abs <= onnx_vocoder.MAX_ABS and c.snr_db >= 60, c
    # every token's time is in exactly one part, and lands where render() puts it
    offset, seen = 0.0, [None] * len(seg.tokens)
    for p in parts:
        for i, t in enumerate(p.times):
            if t is not None:
                assert seen[i] is None
                seen[i] = (t[0] + offset, t[1] + offset)  # type: ignore[call-overload]
        offset += p.audio.size / SAMPLE_RATE
    for got, want in zip(seen, whole.times, strict=True):
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert got == pytest.approx(want, abs=1e-9)


def test_render_is_the_whole_mel_vocoded_then_cleaned(voice: Synthesizer) -> None:
    """The reference path: one decoder call, one vocoder call, the pause cleaning."""
    engine = _engine(voice)
    seg = voice.analyze(SENTENCES[0]).segments[0]
    with engine._session() as s:
        (piece,) = engine._pieces(s, seg, engine.table.encode(seg.tokens), 0, Controls())
    ref = clean_pauses(engine._vocode(piece.mel), piece.frames, piece.pauses)
    c = onnx_vocoder.compare(ref, engine.render(seg, Controls()).audio)
    assert c.max_abs <= onnx_vocoder.MAX_ABS and c.snr_db >= 60, c


def test_threads_share_the_engine(voice: Synthesizer) -> None:
    engine = _engine(voice)
    segs = [voice.analyze(s).segments[0] for s in SENTENCES] * 3
    alone = [engine.render(s, Controls()).audio for s in segs]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda s: engine.render(s, Controls()).audio, segs))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))


def test_abandoned_parts_are_dropped(voice: Synthesizer) -> None:
    engine = _engine(voice)
    seg = voice.analyze(SENTENCES[0]).segments[0]
    parts = engine.render_parts(seg, Controls(), lead=True)
    next(parts)
    parts.close()
    assert list(parts) == []
    assert_speech(engine.render(seg, Controls()).audio, SAMPLE_RATE)  # still fine


def test_tflite_vocoder_is_still_there_and_agrees(
    voice: Synthesizer, tflite_voice: Synthesizer
) -> None:
    seg = voice.analyze(SENTENCES[2]).segments[0]
    a = voice.engine.render(seg, Controls()).audio
    b = tflite_voice.engine.render(seg, Controls()).audio
    c = onnx_vocoder.compare(b, a)
    assert c.ok, c


@pytest.mark.parametrize(
    "params",
    [SynthesisParams(), SynthesisParams(volume=12.0), SynthesisParams(emotion="sad")],
    ids=["neutral", "loud", "sad"],
)
def test_early_stream_is_the_same_audio(voice: Synthesizer, params: SynthesisParams) -> None:
    whole = voice.synthesize(PARAGRAPH, params)
    early = list(voice.stream(PARAGRAPH, params, early=True))
    audio = np.concatenate([c.audio for c in early])
    assert np.array_equal(audio, whole.audio)  # stream or not: the same bytes
    assert tuple(t for c in early for t in c.timestamps) == whole.timestamps
    assert "".join(c.text for c in early) == "".join(s.text for s in whole.utterance.segments)
    assert float(np.max(np.abs(audio))) <= PEAK_CEILING + 1e-6  # float32(0.97)
    if params.emotion == "neutral":  # sample-by-sample DSP: the first part leaves early
        first_segment = next(voice.stream(PARAGRAPH, params))
        assert early[0].duration < first_segment.duration / 2
    assert_speech(whole.audio, whole.sample_rate)


def test_same_paragraph_same_bytes(voice: Synthesizer) -> None:
    a = voice.synthesize(PARAGRAPH).audio
    b = voice.synthesize(PARAGRAPH).audio
    assert np.array_equal(a, b)


def test_one_core_gives_the_same_bytes_and_a_closed_stream_stops(
    voice: Synthesizer, one_core_voice: Synthesizer
) -> None:
    """Pieces never depend on the cores that run them: one core, same plan, same bytes."""
    a = np.concatenate([c.audio for c in one_core_voice.stream(PARAGRAPH, early=True)])
    assert np.array_equal(a, voice.synthesize(PARAGRAPH).audio)
    chunks = one_core_voice.stream(PARAGRAPH, early=True)
    first = next(chunks)
    chunks.close()  # the rest is dropped from the scheduler
    assert first.duration < 1.0
    assert one_core_voice.scheduler.queued == 0 and one_core_voice.scheduler.active == 0
