"""Text normalization: everything that is not already Chinese characters becomes words.

One module per category (numbers, dates, money, phone, units, letters, symbols); each
exposes its rules and reads its word lists from ``data/text``. The order below matters:
the more specific forms claim their text first (a date before the numbers in it, a unit
before the letters of its symbol), and a claimed stretch is never rewritten again.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache

from hanvoice.text.buffer import Buffer
from hanvoice.text.normalize import dates, letters, money, numbers, phone, symbols, units
from hanvoice.text.normalize.rule import Rule

__all__ = ["Rule", "all_rules", "normalize"]


def _ascii(rule: Rule) -> Rule:
    """In every rule ``\\d``, ``\\w``, ``\\s`` and ``\\b`` mean ASCII ones: ``(?<![\\w.])`` must
    not treat the Chinese character before a number as part of a word."""
    flags = (rule.pattern.flags & ~re.UNICODE) | re.ASCII
    return replace(rule, pattern=re.compile(rule.pattern.pattern, flags))


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule, in the order it runs."""
    web, alnum, title, word = letters.rules()
    plusplus, equation, *other_symbols = symbols.rules()
    ordered = (
        web,
        numbers.score_rule(),
        numbers.context_score_rule(),
        *dates.rules(),
        *phone.rules(),
        *money.rules(),
        equation,
        *units.rules(),
        numbers.version_rule(),
        numbers.suffix_ordinal_rule(),
        alnum,
        *numbers.rules(),
        title,
        word,
        plusplus,
        *other_symbols,
    )
    return tuple(_ascii(r) for r in ordered)


def normalize(buf: Buffer) -> None:
    """Rewrite ``buf`` in place, one line at a time (no rule reaches across a line end)."""
    if "\n" not in buf.chars:
        _rewrite(buf)
        return
    lines: list[Buffer] = []
    start = 0
    for i, c in enumerate([*buf.chars, "\n"]):
        if c == "\n":
            line = buf.slice(start, i)
            _rewrite(line)
            lines.append(line)
            if i < len(buf):
                lines.append(buf.slice(i, i + 1))
            start = i + 1
    out = Buffer("")
    for line in lines:
        out.extend(line)
    buf.chars, buf.sources, buf.readings, buf.claimed = (
        out.chars,
        out.sources,
        out.readings,
        out.claimed,
    )


def _rewrite(buf: Buffer) -> None:
    for rule in all_rules():
        buf.sub(rule.pattern, rule.replace)
