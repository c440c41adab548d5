"""pypinyin's readings as one flat table, derived once and cached as a file.

Why: pypinyin keeps its dictionaries as nested Python lists, plus a set of every phrase
prefix for its segmenter: about 55 MB resident in every process that reads Chinese, a
seventh of the service's memory budget. The same readings flattened to one ``str -> str``
table (``"银行" -> "yin2 hang2"``) take about 17 MB and load in about 50 ms. The table is
derived from pypinyin itself (pinned in ``constraints.txt``) the first time it is needed
and kept in the hanvoice cache folder (``$HANVOICE_CACHE_DIR``, default
``~/.cache/hanvoice``), named after pypinyin's version so an upgrade derives a new one.

:meth:`PinyinTable.readings` reproduces ``lazy_pinyin(text, style=Style.TONE3,
neutral_tone_with_five=True)`` for hanzi: pypinyin cuts a run of hanzi by forward maximum
matching over its phrases (the longest phrase starting here, else one character) and reads
a phrase with its phrase reading, any other character with its first reading.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import cache
from importlib.metadata import version
from pathlib import Path

from hanvoice.files import cache_dir, write_atomic

log = logging.getLogger(__name__)

FORMAT = 1
"""Bump when the file's layout or derivation changes."""


class PinyinTable:
    """Readings of single characters and of pypinyin's phrases (two or more characters)."""

    def __init__(self, entries: dict[str, str]) -> None:
        self._entries = entries
        longest: dict[str, int] = {}
        for key in entries:
            if len(key) > longest.get(key[0], 1):
                longest[key[0]] = len(key)
        self._longest = longest

    def __len__(self) -> int:
        return len(self._entries)

    def is_phrase(self, text: str) -> bool:
        return len(text) > 1 and text in self._entries

    def readings(self, text: str) -> list[str | None]:
        """One TONE3 reading per character of ``text`` (``None`` where pypinyin has none)."""
        out: list[str | None] = [None] * len(text)
        i = 0
        while i < len(text):
            for n in range(min(self._longest.get(text[i], 1), len(text) - i), 1, -1):
                phrase = self._entries.get(text[i : i + n])
                if phrase is not None:
                    out[i : i + n] = phrase.split(" ")
                    i += n
                    break
            else:
                out[i] = self._entries.get(text[i])
                i += 1
        return out


def derive() -> Iterator[tuple[str, str]]:
    """Every character and phrase pypinyin knows, read by pypinyin itself."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

    def read(text: str) -> list[str]:
        got: list[str] = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
        return got

    for code in PINYIN_DICT:
        char = chr(code)
        got = read(char)
        if len(got) == 1 and got[0] != char:
            yield char, got[0]
    for phrase in PHRASES_DICT:
        got = read(phrase)
        if len(phrase) > 1 and len(got) == len(phrase):
            yield phrase, " ".join(got)


def _path() -> Path:
    return cache_dir() / f"pinyin-{version('pypinyin')}-f{FORMAT}.tsv"


def _read(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            key, tab, value = line.rstrip("\n").partition("\t")
            if not tab or not key or not value:
                raise ValueError(f"{path}: malformed line {line!r}")
            entries[key] = value
    return entries


@cache
def table() -> PinyinTable:
    """The table, from the cache file, else derived (and written, if the folder allows)."""
    path = _path()
    if path.exists():
        try:
            return PinyinTable(_read(path))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            log.warning("deriving the pinyin table again: %s", exc)
    entries = dict(derive())
    try:
        write_atomic(path, "".join(f"{k}\t{v}\n" for k, v in entries.items()).encode("utf-8"))
    except OSError as exc:
        log.warning("pinyin table kept in memory only: cannot write %s: %s", path, exc)
    return PinyinTable(entries)
