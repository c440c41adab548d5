"""Units after a number, temperatures with their minus sign.

``"5km"`` -> 五公里, ``"2kg"`` -> 两公斤, ``"-5℃"`` -> 零下五摄氏度, ``"3-5km"`` -> 三到五公里,
``"5℃~10℃"`` -> 五摄氏度到十摄氏度, ``"100m²"`` -> 一百平方米, ``"120km/h"`` ->
每小时一百二十公里 (a reading with ``{}`` says the number inside it), ``"16GB"`` -> 十六GB
(letters spelled). Symbols and names are in ``data/text/units.tsv``.
"""

from __future__ import annotations

import re

from hanvoice.text.buffer import Piece, Replacement
from hanvoice.text.normalize.letters import spell
from hanvoice.text.normalize.numbers import NUM, cardinal, digits, is_liang, number_piece
from hanvoice.text.normalize.rule import Rule
from hanvoice.text.resources import table

_TEMPERATURE = {"℃", "°C", "°c", "℉", "°F"}


def _value(s: str, *, temperature: bool, liang: bool) -> list[Piece]:
    if s[0] in "-−":
        return [Piece("零下" if temperature else "负"), number_piece(s[1:], liang=liang)]
    return [number_piece(s.lstrip("+"), liang=liang)]


def _unit(m: re.Match[str]) -> Replacement:
    units = table("units.tsv")
    unit = m.group("u")
    reading = units[unit]
    temperature = unit in _TEMPERATURE or unit == "度"
    liang = is_liang(reading) and not temperature
    a, b = m.group("a"), m.group("b")
    if a[0] in "-−" and m.start() > 0:
        prev = m.string[m.start() - 1]
        if prev.isascii() and (prev.isalnum() or prev in ").]"):
            return None  # "B-5m" is not a negative
    first = m.group("u0")  # the same unit after both numbers (the pattern checks)
    before, _, after = reading.rpartition("{}")  # "每小时{}公里": before the number, after
    if m.string[: m.start()].rstrip().endswith(("时速", "每小时")):
        before = ""  # 时速120km/h: 时速一百二十公里, not 时速每小时
    out = [Piece(before)] if before else []
    out += _value(a, temperature=temperature, liang=liang and not b)
    if first:  # "5℃~10℃": the unit said after both numbers
        out += [_said(after), Piece("到")] + ([Piece(before)] if before else [])
    elif b:
        out.append(Piece("到"))
    if b:
        out += _value(b, temperature=temperature, liang=liang)
    out.append(_said(after))
    return out


def _said(reading: str) -> Piece:
    return spell(reading) if reading.isascii() else Piece(reading)


def _degrees(m: re.Match[str]) -> Replacement:
    """``"-5度"``: a temperature below zero (零下五度), only with the word 度 after it."""
    a, b = m.group("a"), m.group("b")
    out = _value(a, temperature=True, liang=False)
    if b:
        out += [Piece("到"), *_value(b, temperature=True, liang=False)]
    return out


def rules() -> list[Rule]:
    units = sorted(table("units.tsv"), key=len, reverse=True)
    alternatives = "|".join(re.escape(u) for u in units)
    signed = r"[-−+]?" + NUM
    return [
        Rule(
            "unit",
            re.compile(
                r"(?<![\w.])(?P<a>"
                + signed
                + r")(?:(?:\s?(?P<u0>"
                + alternatives
                + r")(?=\s*(?:~|～|-|—|–|到|至)\s*"
                + signed
                + r"\s?(?P=u0)(?![A-Za-z0-9²³])))?\s*(?:~|～|-|—|–|到|至)\s*(?P<b>"
                + signed
                + r"))?\s?(?P<u>"
                + alternatives
                + r")(?![A-Za-z0-9²³])"
            ),
            _unit,
        ),
        Rule(
            "height",
            re.compile(r"(?<![\w.])(?P<a>\d)\s*米\s*(?P<b>\d{1,2})(?![\d.])"),
            lambda m: [Piece(cardinal(m.group("a")) + "米"), digits(m.group("b"))],
        ),
        Rule(
            "temperature",
            re.compile(
                r"(?<![\w.])(?P<a>[-−]"
                + NUM
                + r")(?:\s*(?:~|～|到|至)\s*(?P<b>[-−]?"
                + NUM
                + r"))?(?=\s?度)"
            ),
            _degrees,
        ),
    ]
