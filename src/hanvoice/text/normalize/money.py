"""Money: currency symbols and codes before or after an amount.

``"¥128.50"`` -> 一百二十八点五元, ``"$5"`` -> 五美元, ``"€20"`` -> 二十欧元,
``"1,200.50美元"`` -> 一千二百点五美元, ``"¥1.2亿"`` -> 一点二亿元. Trailing zeros of the
cents are not read (128.50 is said 一百二十八点五). Names are in ``data/text/currencies.tsv``.
"""

from __future__ import annotations

import re

from hanvoice.text.buffer import Piece, Replacement
from hanvoice.text.normalize.numbers import NUM, number_piece
from hanvoice.text.normalize.rule import Rule
from hanvoice.text.resources import table

_MAGNITUDE = r"(?P<mag>[万亿千百]+|\s?(?:k|K|m|M|bn|B)(?![A-Za-z]))?"
_MAG_READING = {"k": "千", "K": "千", "m": "百万", "M": "百万", "bn": "十亿", "B": "十亿"}
_SUFFIX_NAMES = (
    "元|块钱|块|美元|美金|欧元|英镑|日元|港元|港币|韩元|卢布|澳元|加元|人民币|角|毛|分钱"
)


def _amount(n: str) -> Piece:
    if "." in n:
        n = n.rstrip("0").rstrip(".")
    return number_piece(n.replace(",", ""), liang=True)


def _prefixed(m: re.Match[str]) -> Replacement:
    names = table("currencies.tsv")
    name = names.get(m.group("sym").upper(), names.get(m.group("sym"), "元"))
    mag = (m.group("mag") or "").strip()
    sign = [Piece("负")] if m.group("neg") else []
    return [*sign, _amount(m.group("n")), Piece(_MAG_READING.get(mag, mag) + name)]


def _suffixed(m: re.Match[str]) -> Replacement:
    names = table("currencies.tsv")
    code = m.group("code")
    name = names.get(code.upper(), code)
    mag = m.group("mag") or ""
    return [_amount(m.group("n")), Piece(_MAG_READING.get(mag.strip(), mag) + name)]


def rules() -> list[Rule]:
    names = table("currencies.tsv")
    symbols = sorted((k for k in names if not k.isalpha()), key=len, reverse=True)
    codes = sorted((k for k in names if k.isalpha()), key=len, reverse=True)
    sym = "|".join(re.escape(s) for s in symbols + codes)
    code = "|".join(re.escape(c) for c in codes)
    return [
        Rule(
            "money",
            re.compile(
                r"(?P<neg>[-−])?(?P<sym>"
                + sym
                + r")\s?(?P<n>"
                + NUM
                + r")"
                + _MAGNITUDE
                + r"(?:\s?(?:元|美元|欧元))?"
            ),
            _prefixed,
        ),
        Rule(
            "money",
            re.compile(
                r"(?<![\w.])(?P<n>"
                + NUM
                + r")\s?(?P<mag>[万亿千百]*)\s?(?P<code>"
                + code
                + r")(?![A-Za-z])"
            ),
            _suffixed,
        ),
        Rule(
            "money",
            re.compile(
                r"(?<![\w.])(?P<n>\d+(?:,\d{3})*\.\d*0)(?=\s?[万亿千百]*(?:" + _SUFFIX_NAMES + r"))"
            ),
            lambda m: _amount(m.group("n")),
        ),
    ]
