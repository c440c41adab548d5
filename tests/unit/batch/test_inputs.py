from __future__ import annotations

import json
from pathlib import Path

import pytest

from hanvoice.batch.inputs import Defaults, read_items
from hanvoice.errors import InvalidParameter

D = Defaults(voice="baker", emotion="sad", format="mp3")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "p.jsonl",
            '{"id": "a", "text": "你好。"}\n\n'
            '{"id": 2, "text": "再见。", "emotion": "happy", "speed": 1.5, "ssml": true, '
            '"format": "WAV", "pitch": -2, "intensity": 0.5}\n',
        ),
        (
            "p.csv",
            "id,text,emotion,speed,ssml,format,pitch,intensity\n"
            "a,你好。,,,,,,\n2,再见。,happy,1.5,yes,WAV,-2,0.5\n",
        ),
        (
            "p.tsv",
            "id\ttext\temotion\tspeed\tssml\tformat\tpitch\tintensity\n"
            "a\t你好。\t\t\t\t\t\t\n2\t再见。\thappy\t1.5\t1\twav\t-2\t0.5\n",
        ),
    ],
)
def test_prompt_sets_rows_and_defaults(tmp_path: Path, name: str, text: str) -> None:
    a, b = read_items(_write(tmp_path / name, text), D)
    assert (a.id, a.text, a.emotion, a.speed, a.format, a.ssml) == ("a", "你好。", "sad", 1.0,
                                                                     "mp3", False)  # fmt: skip
    assert (b.id, b.emotion, b.speed, b.ssml, b.format, b.pitch, b.intensity) == (
        "2",
        "happy",
        1.5,
        True,
        "wav",
        -2.0,
        0.5,
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "p.jsonl",
            '{"id": "a", "text": "x", "colour": 1}\n',
            "p.jsonl:1: unknown field(s) colour",
        ),
        ("p.jsonl", '{"id": "a"}\n', "p.jsonl:1: text is missing"),
        ("p.jsonl", "[1]\n", "must be a JSON object"),
        ("p.jsonl", "{oops\n", "p.jsonl:1: not JSON"),
        ("p.jsonl", '{"id": "a", "text": "x", "speed": "fast"}\n', "speed must be a number"),
        ("p.jsonl", '{"id": "a", "text": "x", "ssml": "maybe"}\n', "ssml must be true or false"),
        ("p.jsonl", '{"id": "a/b", "text": "x"}\n{"id": "a b", "text": "y"}\n', "share the file"),
        ("p.csv", "name,text\na,x\n", "lacks column(s) id"),
        ("p.tsv", "id\ttext\n\tx\n", "p.tsv:2: id is missing"),
        ("p.docx", "x", "cannot tell what"),
    ],
)
def test_input_mistakes_name_the_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        read_items(_write(tmp_path / name, text), D)
    assert message in info.value.message


def test_values_out_of_range_are_left_to_the_item(tmp_path: Path) -> None:
    """A speed of 9 is that item's error row later, not a reason to refuse the whole set."""
    (item,) = read_items(_write(tmp_path / "p.jsonl", '{"id": "a", "text": "x", "speed": 9}'), D)
    assert item.speed == 9.0


@pytest.mark.parametrize("name", ["book.txt", "book.md"])
def test_text_book_is_one_item_per_chapter(tmp_path: Path, name: str) -> None:
    text = "# 第一章 春\n春天来了。\n\n# 第二章 夏\n夏天很热。\n"
    items = read_items(_write(tmp_path / name, text), D)
    assert [(i.id, i.title, i.format, i.emotion) for i in items] == [
        ("ch001", "第一章 春", "mp3", "sad"),
        ("ch002", "第二章 夏", "mp3", "sad"),
    ]


def test_folder_of_chapter_files_in_name_order(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    _write(book / "02.txt", "第二章 回家\n我们回家了。")
    _write(book / "01.md", "# 第一章 出门\n我们出门了。")
    _write(book / "10.txt", "没有标题的一章。")
    _write(book / "cover.jpg", "not text")
    items = read_items(book, D)
    assert [(i.id, i.title) for i in items] == [
        ("ch001", "第一章 出门"),
        ("ch002", "第二章 回家"),
        ("ch003", "10"),
    ]
    assert items[0].text == "第一章 出门\n我们出门了。"


def test_empty_folder_and_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match=r"no \.txt or \.md"):
        read_items(tmp_path, D)
    with pytest.raises(InvalidParameter, match="does not exist"):
        read_items(tmp_path / "nope.jsonl", D)


def test_jsonl_unicode_survives(tmp_path: Path) -> None:
    row = {"id": "欢迎", "text": "欢迎光临！"}
    (item,) = read_items(_write(tmp_path / "p.jsonl", json.dumps(row, ensure_ascii=False)), D)
    assert (item.id, item.text, item.filename) == ("欢迎", "欢迎光临！", "欢迎.mp3")
