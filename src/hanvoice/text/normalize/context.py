"""What the words around a number say it is: a quantity, a score, a date.

The rules that read ambiguous forms (``1999.9``, ``3-0``, ``12-25``, ``108:96``) ask these
questions in a fixed order, each answered from a word list in ``data/text``:

1. a unit, a currency or a measure word right after it -> a quantity (``1999.9元``,
   ``3-5个``): never a date, a score or a time;
2. a sport word in the same clause (``sport_words.txt``) -> a score (``中国队3-0``);
3. a date word in the same clause (``date_words.txt``) -> a date (``12-25是圣诞节``).
"""

from __future__ import annotations

import re
from functools import cache

from hanvoice.text.resources import rows, table, words

BEFORE = 10
AFTER = 8
_CLAUSE_END = re.compile(r"[。！？!?；;，,、\n]")


@cache
def _quantity_pattern() -> re.Pattern[str]:
    listed = {w for w in words("liang_measures.txt") if not w.startswith("!")}
    listed |= words("quantity_words.txt")
    listed |= set(table("units.tsv"))
    listed |= {r[0] for r in rows("currencies.tsv")} | {r[1] for r in rows("currencies.tsv")}
    alternatives = "|".join(re.escape(w) for w in sorted(listed, key=len, reverse=True) if w)
    return re.compile(r"(?:" + alternatives + r")(?![A-Za-z])")


def quantity_follows(text: str, end: int) -> bool:
    """Whether a unit, currency or measure word follows ``text[:end]`` (``1999.9元``), after
    any blanks (skipped by hand: a pattern starting with ``\\s*`` is one a search could
    start anywhere in a long run of blanks)."""
    while end < len(text) and text[end].isspace():
        end += 1
    return _quantity_pattern().match(text, end) is not None


def clause(text: str, start: int, end: int) -> tuple[str, str]:
    """The text of the clause before ``start`` and after ``end`` (at most BEFORE / AFTER
    characters, not across a comma or a sentence end)."""
    before = text[max(0, start - BEFORE) : start]
    cuts = list(_CLAUSE_END.finditer(before))
    if cuts:
        before = before[cuts[-1].end() :]
    after = text[end : end + AFTER]
    cut = _CLAUSE_END.search(after)
    if cut:
        after = after[: cut.start()]
    return before, after


def near(text: str, start: int, end: int, name: str) -> bool:
    """Whether a word of the list ``name`` stands in the clause around ``text[start:end]``."""
    before, after = clause(text, start, end)
    return any(w in before or w in after for w in words(name))


def is_sport(text: str, start: int, end: int) -> bool:
    return near(text, start, end, "sport_words.txt")


def is_date_context(text: str, start: int, end: int, *, strong: bool = False) -> bool:
    """A date word near; ``strong``: one that never follows a plain number (not 起, 以后)."""
    if not strong:
        return near(text, start, end, "date_words.txt")
    before, after = clause(text, start, end)
    return any(w in before or w in after for w in _strong_date_words())


@cache
def _strong_date_words() -> frozenset[str]:
    return frozenset(r[0] for r in rows("date_words.txt") if r[1:2] != ["weak"])


__all__ = ["clause", "is_date_context", "is_sport", "near", "quantity_follows"]
