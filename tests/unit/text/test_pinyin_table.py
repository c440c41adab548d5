"""The flattened pinyin table reads as pypinyin does, and its cache file is derived once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypinyin import Style, lazy_pinyin

from hanvoice.text import pinyin_table
from hanvoice.text.pinyin_table import PinyinTable

TEXTS = [
    "银行行长",
    "长江很长",
    "中华人民共和国成立了",
    "重庆的重量",
    "一会儿我们去还钱",
    "朝阳区朝着东方",
    "便宜的方便面",
    "呣噷",
    "乐曲让人快乐",
    "他说了一句话就走了",
]


@pytest.mark.parametrize("text", TEXTS)
def test_readings_match_pypinyin(text: str) -> None:
    want = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    got = pinyin_table.table().readings(text)
    assert [g if g is not None else c for g, c in zip(got, text, strict=True)] == want


@pytest.mark.parametrize(
    ("entries", "text", "want"),
    [
        ({"a": "x1", "b": "y2", "ab": "p1 q2"}, "ab", ["p1", "q2"]),
        ({"a": "x1", "b": "y2", "abc": "p1 q2 r3"}, "abd", ["x1", "y2", None]),
        ({"a": "x1", "ab": "p1 q2", "abc": "r1 s2 t3"}, "abcab", ["r1", "s2", "t3", "p1", "q2"]),
        ({}, "zz", [None, None]),
    ],
)
def test_longest_phrase_from_the_left(entries: dict[str, str], text: str, want: list) -> None:
    assert PinyinTable(entries).readings(text) == want


def test_is_phrase_needs_two_characters() -> None:
    t = PinyinTable({"银": "yin2", "银行": "yin2 hang2"})
    assert t.is_phrase("银行") and not t.is_phrase("银") and not t.is_phrase("行长")


def test_cache_file_written_once_and_rederived_when_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANVOICE_CACHE_DIR", str(tmp_path))
    pinyin_table.table.cache_clear()
    try:
        first = pinyin_table.table()
        (path,) = tmp_path.glob("pinyin-*.tsv")
        assert len(first) > 80_000
        assert path.read_text(encoding="utf-8").count("\n") == len(first)
        path.write_text("broken line without a tab\n", encoding="utf-8")
        pinyin_table.table.cache_clear()
        again = pinyin_table.table()
        assert len(again) == len(first)
        assert again.readings("银行") == ["yin2", "hang2"]
    finally:
        pinyin_table.table.cache_clear()
