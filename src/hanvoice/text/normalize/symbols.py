"""Symbols: operators between numbers, and signs read anywhere (``&`` -> 和, ``@`` -> 艾特).

``"3+5=8"`` -> 三加五等于八, ``"A&B"`` -> A和B, ``"C++"`` -> C加加; ``#``, ``~``, ``*`` outside
arithmetic are silent. The readings and where each applies are in ``data/text/symbols.tsv``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hanvoice.text.buffer import Piece, Replacement
from hanvoice.text.normalize.numbers import NUM, number_piece
from hanvoice.text.normalize.rule import Rule
from hanvoice.text.resources import rows, words

_OPERAND = r"[\d零一二三四五六七八九十百千万亿两点A-Za-z)）xy]"


def _equation(m: re.Match[str]) -> Replacement:
    readings = {r[0]: r[1] for r in rows("symbols.tsv") if r[2] in ("math", "equation")}
    out: list[Piece] = []
    for tok in re.findall(NUM + r"|[-−+×*÷/=<>]|\S", m.group(0)):
        if tok[0].isdigit():
            out.append(number_piece(tok))
        elif tok in readings:
            out.append(Piece(readings[tok]))
    return out


def rules() -> list[Rule]:
    out = [
        Rule("symbol", re.compile(r"(?<=[A-Za-z])\+\+"), _constant("加加")),
        Rule(
            "equation",
            re.compile(
                r"(?<![\w.])"
                + NUM
                + r"(?:\s*[-−+×*÷/]\s*"
                + NUM
                + r"){1,8}\s*[=<>]\s*[-−]?"  # bounded: "1-1-1-..." must not cost O(n²)
                + NUM
                + r"(?:\s*[-−+×*÷/]\s*"
                + NUM
                + r"){0,8}"
            ),
            _equation,
        ),
    ]
    out.append(
        Rule(
            "power",  # x²+y²=1 x平方加y平方; a unit's m² is read by units.py before this
            re.compile(r"(?<=[A-Za-z\d)）])(?P<p>[²³])(?=\s*[-−+×*÷/=<>≤≥≠])"),
            lambda m: Piece("平方" if m.group("p") == "²" else "立方"),
        )
    )
    out.append(
        Rule(
            "key",  # a phone keypad: 按#号键 井号键, 按*键 星号键, 请按# 井号
            re.compile(r"(?:(?<=按)\s*(?P<a>[#＃*＊])|(?P<b>[#＃*＊])(?=\s*(?:号|键)))"),
            _key,
        )
    )
    per = "|".join(sorted(words("per_words.txt"), key=len, reverse=True))
    out.append(
        Rule("per", re.compile(r"(?<=[\u4e00-\u9fff])\s*/\s*(?=" + per + ")"), _constant("每"))
    )
    for sym, reading, where in (r[:3] for r in rows("symbols.tsv")):
        if where == "equation":
            continue
        if where == "math":
            pattern = (
                r"(?<="
                + _OPERAND
                + r")\s*"
                + re.escape(sym)
                + r"\s*(?=[\d零一二三四五六七八九十两A-Za-z(（])"
            )
        else:
            pattern = re.escape(sym)
        out.append(Rule("symbol", re.compile(pattern), _constant(reading)))
    return out


def _key(m: re.Match[str]) -> Replacement:
    name = "井" if (m.group("a") or m.group("b")) in "#＃" else "星"
    rest = m.string[m.end() : m.end() + 1]
    return Piece(name if rest == "号" else name + "号")


def _constant(reading: str) -> Callable[[re.Match[str]], Replacement]:
    def replace(m: re.Match[str]) -> Replacement:
        return Piece(reading)

    return replace
