"""Digit strings read one digit at a time: phone numbers, hotlines, codes and IDs.

``"13812345678"`` -> 幺三八幺二三四五六七八, ``"400-820-8820"`` -> 四零零八二零八八二零,
``"+86 10 1234 5678"`` -> 加八六幺零幺二三四五六七八, ``"拨打110"`` -> 拨打幺幺零. A 1 is read
幺 (as in speech: it cannot be confused with 七). What counts as a number's context
(电话, 邮编, 订单号 ...) is listed in ``data/text/digit_contexts.txt``; well-known service
numbers read this way on their own (12306网站, 请打10086) in ``service_numbers.txt``.
"""

from __future__ import annotations

import re

from hanvoice.text.buffer import SILENT, Piece, Replacement
from hanvoice.text.normalize.letters import read_word, spell
from hanvoice.text.normalize.numbers import cardinal, digits
from hanvoice.text.normalize.rule import Rule
from hanvoice.text.resources import rows, words

_CALLED_AFTER = ("打", "拨", "叫", "报", "报警", "火警", "急救", "求助", "求救", "电话")
_CALLED_BEFORE = ("报警", "急救", "火警", "查号", "求助", "求救", "指挥中心", "台")
"""Where 110, 119, 120 ... are numbers to call (打110, 火警119, 110报警), not amounts."""


def _counted() -> str:
    """What makes a service number a count instead (12306人, 110米, 120路, 120km, 110平方米):
    a measure word, a unit, a Latin letter or a unit sign."""
    measures = [w.lstrip("!") for w in words("liang_measures.txt")]
    extra = ["号", "路", "平", "立方", "分", "度", "楼", "级", "码"]
    spelled = sorted({*measures, *extra}, key=len, reverse=True)
    return "|".join(map(re.escape, spelled)) + r"|[A-Za-z°℃℉%‰²³]"


_RANK = re.compile(r"\bNo\.\s*$", re.IGNORECASE)
_SHORT = re.compile(r"[1-9]\d{0,2}")


def _context(pre: str) -> list[Piece]:
    """The context before the digits, kept. Its Latin words (``No.``, ``ID``) are read
    here: once this rule has claimed them, the word rules never see them again."""
    out = []
    for part in re.split(r"([A-Za-z]+\.?)", pre):
        if part[:1].isascii() and part[:1].isalpha():
            out.append(read_word(part.rstrip(".")))
            if part.endswith("."):
                out.append(Piece(" ", [SILENT]))  # an abbreviation's dot ends no sentence
        elif part:
            out.append(Piece(part))
    return out


def _read(m: re.Match[str]) -> Replacement:
    text = m.group("num")
    out: list[Piece] = []
    if m.groupdict().get("pre"):
        out.extend(_context(m.group("pre")))
    if text.startswith("+"):
        out.append(Piece("加"))
    if _RANK.search(m.groupdict().get("pre") or "") and _SHORT.fullmatch(text):
        out.append(Piece(cardinal(text)))  # No.1 一, No.35 三十五: a rank, not a code
    else:
        out.append(digits(text, yao=True))
    return out


def _plate(m: re.Match[str]) -> Replacement:
    """A licence plate: ``"京A·12345"`` -> 京A幺二三四五 (letters spelled)."""
    out = [Piece(m.group("pre")[0]), spell(m.group("pre")[1])]
    for c in m.group("num"):
        out.append(digits(c, yao=True) if c.isdigit() else spell(c))
    return out


def rules() -> list[Rule]:
    contexts = sorted(words("digit_contexts.txt"), key=len, reverse=True)
    latin = "|".join(re.escape(c) for c in contexts if c.isascii())
    ctx = "|".join(re.escape(c) for c in contexts if not c.isascii())
    ctx += r"|(?<![A-Za-z])(?:" + latin + ")"
    sep = r"[-\s]?"
    service = sorted(rows("service_numbers.txt"), key=lambda r: len(r[0]), reverse=True)
    anywhere = [r[0] for r in service if r[1:] != ["called"]]
    called = [r[0] for r in service if r[1:] == ["called"]]
    counted = _counted()
    return [
        Rule(
            "phone",
            re.compile(
                r"(?<![\w+])(?P<num>(?:\+?86"
                + sep
                + r")?1[3-9]\d"
                + sep
                + r"\d{4}"
                + sep
                + r"\d{4})(?![\d\w])"
            ),
            _read,
        ),
        Rule(
            "phone",
            re.compile(
                r"(?<![\w+.])(?P<num>(?:\+\d{1,3}[-\s])?(?:\(0\d{2,3}\)[-\s]?|0\d{2,3}[-\s])"
                r"\d{3,4}[-\s]?\d{4}"
                r"|[4-9]00-\d{3}-\d{4}|[4-9]00\d{7})(?![\d\w])"
            ),
            _read,
        ),
        Rule(
            "plate",
            re.compile(
                r"(?P<pre>[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领]"
                r"[A-Z])[·.\s]?(?P<num>[A-Z0-9]{5,6})(?![A-Za-z0-9])"
            ),
            _plate,
        ),
        Rule(
            "service",
            re.compile(
                r"(?<![\d.,])(?P<num>"
                + "|".join(anywhere)
                + r")(?![\d.,])(?!\s*(?:"
                + counted
                + r"))"
            ),
            _read,
        ),
        Rule(
            "service",  # 110, 119, 120 ... only where they are called: 打110, 110报警
            re.compile(
                r"(?:"
                + "|".join(f"(?<={w})" for w in _CALLED_AFTER)
                + r")(?P<num>"
                + "|".join(called)
                + r")(?![\d.,])(?!\s*(?:"
                + counted
                + r"))|(?<![\d.,])(?P<num2>"
                + "|".join(called)
                + r")(?="
                + "|".join(_CALLED_BEFORE)
                + ")"
            ),
            lambda m: digits(m.group("num") or m.group("num2"), yao=True),
        ),
        Rule("room", re.compile(r"(?<![\d.])(?P<num>\d{3,4})(?=\s*(?:室|号房|房间))"), _read),
        Rule(
            "digits",
            re.compile(
                r"(?P<pre>(?:" + ctx + r")\s*(?:(?:[:：是为]|号码|号)\s*)?)"
                r"(?P<num>\+?\d(?:[\d\s-]*\d)?)(?![\d.,])"
            ),
            _read,
        ),
    ]
