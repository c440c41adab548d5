"""Prosodic breaks after each character, in the Baker corpus's terms (#0-#4).

Between words a ``WORD`` break (#1), none inside a word; particles (的 了 吗 ...) lean on
the word before them; a space between Chinese words or an enumeration comma is a
``PHRASE`` (#2); commas, colons and semicolons a ``CLAUSE`` (#3, which the voice renders as
a natural pause); 。！？ and line ends a ``SENTENCE``. Punctuation lends its break to the
last spoken character before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hanvoice.text.g2p import Word
from hanvoice.text.types import Break

SENTENCE_MARKS = frozenset("。！？!?.\n…")
CLAUSE_MARKS = frozenset("，,：:；;")
PHRASE_MARKS = frozenset("、—–-()（）[]【】「」『』《》〈〉\"'“”‘’/|")
CLITICS = frozenset("的了着过吗呢吧啊呀嘛们地得么哦啦喽呗")


def boundaries(text: str, words: Sequence[Word], pinyin: Sequence[str | None]) -> list[Break]:
    """One break per character of ``text``."""
    out = [Break.NONE] * len(text)
    last_spoken = -1
    for w in words:
        chunk = text[w.start : w.end]
        if chunk in CLITICS and last_spoken >= 0 and last_spoken == w.start - 1:
            out[last_spoken] = Break.NONE
        if any(pinyin[j] for j in range(w.start, w.end)):
            out[w.end - 1] = Break.WORD
            last_spoken = w.end - 1
            continue
        level = _level(chunk, text, w)
        out[w.end - 1] = level
        if level > Break.NONE and last_spoken >= 0:
            out[last_spoken] = max(out[last_spoken], level)
    if last_spoken >= 0:  # the text's end is a sentence's end
        out[last_spoken] = Break.SENTENCE
    return out


def _level(chunk: str, text: str, w: Word) -> Break:
    if "\n" in chunk or any(c in SENTENCE_MARKS for c in chunk):
        if "…" in chunk and not _at_end(text, w.end):
            return Break.CLAUSE
        return Break.SENTENCE
    if any(c in CLAUSE_MARKS for c in chunk):
        return Break.CLAUSE
    if any(c in PHRASE_MARKS for c in chunk):
        return Break.PHRASE
    if chunk.isspace():
        before = text[w.start - 1] if w.start else ""
        after = text[w.end] if w.end < len(text) else ""
        if before and after and not before.isascii() and not after.isascii():
            return Break.PHRASE
        return Break.WORD
    return Break.NONE


def _at_end(text: str, pos: int) -> bool:
    rest = text[pos:]
    return not rest.strip() or rest.lstrip()[0] in '\n”’"」』)）'
