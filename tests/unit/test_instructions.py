"""Style instructions -> controls: the phrasings table, negation, degree, the bounds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanvoice.emotion import EmotionPresets
from hanvoice.instructions import MAX_CHARS, CueTable, Reading, default_table, read
from hanvoice.synth import SynthesisParams

CASES = Path(__file__).resolve().parents[1] / "cases" / "instructions.tsv"


def _cases() -> list[tuple[str, str]]:
    rows = []
    for line in CASES.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            text, summary = line.split("\t")
            rows.append((text, summary))
    return rows


def test_the_table_has_enough_phrasings() -> None:
    rows = _cases()
    chinese = [t for t, _ in rows if any("\u4e00" <= c <= "\u9fff" for c in t)]
    negators = ("不要", "别", "Don", "don", "Not", "no ", "less")
    negated = [t for t, s in rows if "not=" in s or t.startswith(negators)]
    assert len(rows) >= 30 and len(chinese) >= 15 and len(rows) - len(chinese) >= 15
    assert len(negated) >= 6


@pytest.mark.parametrize(("text", "summary"), _cases(), ids=lambda v: v[:24])
def test_phrasings(text: str, summary: str) -> None:
    assert read(text).summary() == summary


@pytest.mark.parametrize(
    ("text", "field", "direction"),
    [
        ("慢一点", "speed", -1),
        ("不要太快", "speed", -1),
        ("不要太慢", "speed", +1),
        ("speak faster", "speed", +1),
        ("don't rush", "speed", -1),
        ("大声", "volume", +1),
        ("别那么大声", "volume", -1),
        ("not too quiet", "volume", +1),
        ("低沉", "pitch", -1),
        ("higher", "pitch", +1),
    ],
)
def test_negation_turns_an_effect_around(text: str, field: str, direction: int) -> None:
    value = getattr(read(text), field)
    neutral = 1.0 if field == "speed" else 0.0
    assert (value - neutral) * direction > 0, (text, value)


def test_degree_words_scale_the_effect() -> None:
    assert read("非常慢").speed < read("慢").speed < read("慢一点").speed < 1
    assert read("very loud").volume > read("loud").volume > read("a bit loud").volume > 0


def test_longest_cue_wins_and_english_words_are_whole() -> None:
    assert read("快乐").summary() == "emotion=happy"  # not 快 (fast)
    assert read("不开心").emotion == "sad"  # not 不 + 开心
    assert read("follow the script").understood is False  # no "low" inside a word
    assert read("a saddle").understood is False  # sad, sadly, sadness: listed, not a stem
    assert read("sadly").emotion == "sad"


def test_what_is_read_is_reported() -> None:
    r = read("请用悲伤的语气，不要太快")
    assert r.cues == ("悲伤", "不要", "快") and r.understood
    nothing = read("像海盗一样说话")
    assert not nothing.understood and nothing.summary() == "not understood; nothing changed"
    assert nothing == Reading()


def test_apply_combines_and_stays_in_range() -> None:
    base = SynthesisParams("neutral", 1.0, 1.5, 5.0, 10.0)
    r = read("extremely furious, extremely fast, very high-pitched, shout")
    out = r.apply(base, keep_emotion=False, emotions={"neutral", "angry"})
    assert out == SynthesisParams("angry", 2.0, 2.0, 6.0, 12.0)
    assert out.validated(EmotionPresets.load()) == out


def test_apply_keeps_a_named_emotion_and_skips_a_missing_one() -> None:
    r = read("开心一点，慢慢说")
    base = SynthesisParams("sad")
    assert r.apply(base, keep_emotion=True, emotions={"sad", "happy"}).emotion == "sad"
    assert r.apply(base, keep_emotion=False, emotions={"sad", "happy"}).emotion == "happy"
    assert r.apply(base, keep_emotion=False, emotions={"neutral", "sad"}).emotion == "sad"
    assert r.apply(base, keep_emotion=False, emotions={"neutral"}).speed == 0.85


def test_unread_instruction_changes_nothing() -> None:
    base = SynthesisParams("happy", 1.2, 1.1, 1.0, -2.0)
    assert read("hello").apply(base, keep_emotion=False, emotions={"happy"}) == base


def test_every_effect_in_the_table_names_a_known_emotion() -> None:
    names = set(EmotionPresets.load().names)
    table = default_table()
    used = {c.effect.emotion for c in table.cues.values() if c.effect.emotion}
    assert used <= names


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("快\tspeed=1.2", "cannot read effect"),
        ("快\tvolume=loud", "cannot read effect"),
        ("快\tvolume=+loud", "could not convert"),
        ("快\tdegree=inf", "not a number"),
        ("快\tspeed=x1.2\n快\tspeed=x1.3", "repeated cue"),
        ("快 speed=x1.2", "not enough values"),
    ],
)
def test_a_bad_table_row_names_its_line(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("# a table\n" + row + "\n", "utf-8")
    with pytest.raises(ValueError, match=f"line [23]: .*{message}"):
        CueTable.load(path)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_reads_to_controls_in_range(text: str) -> None:
    r = read(text)
    out = r.apply(SynthesisParams(), keep_emotion=False, emotions=EmotionPresets.load().names)
    assert out.validated(EmotionPresets.load()) == out


def test_time_is_linear_in_the_text() -> None:
    """The longest instruction accepted, made of near-cues, reads in a few milliseconds."""
    worst = ("不要非常慢一点 slowl not fas" * 200)[:MAX_CHARS]
    start = time.perf_counter()
    read(worst)
    assert time.perf_counter() - start < 0.5
