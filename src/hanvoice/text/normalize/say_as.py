"""SSML ``<say-as>``: read a stretch the way the caller says, not the way we would guess.

``digits`` 2026 -> 二零二六, ``telephone`` 110 -> 幺幺零, ``cardinal`` 2026 -> 两千零二十六,
``characters`` AB12 -> A B 一 二, ``date`` and ``time`` use those rules only, ``ordinal``
3 -> 第三. Whatever a mode does not cover is normalized as usual.
"""

from __future__ import annotations

import re

from hanvoice.text.buffer import Buffer, Piece, Replacement
from hanvoice.text.normalize import all_rules, dates, numbers
from hanvoice.text.normalize.letters import spell


def _characters(m: re.Match[str]) -> Replacement:
    c = m.group(0)
    if c.isdigit():
        return numbers.digits(c)
    return spell(c)


def _cardinal(m: re.Match[str]) -> Replacement:
    return numbers.number_piece(m.group(0).replace(",", ""))


def _ordinal(m: re.Match[str]) -> Replacement:
    text = numbers.cardinal(m.group(0))
    return [Piece("第"), Piece(text, ["yi1" if c == "一" else None for c in text])]


def _plus(m: re.Match[str]) -> Replacement:
    return "加"


def apply(kind: str, buf: Buffer) -> None:
    """Rewrite ``buf`` for ``<say-as interpret-as=kind>``, then normalize the rest."""
    if kind in ("digits", "telephone"):
        yao = kind == "telephone"

        def replace(m: re.Match[str]) -> Replacement:
            return numbers.digits(m.group(0), yao=yao)

        buf.sub(re.compile(r"\+(?=\d)"), _plus)
        buf.sub(re.compile(r"\d+", re.ASCII), replace)
        buf.sub(re.compile(r"[-\s()（）]"), lambda m: Piece(""))
    elif kind in ("cardinal", "number"):
        buf.sub(re.compile(r"[-−]?\d+(?:,\d{3})*(?:\.\d+)?", re.ASCII), _cardinal)
    elif kind == "ordinal":
        buf.sub(re.compile(r"\d+", re.ASCII), _ordinal)
    elif kind in ("characters", "spell-out", "letters"):
        buf.sub(re.compile(r"[A-Za-z0-9]", re.ASCII), _characters)
    elif kind in ("date", "time"):
        for rule in dates.rules():
            buf.sub(re.compile(rule.pattern.pattern, re.ASCII), rule.replace)
    for rule in all_rules():
        buf.sub(rule.pattern, rule.replace)
