"""Characters -> pinyin with context: words, polyphones, erhua, neutral tones, sandhi.

Word segmentation is jieba's (its dictionary loads once per process, lazily: ~0.6 s from
jieba's cache file). Each word is looked up in pypinyin's readings (flattened into one
table by :mod:`.pinyin_table`); then the bundled polyphone lexicon and context rules
(``data/text/polyphones.tsv``, ``polyphone_rules.tsv``) fix the readings pypinyin gets
wrong (长江很长, 数一数, 还钱), a user lexicon overrides anything, 儿 after a word merges
as erhua, and tone sandhi gives the spoken tones. Readings the voice lacks map to the nearest
syllable it has.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cache

from hanvoice.text import pinyin_table, sandhi, segmenter
from hanvoice.text.lexicon import Lexicon
from hanvoice.text.resources import rows, table, words
from hanvoice.text.segmenter import Word, segment

log = logging.getLogger(__name__)

_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f〇]")
_PINYIN = re.compile(r"^([a-zü]+?)([1-5])$")


def warm() -> None:
    """Load the segmenter and pinyin table now (a service does this at start-up)."""
    segmenter.warm()
    pinyin_table.table()


@cache
def _rules() -> tuple[tuple[re.Pattern[str], tuple[str, ...], bool], ...]:
    """(pattern, readings, only when the character is a word by itself)."""
    out = []
    for r in rows("polyphone_rules.tsv"):
        alone = len(r) > 2 and r[2].strip() == "alone"
        out.append((re.compile(r[0]), tuple(r[1].split()), alone))
    return tuple(out)


def is_hanzi(c: str) -> bool:
    return bool(_HANZI.match(c))


def syllable_ok(p: str) -> bool:
    m = _PINYIN.match(p)
    return bool(m and m.group(1).replace("ü", "v") in words("syllables.txt"))


def fit_syllable(p: str) -> str | None:
    """``p`` if the voice has it, else the nearest syllable it has, else ``None``."""
    p = p.lower().replace("ü", "v").replace("u:", "v")
    m = _PINYIN.match(p) or re.match(r"^([a-zv]+)()$", p)
    if not m:
        return None
    base, tone = m.group(1), m.group(2) or "5"
    known = words("syllables.txt")
    if base in known:
        return base + tone
    alias = table("syllable_aliases.tsv").get(base)
    if alias and alias in known:
        return alias + tone
    if base.endswith("r") and base[:-1] in known:
        return base[:-1] + tone  # an erhua spelled into the syllable: the r is dropped
    return None


def to_pinyin(
    text: str,
    fixed: Sequence[str | None],
    words_: list[Word],
    lexicon: Lexicon,
    warnings: list[str],
) -> list[str | None]:
    """One reading per character of ``text`` (``None`` = silent)."""
    read = pinyin_table.table().readings
    out: list[str | None] = [None] * len(text)
    for start, end in _reading_units(text, words_):
        chunk = text[start:end]
        if not _HANZI.search(chunk):
            continue
        for i, p in enumerate(read(chunk)):
            if p and _HANZI.match(chunk[i]) and _PINYIN.match(p):
                out[start + i] = p
    single = {w.start for w in words_ if w.end - w.start == 1}
    for pattern, readings, alone in _rules():
        for m in pattern.finditer(text):
            if alone and m.start(1) not in single:
                continue
            for k, reading in enumerate(readings):
                j = m.start(1) + k
                if j < m.end(1):
                    out[j] = reading
    _adverbial_de(text, words_, out)
    for start, end, readings in lexicon.matches(text):
        for j, reading in zip(range(start, end), readings, strict=True):
            out[j] = reading
    _erhua(text, words_, out)
    for j, f in enumerate(fixed):
        if f is not None:
            out[j] = f or None
    _sandhi(text, words_, out, fixed)
    unknown = []
    for j, p in enumerate(out):
        if p is None or p == "r" or (fixed[j] and " " in p):
            continue
        fitted = fit_syllable(p)
        if fitted is None:
            unknown.append(f"{text[j]}({p})")
        out[j] = fitted
    for j, c in enumerate(text):
        if out[j] is None and fixed[j] is None and _HANZI.match(c):
            unknown.append(c)
    if unknown:
        warnings.append("no reading for " + ", ".join(dict.fromkeys(unknown)) + "; skipped")
    return out


def _adverbial_de(text: str, words_: list[Word], out: list[str | None]) -> None:
    """地 standing alone after a word of two or more characters and before a verb marks an
    adverbial (快乐地唱, 认真地听): de5. As a noun it stands after one character (种地,
    一块地) or inside a word (土地, 当地)."""
    for k in range(1, len(words_) - 1):
        w = words_[k]
        prev = words_[k - 1]
        if (
            text[w.start : w.end] == "地"
            and prev.end - prev.start >= 2
            and all(_HANZI.match(c) for c in text[prev.start : prev.end])
            and _HANZI.match(text[w.end : w.end + 1] or "x")
        ):
            out[w.start] = "de5"


def _reading_units(text: str, words_: list[Word]) -> list[tuple[int, int]]:
    """Stretches to look up in pypinyin: jieba's words, except that two or three adjacent
    words forming one of pypinyin's phrases are looked up together (a rare word the
    trimmed dictionary split still gets its phrase reading)."""
    is_phrase = pinyin_table.table().is_phrase
    out = []
    i = 0
    while i < len(words_):
        for k in (3, 2):
            if i + k <= len(words_):
                start, end = words_[i].start, words_[i + k - 1].end
                if end - start <= 6 and is_phrase(text[start:end]):
                    out.append((start, end))
                    i += k
                    break
        else:
            out.append((words_[i].start, words_[i].end))
            i += 1
    return out


def _erhua(text: str, words_: list[Word], out: list[str | None]) -> None:
    """儿 closing a word of two or more characters merges into the syllable before it
    (花儿 -> hua1 + r), except in words where it is a syllable of its own (女儿, 婴儿)."""
    exceptions = words("not_erhua.txt")
    for w in words_:
        word = text[w.start : w.end]
        if (
            len(word) >= 2
            and word.endswith("儿")
            and word not in exceptions
            and out[w.end - 2] is not None
            and out[w.end - 1] is not None
        ):
            out[w.end - 1] = "r"


def _sandhi(
    text: str, words_: list[Word], out: list[str | None], fixed: Sequence[str | None]
) -> None:
    sylls: list[sandhi.Syllable] = []
    where: list[int] = []
    for wi, w in enumerate(words_):
        for j in range(w.start, w.end):
            p = out[j]
            if p is None or p == "r" or " " in p or not _PINYIN.match(p):
                continue
            sylls.append(sandhi.Syllable(text[j], p, wi, fixed[j] is not None))
            where.append(j)
    sandhi.apply(sylls)
    for s, j in zip(sylls, where, strict=True):
        out[j] = s.pinyin


__all__ = ["Word", "fit_syllable", "is_hanzi", "segment", "to_pinyin", "warm"]
