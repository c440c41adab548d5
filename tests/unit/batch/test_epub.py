"""EPUB books made here with the same library that reads them (epubfile)."""

from __future__ import annotations

from pathlib import Path

import epubfile  # type: ignore[import-untyped]
import pytest

from hanvoice.batch.epub import quiet_library, read_epub
from hanvoice.batch.inputs import Defaults, read_items
from hanvoice.errors import InvalidParameter

XHTML = """<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head>
<body>{body}</body></html>"""


def make_epub(path: Path, chapters: list[tuple[str, str, str]]) -> Path:
    """``chapters``: (file name, heading, paragraphs separated by newlines); spine in order."""
    with quiet_library():
        book = epubfile.Epub.new()
        for name, head, paras in chapters:
            h = f"<h1>{head}</h1>" if head else ""
            body = h + "".join(f"<p>{p}</p>" for p in paras.split("\n") if p)
            book.add_file(name.split(".")[0], name, XHTML.format(title=head or name, body=body))
        book.save(str(path))
        del book
    return path


def test_chapters_in_spine_order_with_titles(tmp_path: Path) -> None:
    path = make_epub(
        tmp_path / "book.epub",
        [
            ("c1.xhtml", "第一章 相遇", "他们在车站相遇。\n那天下着雨。"),
            ("c2.xhtml", "第二章 分别", "多年以后，他们分别了。"),
            ("blank.xhtml", "", ""),
        ],
    )
    chapters = read_epub(path)
    assert [c.title for c in chapters] == ["第一章 相遇", "第二章 分别"]
    assert chapters[0].text == "第一章 相遇\n他们在车站相遇。\n那天下着雨。"
    items = read_items(path, Defaults())
    assert [(i.id, i.title) for i in items] == [("ch001", "第一章 相遇"), ("ch002", "第二章 分别")]


def test_not_an_epub_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.epub"
    bad.write_bytes(b"PK not really a zip")
    with pytest.raises(InvalidParameter, match="cannot read EPUB"):
        read_epub(bad)
