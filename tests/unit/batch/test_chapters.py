from __future__ import annotations

import pytest

from hanvoice.batch.chapters import heading, split_chapters


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("第一章 风起", "第一章 风起"),
        ("第12章", "第12章"),
        ("  第三十回：大闹天宫", "第三十回：大闹天宫"),
        ("第二卷", "第二卷"),
        ("序章", "序章"),
        ("楔子", "楔子"),
        ("尾声 多年以后", "尾声 多年以后"),
        ("# 第一章 春", "第一章 春"),
        ("## Chapter Two ##", "Chapter Two"),
        ("第一章说的是春天的事。", None),  # a sentence that starts like a heading
        ("### 小节", None),  # level 3 stays inside its chapter
        ("他走了。", None),
        ("#没有空格", None),
    ],
)
def test_heading(line: str, title: str | None) -> None:
    assert heading(line) == title


def test_chapters_in_order_with_heading_spoken_first() -> None:
    text = "前言一句。\n\n第一章 起\n春天。\n### 小节\n花开。\n第二章 承\n夏天。\n"
    chapters = split_chapters(text, default_title="书")
    assert [c.title for c in chapters] == ["书", "第一章 起", "第二章 承"]
    assert chapters[0].text == "前言一句。"
    assert chapters[1].text == "第一章 起\n春天。\n小节\n花开。"
    assert chapters[2].text == "第二章 承\n夏天。"


def test_no_heading_is_one_chapter_and_empty_is_none() -> None:
    assert [(c.title, c.text) for c in split_chapters("只有一段。", default_title="t")] == [
        ("t", "只有一段。")
    ]
    assert split_chapters("\n \n") == []
