"""A book's plain text cut into chapters at its headings; pure functions, no files.

Headings are whole lines: Markdown ``#``/``##`` headings, and Chinese chapter lines such as
``第一章 风起``, ``第12回``, ``第三卷`` or ``序章``/``楔子``/``尾声``. Text before the first
heading becomes a chapter of its own (a preface) when it has something to say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMERAL = r"[0-9０-９零〇一二三四五六七八九十百千两]+"
HEADING = re.compile(
    rf"^\s*(?:#{{1,2}}\s+(?P<md>\S.*?)\s*#*|(?P<zh>(?:第{_NUMERAL}[章回节卷部篇集]|序章|序言|楔子|引子|尾声|后记)(?:[\s:：、.．·—-].*)?))\s*$"
)
"""A Markdown heading of level 1 or 2, or a Chinese chapter line (``第一章 风起``)."""


@dataclass(frozen=True, slots=True)
class Chapter:
    title: str
    text: str


def heading(line: str) -> str | None:
    """The chapter title if ``line`` is a heading (``"# 第一章"`` -> ``"第一章"``), else None."""
    m = HEADING.match(line)
    if m is None:
        return None
    return (m.group("md") or m.group("zh") or "").strip()


def split_chapters(text: str, *, default_title: str = "") -> list[Chapter]:
    """Chapters in reading order; the heading itself is spoken as the chapter's first line.

    ``"第一章 起\\n春天。\\n第二章 承\\n夏天。"`` -> two chapters, ``第一章 起`` and ``第二章 承``.
    A text with no heading is one chapter titled ``default_title``.
    """
    chapters: list[Chapter] = []
    title = default_title
    lines: list[str] = []

    def close() -> None:
        body = "\n".join(lines).strip()
        if body:
            chapters.append(Chapter(title, body))

    for line in text.splitlines():
        found = heading(line)
        if found is not None:
            close()
            title, lines = found, [found]
        else:
            lines.append(line.lstrip("#").strip() if line.lstrip().startswith("#") else line)
    close()
    return chapters
