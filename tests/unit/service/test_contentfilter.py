"""Content filter: disguised words are still found; the word itself is never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanvoice.errors import ContentRejected, InvalidParameter
from hanvoice.service.contentfilter import (
    ContentFilter,
    fold,
    load_word_list,
    merge_word_lists,
    parse_word_list,
)

WORDS = {"violence": ["炸弹", "kill"], "spam": ["发票代开"], "politics": ["法轮功"]}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我有一个炸弹", "violence"),
        ("我有一个炸 弹", "violence"),  # space inserted
        ("我有一个炸　弹", "violence"),  # ideographic space
        ("我有一个炸.弹", "violence"),  # symbol inserted
        ("我有一个炸*_*弹", "violence"),
        ("我有一个炸\u200b弹", "violence"),  # zero-width space
        ("我有一个炸彈", "violence"),  # traditional
        ("I will ＫＩＬＬ you", "violence"),  # full-width letters
        ("I will K i L l you", "violence"),  # case and spaces
        ("I will ｋ－ｉ－ｌ－ｌ you", "violence"),  # full-width symbols between
        ("代开发票", None),  # same characters, other order: clean
        ("专业發 票 代 開", "spam"),  # traditional + spaces
        ("法輪功", "politics"),
        ("今天天气很好", None),
        ("", None),
    ],
)
def test_disguised_words_are_found(text: str, category: str | None) -> None:
    found = {m.category for m in ContentFilter(WORDS).find(text)}
    assert found == ({category} if category else set())


def test_reject_names_the_category_not_the_word() -> None:
    f = ContentFilter(WORDS, policy="reject")
    with pytest.raises(ContentRejected) as info:
        f.apply("我有一个炸 弹和发票代开")
    assert info.value.categories == ("spam", "violence")
    assert "炸" not in info.value.message and "发票" not in info.value.message
    assert "violence" in info.value.message
    assert info.value.code == "content_rejected" and info.value.client_error


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我有一个炸弹。", "我有一个**。"),
        ("我有一个炸 . 弹。", "我有一个* * *。"),  # the whole span, spaces kept
        ("ＫＩＬＬ him", "**** him"),
        ("炸弹炸弹", "****"),
        ("干净的句子", "干净的句子"),
    ],
)
def test_mask_policy(text: str, masked: str) -> None:
    out = ContentFilter(WORDS, policy="mask").apply(text)
    assert out.text == masked
    assert len(out.text) == len(text)
    assert bool(out.categories) == (masked != text)


def test_fold_keeps_positions() -> None:
    folded, where = fold("法 輪．ＦＯ")
    assert folded == "法轮fo"
    assert where == [0, 2, 4, 5]


def test_empty_or_symbol_only_words_are_ignored() -> None:
    f = ContentFilter({"x": ["", " ", "。。"]})
    assert not f.active and f.find("。。") == []


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(InvalidParameter):
        ContentFilter(WORDS, policy="drop")  # type: ignore[arg-type]


def test_word_list_files(tmp_path: Path) -> None:
    y = tmp_path / "w.yaml"
    y.write_text("violence: [炸弹]\nspam:\n  - 发票代开\n", "utf-8")
    t = tmp_path / "w.txt"
    t.write_text("# comment\nviolence\t炸弹\n法轮功\n\n", "utf-8")
    assert load_word_list(y) == {"violence": ["炸弹"], "spam": ["发票代开"]}
    assert load_word_list(t) == {"violence": ["炸弹"], "default": ["法轮功"]}
    assert merge_word_lists(load_word_list(y), load_word_list(t))["violence"] == ["炸弹", "炸弹"]


@pytest.mark.parametrize("data", ["just a string", {"a": "not a list"}, 3])
def test_bad_word_lists_say_what_is_wrong(data: object) -> None:
    with pytest.raises(InvalidParameter, match="mapping of category"):
        parse_word_list(data, "etcd filter_words")


def test_unreadable_word_list(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="cannot read"):
        load_word_list(tmp_path / "missing.txt")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed", "utf-8")
    with pytest.raises(InvalidParameter, match="not valid"):
        load_word_list(bad)
