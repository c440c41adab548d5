"""Word readings that override the pinyin converter: the bundled polyphone lexicon
(``data/text/polyphones.tsv``) and a deployment's own user lexicon.

A lexicon file has one word a line: the word, a tab, one tone3 syllable per character
(``行长	hang2 zhang3``); ``#`` starts a comment. A user lexicon wins over the bundled one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hanvoice.errors import InvalidParameter
from hanvoice.text.resources import DATA_DIR, rows

_SYLLABLE = re.compile(r"^(?:[a-zü]+[1-5]|r)$")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Words -> one reading per character."""

    entries: dict[str, tuple[str, ...]]
    longest: int

    def get(self, word: str) -> tuple[str, ...] | None:
        return self.entries.get(word)

    def matches(self, text: str) -> list[tuple[int, int, tuple[str, ...]]]:
        """Non-overlapping ``(start, end, readings)``, longest match first, left to right."""
        out = []
        i = 0
        n = len(text)
        while i < n:
            for size in range(min(self.longest, n - i), 1, -1):
                reading = self.entries.get(text[i : i + size])
                if reading is not None:
                    out.append((i, i + size, reading))
                    i += size
                    break
            else:
                i += 1
        return out

    def over(self, base: Lexicon) -> Lexicon:
        return Lexicon({**base.entries, **self.entries}, max(self.longest, base.longest))


def parse(lines: list[list[str]], origin: str) -> Lexicon:
    entries: dict[str, tuple[str, ...]] = {}
    for fields in lines:
        if len(fields) < 2:
            raise InvalidParameter(f"{origin}: {fields[0]!r} has no reading (word<TAB>pinyin ...)")
        word = fields[0].strip()
        syllables = tuple(fields[1].lower().replace("ü", "v").split())
        if len(syllables) != len(word) or not all(_SYLLABLE.match(s) for s in syllables):
            raise InvalidParameter(
                f"{origin}: {word!r} needs one tone3 syllable per character "
                f"(like hang2 zhang3), got {fields[1]!r}"
            )
        entries[word] = syllables
    return Lexicon(entries, max((len(w) for w in entries), default=0))


@cache
def bundled() -> Lexicon:
    return parse(rows("polyphones.tsv"), str(DATA_DIR / "polyphones.tsv"))


def load_user(path: Path) -> Lexicon:
    """A deployment's lexicon; a missing or malformed file is a clear error."""
    try:
        lines = rows("", path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"cannot read user lexicon {path}: {exc}") from exc
    return parse(lines, str(path))
