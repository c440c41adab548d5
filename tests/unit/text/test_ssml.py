"""The SSML subset, and errors that say where."""

from __future__ import annotations

import pytest

from hanvoice.errors import SSMLError
from hanvoice.text import Frontend, Style, ssml


def test_break_emotion_prosody_phoneme_sub_say_as(frontend: Frontend) -> None:
    ssml = (
        '<speak>银行<break time="500ms"/>'
        '<emotion category="happy" intensity="1.2">今天<phoneme alphabet="pinyin" ph="xing2">'
        '行</phoneme>不行</emotion><say-as interpret-as="telephone">110</say-as>'
        '<sub alias="世界卫生组织">WHO</sub>&amp;<prosody rate="fast" pitch="+2st" volume="-3dB">'
        "快</prosody></speak>"
    )
    utt = frontend.analyze(ssml, ssml=True)
    assert utt.normalized == "银行今天行不行幺幺零世界卫生组织和快"
    segs = utt.segments
    assert segs[0].text == "银行"
    assert segs[1].tokens == () and segs[1].pause_after == pytest.approx(0.5)
    assert segs[2].style == Style(emotion="happy", intensity=1.2)
    assert segs[2].tokens[2].pinyin == "xing2"
    assert segs[-1].style == Style(rate=1.25, pitch=2.0, volume=-3.0)
    sub = next(t for t in utt.tokens if t.char == "世")
    assert ssml[sub.source[0] : sub.source[1]].startswith("<sub")


@pytest.mark.parametrize(
    ("kind", "text", "normalized"),
    [
        ("digits", "2026", "二零二六"),
        ("cardinal", "2026", "两千零二十六"),
        ("telephone", "+86 110", "加八六幺幺零"),
        ("characters", "AB12", "AB一二"),
        ("date", "2026-11-24", "二零二六年十一月二十四日"),
        ("time", "10:30", "十点三十分"),
        ("ordinal", "3", "第三"),
    ],
)
def test_say_as(frontend: Frontend, kind: str, text: str, normalized: str) -> None:
    utt = frontend.analyze(
        f'<speak><say-as interpret-as="{kind}">{text}</say-as></speak>', ssml=True
    )
    assert utt.normalized == normalized


def test_emotion_changes_mid_text(frontend: Frontend) -> None:
    utt = frontend.analyze(
        '<speak><emotion category="sad">我很难过，</emotion><emotion category="happy">'
        "但是明天会更好。</emotion></speak>",
        ssml=True,
    )
    assert [s.style.emotion for s in utt.segments] == ["sad", "happy"]


def test_fragment_without_speak(frontend: Frontend) -> None:
    utt = frontend.analyze('<emotion category="angry">走开！</emotion>', ssml=True)
    assert utt.segments[0].style.emotion == "angry"


def test_break_strength_and_prosody_words(frontend: Frontend) -> None:
    utt = frontend.analyze(
        '<speak>好<break strength="strong"/><prosody rate="80%" pitch="low">的</prosody></speak>',
        ssml=True,
    )
    assert utt.segments[1].pause_after == pytest.approx(0.7)
    assert utt.segments[2].style.rate == pytest.approx(0.8)
    assert utt.segments[2].style.pitch == pytest.approx(-2.0)


def test_clamped_prosody_warns(frontend: Frontend) -> None:
    utt = frontend.analyze('<speak><prosody rate="5">快</prosody></speak>', ssml=True)
    assert utt.segments[0].style.rate == 2.0
    assert any("clamped" in w for w in utt.warnings)


@pytest.mark.parametrize(
    ("ssml", "where"),
    [
        ("<speak>你好", "line 1, column 1"),
        ("<speak>\n  <b>x</b></speak>", "line 2, column 3"),
        ("<speak><prosody>x</emotion></speak>", "line 1, column 18"),
        ('<speak><break time="abc"/></speak>', "line 1, column 8"),
        ('<speak><break time="20s"/></speak>', "line 1, column 8"),
        ('<speak><break strength="huge"/></speak>', "column 8"),
        ("<speak>a & b</speak>", "column 10"),
        ('<speak><emotion intensity="1">x</emotion></speak>', "column 8"),
        ('<speak><emotion category="happy" intensity="9">x</emotion></speak>', "column 8"),
        ('<speak><say-as interpret-as="poem">x</say-as></speak>', "column 8"),
        ('<speak><phoneme alphabet="ipa" ph="x">行</phoneme></speak>', "column 8"),
        ('<speak><prosody rate="quick">x</prosody></speak>', "column 8"),
        ("<speak><sub>x</sub></speak>", "column 8"),
        ("<speak>x</speak><speak>y</speak>", "column 17"),
        ("<speak>x</speak>tail", "column 17"),
        ("<speak><!DOCTYPE x></speak>", "column 8"),
        ("<speak><break></speak>", "column 8"),
        ("<speak><x y=1></x></speak>", "column 8"),
        ("<speak>&#xZZ;</speak>", "column 8"),
        ("<speak><!-- never closed</speak>", "column 8"),
    ],
)
def test_errors_say_where(frontend: Frontend, ssml: str, where: str) -> None:
    with pytest.raises(SSMLError, match=where):
        frontend.analyze(ssml, ssml=True)


@pytest.mark.parametrize(
    "ssml",
    [
        '<speak><phoneme ph="hang2 zhang3">行</phoneme></speak>',
        '<speak><phoneme ph="xyz9">行</phoneme></speak>',
    ],
)
def test_phoneme_mismatch(frontend: Frontend, ssml: str) -> None:
    with pytest.raises(SSMLError, match="phoneme"):
        frontend.analyze(ssml, ssml=True)


def test_entities_and_cdata(frontend: Frontend) -> None:
    utt = frontend.analyze("<speak>A&lt;B &#x4F60;<![CDATA[好&]]></speak>", ssml=True)
    assert utt.normalized == "A小于B 你好和"


def test_breaks_in_a_row_are_capped(frontend: Frontend) -> None:
    utt = frontend.analyze("<speak>a" + '<break time="5s"/>' * 100 + "b</speak>", ssml=True)
    assert sum(s.pause_after for s in utt.segments if not s.tokens) == pytest.approx(10.0)


OUTLINES = [
    ("你好", (2, 0.0, 1.0)),
    ('好<break time="10s"/>' * 3, (3, 30.0, 1.0)),
    ('<speak>a1<break strength="strong"/><break/><break time="500ms"/></speak>', (2, 1.6, 1.0)),
    (
        '<speak><prosody rate="x-slow">慢</prosody><prosody rate="20%">快</prosody></speak>',
        (2, 0.0, 0.5),
    ),
    (
        '<speak><break time="99s"/><break time="x"/><prosody rate="zz">好</prosody></speak>',
        (1, 0.0, 1.0),
    ),
    ("<speak>unclosed <break", (8, 0.0, 1.0)),
]


@pytest.mark.parametrize(("text", "expected"), OUTLINES)
def test_outline(text: str, expected: tuple[int, float, float]) -> None:
    """What admission reads of a document before parsing it (bad values count nothing:
    the parser refuses them)."""
    o = ssml.outline(text)
    assert (o.chars, round(o.pauses, 3), o.slowest) == expected
