"""The content filter hears what the voice will say (``tests/cases/filter.tsv``): every
disguise the front end resolves is caught; the word itself is never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanvoice.errors import ContentRejected, InvalidParameter
from hanvoice.text import Frontend
from hanvoice.text.filter import (
    ContentFilter,
    WordList,
    fold,
    load_word_list,
    merge_word_lists,
    parse_word_list,
)

WORDS = {
    "violence": ["炸弹", "kill"],
    "spam": ["发票代开"],
    "politics": ["法轮功"],
    "brand": ["脸书"],
    "gambling": ["六合彩"],
}
CASES = Path(__file__).parents[2] / "cases" / "filter.tsv"
ROWS = [
    line.split("\t")
    for line in CASES.read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


@pytest.fixture(scope="module")
def frontend() -> Frontend:
    return Frontend()


@pytest.fixture(scope="module")
def words(frontend: Frontend) -> ContentFilter:
    return ContentFilter(WORDS, frontend=frontend)


@pytest.mark.parametrize(("text", "ssml", "category", "form"), ROWS, ids=[r[3] for r in ROWS])
def test_what_is_said_is_caught(
    words: ContentFilter, frontend: Frontend, text: str, ssml: str, category: str, form: str
) -> None:
    utt = frontend.analyze(text, ssml=ssml == "y")
    found = {m.category for m in words.find(utt)}
    assert found == (set() if category == "-" else {category})


def test_reject_names_the_category_not_the_word(words: ContentFilter, frontend: Frontend) -> None:
    with pytest.raises(ContentRejected) as info:
        words.apply(frontend.analyze("我有一个炸 弹和发票代开"))
    assert info.value.categories == ("spam", "violence")
    assert "炸" not in info.value.message and "发票" not in info.value.message
    assert info.value.code == "content_rejected" and info.value.client_error


@pytest.mark.parametrize(
    ("text", "silent"),
    [
        ("我有一个炸弹。", "炸弹"),
        ("我有一个诈弹。", "诈弹"),
        ("炸弹炸弹", "炸弹炸弹"),
        ("干净的句子", ""),
    ],
)
def test_mask_silences_exactly_the_match(frontend: Frontend, text: str, silent: str) -> None:
    f = ContentFilter(WORDS, policy="mask", frontend=frontend)
    utt = frontend.analyze(text)
    out = f.apply(utt)
    muted = "".join(
        t.char for t, before in zip(out.utterance.tokens, utt.tokens, strict=True)
        if before.pinyin and not t.pinyin
    )  # fmt: skip
    assert muted == silent
    assert bool(out.categories) == bool(silent)
    seg_tokens = tuple(t for s in out.utterance.segments for t in s.tokens)
    assert seg_tokens == out.utterance.tokens  # the segments speak the same tokens


def test_sound_can_be_off_per_category(frontend: Frontend) -> None:
    f = ContentFilter(WORDS, sound={"violence": False}, frontend=frontend)
    assert not f.find(frontend.analyze("我有一个诈弹"))
    assert f.find(frontend.analyze("我有一个炸弹"))


def test_the_version_follows_the_list_and_policy(frontend: Frontend) -> None:
    a = ContentFilter(WORDS, frontend=frontend).version
    assert a == ContentFilter(WORDS, frontend=frontend).version
    assert a != ContentFilter({**WORDS, "x": ["毒品"]}, frontend=frontend).version
    assert a != ContentFilter(WORDS, policy="mask", frontend=frontend).version
    assert ContentFilter({}, frontend=frontend).version == ""


def test_fold() -> None:
    assert fold("法輪ＦＯ") == "法轮fo"


def test_empty_or_silent_words_are_ignored(frontend: Frontend) -> None:
    f = ContentFilter({"x": ["", " ", "。。"]}, frontend=frontend)
    assert f.size == 0 and not f.active


def test_unknown_policy() -> None:
    with pytest.raises(InvalidParameter):
        ContentFilter(WORDS, policy="drop")  # type: ignore[arg-type]


def test_word_lists(tmp_path: Path) -> None:
    y = tmp_path / "w.yaml"
    y.write_text("violence: [炸弹]\nspam:\n  words: [发票代开]\n  sound: false\n  allow: [发票]\n")
    t = tmp_path / "w.txt"
    t.write_text("# comment\nviolence\t炸弹\n法轮功\n\n")
    assert load_word_list(y) == WordList(
        {"violence": ["炸弹"], "spam": ["发票代开"]}, {"spam": False}, ["发票"]
    )
    assert load_word_list(t).words == {"violence": ["炸弹"], "default": ["法轮功"]}
    merged = merge_word_lists(load_word_list(y), load_word_list(t))
    assert merged.words["violence"] == ["炸弹", "炸弹"] and merged.sound == {"spam": False}
    assert parse_word_list(["a", "b"]).words == {"default": ["a", "b"]}
    assert parse_word_list(None).words == {}
    with pytest.raises(InvalidParameter, match="cannot read"):
        load_word_list(tmp_path / "missing.txt")
    bad = tmp_path / "bad.yaml"
    bad.write_text("just a string\n")
    with pytest.raises(InvalidParameter, match="mapping"):
        load_word_list(bad)
