from __future__ import annotations

import pytest

from hanvoice.emotion import EmotionPresets
from hanvoice.engines.base import Controls
from hanvoice.errors import InvalidParameter, UnknownEmotion


@pytest.fixture(scope="module")
def presets() -> EmotionPresets:
    return EmotionPresets.load()


def test_every_required_emotion_exists(presets: EmotionPresets) -> None:
    assert {"neutral", "happy", "sad", "angry", "fear", "surprise", "disgust"} <= set(presets.names)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("happy", "happy"),
        ("HAPPY", "happy"),
        (" sad ", "sad"),
        ("hate", "disgust"),
        ("surprised", "surprise"),
    ],
)
def test_resolve(presets: EmotionPresets, given: str, canonical: str) -> None:
    assert presets.resolve(given) == canonical


@pytest.mark.parametrize("bad", ["joy", "", "neutral2"])
def test_unknown_emotion(presets: EmotionPresets, bad: str) -> None:
    with pytest.raises(UnknownEmotion):
        presets.resolve(bad)


def test_intensity_zero_is_neutral(presets: EmotionPresets) -> None:
    for name in presets.names:
        c = presets.controls(name, 0.0)
        n = presets.controls("neutral")
        assert (c.tempo, c.pitch, c.pitch_range, c.volume_db, c.pause_scale) == (
            n.tempo, n.pitch, n.pitch_range, n.volume_db, n.pause_scale,
        )  # fmt: skip


def test_intensity_scales_each_kind_of_field(presets: EmotionPresets) -> None:
    one, two = presets.controls("happy", 1.0), presets.controls("happy", 2.0)
    assert two.pitch == pytest.approx(2 * one.pitch)
    assert two.volume_db == pytest.approx(2 * one.volume_db)
    assert two.tempo == pytest.approx(one.tempo**2)


def test_caller_adjustments_stack_on_the_preset(presets: EmotionPresets) -> None:
    c = presets.controls("sad", 1.0, speed=1.5, pitch=2.0, volume=-3.0)
    s = presets.controls("sad", 1.0)
    assert c.tempo == pytest.approx(s.tempo * 1.5)
    assert c.pitch == pytest.approx(s.pitch + 2.0)
    assert c.volume_db == pytest.approx(s.volume_db - 3.0)
    assert c.emotion == "sad"


@pytest.mark.parametrize("intensity", [-0.1, 2.5])
def test_intensity_out_of_range(presets: EmotionPresets, intensity: float) -> None:
    with pytest.raises(InvalidParameter):
        presets.controls("happy", intensity)


def test_neutral_is_identity(presets: EmotionPresets) -> None:
    c = presets.controls("neutral")
    assert (c.tempo, c.pitch, c.pitch_range, c.volume_db, c.pause_scale) == (1, 0, 1, 0, 1)
    assert isinstance(c, Controls)


@pytest.mark.parametrize(
    ("field", "kind"),
    [("declination", "add"), ("final_rise", "add"), ("question_rise", "add"), ("accent", "mul")],
)
def test_contour_fields_scale_with_intensity(
    presets: EmotionPresets, field: str, kind: str
) -> None:
    for name in presets.names:
        one = getattr(presets.controls(name, 1.0), field)
        two = getattr(presets.controls(name, 2.0), field)
        assert two == pytest.approx(2 * one if kind == "add" else one**2), name


def test_contour_presets_say_what_the_yaml_says(presets: EmotionPresets) -> None:
    assert presets.controls("sad").declination < 0
    assert presets.controls("surprise").final_rise > 0
    assert presets.controls("angry").accent > 1
    n = presets.controls("neutral")
    assert (n.accent, n.declination, n.final_rise, n.question_rise) == (1, 0, 0, 0)
