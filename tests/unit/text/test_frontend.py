"""The contract the engines and the synthesizer rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanvoice.engines.fastspeech2.symbols import SymbolTable
from hanvoice.errors import HanvoiceError, TextTooLong
from hanvoice.text import Break, Frontend, FrontendConfig, Style


def test_tokens_match_normalized_and_sources(frontend: Frontend) -> None:
    text = "2026年，银行行长说WiFi很好。"
    utt = frontend.analyze(text)
    assert "".join(t.char for t in utt.tokens) == utt.normalized
    assert utt.normalized.startswith("二零二六年")
    assert all(t.source == (0, 4) for t in utt.tokens[:4])  # 二零二六 <- "2026"
    for t in utt.tokens:
        assert 0 <= t.source[0] < t.source[1] <= len(text)


def test_commas_stay_inside_a_sentence_segment(frontend: Frontend) -> None:
    utt = frontend.analyze("今天天气很好，我们去公园散步吧。明天见！")
    assert [s.text for s in utt.segments] == ["今天天气很好，我们去公园散步吧。", "明天见！"]
    first = utt.segments[0].tokens
    assert first[5].char == "好" and first[5].boundary == Break.CLAUSE
    assert first[-2].boundary == Break.SENTENCE
    assert all(s.pause_after == pytest.approx(0.25) for s in utt.segments)
    assert utt.sentences == ("今天天气很好，我们去公园散步吧。", "明天见！")


def test_word_boundaries(frontend: Frontend) -> None:
    utt = frontend.analyze("我们去公园了")
    assert [int(t.boundary) for t in utt.tokens] == [0, 1, 1, 0, 0, 4]  # 了 leans on 公园


def test_paragraph_pause_is_longer(frontend: Frontend) -> None:
    utt = frontend.analyze("第一段。\n第二段。")
    assert utt.segments[0].pause_after == pytest.approx(0.5)
    assert utt.segments[-1].pause_after == pytest.approx(0.25)


@pytest.mark.parametrize("limit", [10, 25, 60])
def test_long_sentences_are_cut_under_the_limit(limit: int) -> None:
    fe = Frontend(FrontendConfig(max_syllables=limit))
    text = "我们今天一起去公园散步，然后去超市买东西，晚上回家做饭" * 5 + "。" + "啊" * 130
    utt = fe.analyze(text)
    assert all(s.syllables <= limit for s in utt.segments)
    said = "".join(s.text for s in utt.segments)
    assert said.replace(" ", "") == utt.normalized.replace(" ", "")


def test_cut_prefers_clause_breaks() -> None:
    fe = Frontend(FrontendConfig(max_syllables=12))
    utt = fe.analyze("我们今天一起去公园散步，然后去超市买东西。")
    assert utt.segments[0].text == "我们今天一起去公园散步，"


def test_too_long(frontend: Frontend) -> None:
    with pytest.raises(TextTooLong):
        Frontend(FrontendConfig(max_chars=10)).analyze("一" * 11)


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "。。。", "😀😀", "\x00\x01"])
def test_nothing_speakable_is_not_an_error(frontend: Frontend, text: str) -> None:
    utt = frontend.analyze(text)
    assert not utt.speakable


@pytest.mark.parametrize(
    "text",
    [
        "呣",
        "噷",
        "嗯",
        "哼",
        "#",
        "𠀀𪚥",
        "Привет мир",
        "こんにちは",
        "e\u0301",
        "\U0010ffff",
        "A" * 200,
    ],
)
def test_odd_input_reads_or_warns(frontend: Frontend, table: SymbolTable, text: str) -> None:
    utt = frontend.analyze(text)
    for seg in utt.segments:
        assert table.encode(seg.tokens).skipped == []
    if not utt.speakable:
        assert utt.warnings or not text.strip("#")


def test_emoji_are_reported(frontend: Frontend) -> None:
    utt = frontend.analyze("你好😀")
    assert utt.normalized == "你好"
    assert any("😀" in w for w in utt.warnings)


def test_style_is_carried(frontend: Frontend) -> None:
    utt = frontend.analyze("你好。", style=Style(emotion="happy"))
    assert utt.segments[0].style.emotion == "happy"


def test_user_lexicon_overrides(tmp_path: Path) -> None:
    lex = tmp_path / "lexicon.tsv"
    lex.write_text("# ours\n重庆\tzhong4 qing4\n哈哈哈\tha1 ha1 ha1\n", encoding="utf-8")
    utt = Frontend(FrontendConfig(user_lexicon=lex)).analyze("重庆")
    assert [t.pinyin for t in utt.tokens] == ["zhong4", "qing4"]
    assert [t.pinyin for t in Frontend().analyze("重庆").tokens] == ["chong2", "qing4"]


@pytest.mark.parametrize(
    "content", ["重庆\n", "重庆\tchong2\n", "重庆\tchong2 qingg\n"], ids=["none", "short", "bad"]
)
def test_bad_user_lexicon_is_a_clear_error(tmp_path: Path, content: str) -> None:
    lex = tmp_path / "lexicon.tsv"
    lex.write_text(content, encoding="utf-8")
    with pytest.raises(HanvoiceError, match="lexicon"):
        Frontend(FrontendConfig(user_lexicon=lex))


def test_missing_user_lexicon(tmp_path: Path) -> None:
    with pytest.raises(HanvoiceError, match="cannot read user lexicon"):
        Frontend(FrontendConfig(user_lexicon=tmp_path / "nope.tsv"))


def test_a_chapter(frontend: Frontend) -> None:
    text = ("第1章 开始。他在2026年11月24日上午10:30到达，花了¥128.50。" * 400)[:20000]
    utt = frontend.analyze(text)
    assert len(utt.segments) >= 400
    assert all(s.syllables <= 60 for s in utt.segments)


@pytest.mark.timeout(120)  # a hang guard, not a speed target (bench/frontend_speed.py)
@pytest.mark.parametrize("unit", ["1.", "1-", "1/", "a@", "1:", "-1", "+8", "第1", "a."])
def test_pathological_repetitions_finish(frontend: Frontend, unit: str) -> None:
    utt = frontend.analyze(unit * 10000)
    assert all(s.syllables <= 60 for s in utt.segments)
