"""Numbers: cardinals, decimals, fractions, percentages, negatives, ranges, ordinals,
versions, scores and ratios, and 两 vs 二.

The readers at the top (``cardinal``, ``decimal``, ``digits`` ...) are shared by the other
categories (dates, money, units, phone). The rules at the bottom handle the number forms
that are not tied to another category.

Examples: ``"1,000,000"`` -> 一百万, ``"-3.5"`` -> 负三点五, ``"3/4"`` -> 四分之三,
``"2个"`` -> 两个, ``"第3"`` -> 第三, ``"v2.1"`` -> v二点一, ``"3:1"`` (a score) -> 三比一.
"""

from __future__ import annotations

import re

from hanvoice.text.buffer import Piece, Replacement
from hanvoice.text.normalize import context
from hanvoice.text.normalize.rule import Rule
from hanvoice.text.resources import words

DIGIT_CHARS = "零一二三四五六七八九"
_UNITS = ("", "十", "百", "千")
_GROUPS = ("", "万", "亿", "万亿")
MAX_CARDINAL_DIGITS = 16
"""Longer integers are read digit by digit (an ID, not a quantity)."""


def is_liang(after: str) -> bool:
    """Whether a 2 followed by ``after`` is read 两: before a measure word or unit listed in
    ``data/text/liang_measures.txt`` (两个, 两公里, 两点), unless an exception listed there
    with ``!`` follows (二年级, 二等奖)."""
    listed = words("liang_measures.txt")
    after = after.lstrip()
    if any(after.startswith(w[1:]) for w in listed if w.startswith("!")):
        return False
    return any(after.startswith(w) for w in listed if not w.startswith("!"))


def digits(s: str, *, yao: bool = False) -> Piece:
    """Read a digit string one digit at a time: ``"2011"`` -> 二零一一.

    With ``yao`` a 1 is read 幺 (phone numbers, room and bus numbers). Each 一 gets the fixed
    reading ``yi1``: a digit read alone never takes the tone sandhi of 一.
    """
    text = "".join(("幺" if yao and c == "1" else DIGIT_CHARS[int(c)]) for c in s if c.isdigit())
    return Piece(text, ["yi1" if c == "一" else None for c in text])


def _group(n: int, *, leading: bool) -> str:
    """Read 0 < n < 10000; ``leading`` means no higher group precedes it."""
    s = f"{n:04d}" if not leading else str(n)
    out: list[str] = []
    zero = False
    for i, c in enumerate(s):
        d = int(c)
        place = len(s) - 1 - i
        if d == 0:
            zero = bool(out) or not leading
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGIT_CHARS[d] + _UNITS[place])
    return "".join(out)


def cardinal(s: str, *, liang: bool = False) -> str:
    """Read an integer string: ``"10010"`` -> 一万零一十, ``"15"`` -> 十五.

    ``liang``: the number counts something (a measure word follows), so a lone 2 and a
    round 200 become 两 (两个, 两百个; but 二百二十一年). A leading 2 before 千, 万 or 亿 is
    always 两 (两千, 两万).
    """
    s = s.lstrip("0") or "0"
    if s == "0":
        return "零"
    if len(s) > MAX_CARDINAL_DIGITS:
        return "".join(DIGIT_CHARS[int(c)] for c in s)
    groups = []
    rest = s
    while rest:
        groups.append(int(rest[-4:]))
        rest = rest[:-4]
    out: list[str] = []
    pending_zero = False
    for gi in range(len(groups) - 1, -1, -1):
        g = groups[gi]
        leading = not out
        if g == 0:
            pending_zero = bool(out)
            continue
        if out and (pending_zero or g < 1000):
            out.append("零")
        pending_zero = False
        text = _group(g, leading=leading)
        out.append(text + _GROUPS[gi])
    result = "".join(out)
    result = result.replace("零零", "零")
    if result.startswith("一十"):
        result = result[1:]
    if result[0] == "二" and (
        (len(result) > 1 and result[1] in "千万亿")
        or (liang and (len(result) == 1 or result == "二百"))
    ):
        result = "两" + result[1:]
    return result


def decimal(s: str, *, liang: bool = False) -> str:
    """``"3.14"`` -> 三点一四; ``"-0.5"`` -> 负零点五; integers go to :func:`cardinal`."""
    sign = ""
    if s[:1] in "-−":
        sign, s = "负", s[1:]
    s = s.replace(",", "")
    whole, _, frac = s.partition(".")
    if not frac:
        return sign + cardinal(whole, liang=liang)
    return sign + cardinal(whole or "0") + "点" + "".join(DIGIT_CHARS[int(c)] for c in frac)


def number_piece(s: str, *, liang: bool = False) -> Piece:
    """A decimal as a :class:`Piece`, with ``一`` fixed to ``yi1`` where sandhi would be
    wrong (一点五 is yi1 dian3 wu3, not the yi4 of 一点儿)."""
    text = decimal(s, liang=liang)
    readings: list[str | None] = [None] * len(text)
    for i, c in enumerate(text):
        after = text[i + 1 : i + 2]
        if c == "一" and (
            after in ("点", "") or text[i - 1 : i] == "点" or i > text.find("点") >= 0
        ):
            readings[i] = "yi1"
    return Piece(text, readings)


# ------------------------------------------------------------------------------ rules

NUM = r"\d+(?:,\d{3}){0,6}(?:\.\d+)?"
_SIGNED = r"[-−]?" + NUM
_BEFORE_NUM = r"(?<![\w.])"  # not glued to a word, a version or another number


def _is_negative_context(text: str, start: int) -> bool:
    """A minus sign is a sign (not a dash) at the start, after a space, an operator or an
    opening bracket, or after Chinese text (温度-5)."""
    if start == 0:
        return True
    prev = text[start - 1]
    return prev.isspace() or prev in "(（[【=:：,，、;；<>≈~～到至为是" or not prev.isascii()


def _fraction(m: re.Match[str]) -> Replacement:
    num, den = m.group("num"), m.group("den")
    if int(den) == 0:
        return None
    sign = "负" if m.group("sign") else ""
    return sign + cardinal(den) + "分之" + decimal(num)


def _percent(m: re.Match[str]) -> Replacement:
    a = m.group("a")
    b = m.group("b")
    mark = m.group("mark")
    word = "百分之" if mark in "%％" else "千分之" if mark == "‰" else "万分之"
    sign_a = ""
    if a[0] in "-−":
        if not _is_negative_context(m.string, m.start()):
            return None
        sign_a, a = "负", a[1:]
    out = sign_a + word + decimal(a)
    if b:
        out += "到" + word + decimal(b)
    return out


def _range(m: re.Match[str]) -> Replacement:
    a, b = m.group("a"), m.group("b")
    if a[0] in "-−" and not _is_negative_context(m.string, m.start()):
        return None
    ordinal = m.string[max(0, m.start() - 1) : m.start()] == "第"
    liang = is_liang(m.string[m.end() : m.end() + 4]) and not ordinal
    return [number_piece(a, liang=liang), Piece("到"), number_piece(b, liang=liang)]


def _ordinal(m: re.Match[str]) -> Replacement:
    """``第3`` or ``3rd``: 第 and the number, its 一 always yi1 (第一, 第十一: no sandhi)."""
    text = cardinal(m.group("n"))
    return [Piece("第"), Piece(text, ["yi1" if c == "一" else None for c in text])]


def _score(m: re.Match[str]) -> Replacement:
    return cardinal(m.group("a")) + "比" + cardinal(m.group("b"))


def _worded_range(m: re.Match[str]) -> Replacement:
    word = m.group("w")
    liang = is_liang(word)
    return [
        number_piece(m.group("a"), liang=liang),
        Piece(word + "到"),
        number_piece(m.group("b"), liang=liang),
        Piece(word),
    ]


def _signed_number(m: re.Match[str]) -> Replacement:
    s = m.group(0)
    if s[0] in "-−+":
        if not _is_negative_context(m.string, m.start()):
            return None
        if s[0] == "+":
            return [Piece("正"), number_piece(s[1:])]
    liang = is_liang(m.string[m.end() : m.end() + 4])
    whole = s.lstrip("-−").replace(",", "").partition(".")[0]
    if (
        "," not in s
        and "." not in s
        and (len(whole) > MAX_CARDINAL_DIGITS or (len(whole) > 1 and whole[0] == "0"))
    ):
        return digits(s)
    return number_piece(s, liang=liang)


def score_rule() -> Rule:
    """``"比分3:1"`` -> 比分三比一: a colon after a score word is never a clock time."""
    return Rule(
        "score",
        re.compile(
            r"(?:(?<=比分)|(?<=比分为)|(?<=比分是)|(?<=以)|(?<=战成)|(?<=比例)|(?<=比例为)"
            r"|(?<=比例是)|(?<=打成)|(?<=赢了)|(?<=输了)|(?<=大比分)|(?<=比)|(?<=战胜)"
            r"|(?<=击败)|(?<=负于)|(?<=胜))\s*(?P<a>\d{1,4})\s*[:：]\s*(?P<b>\d{1,4})(?!\d)"
        ),
        _score,
    )


_NOT_SCORE_BEFORE = re.compile(r"(?:第|编号|号|房|室|楼|层|单元|栋|版)\s*$")
_FIGURE_BEFORE = re.compile(r"(?:图|表|式|例|章|节|附录|公式|习题)\s*$")
"""``图3-2``, ``表1-1``: a numbered figure, said 图三杠二."""


def _context_score(m: re.Match[str]) -> Replacement:
    """``N-N`` or ``N:N`` that is a score by its context (see ``context.py``): never before a
    unit or a measure word (``3-5个`` is a range) nor after 图/表/第 (``图3-2``); a score with a
    sport word in its clause (``中国队3-0战胜日本``, ``湖人108:96``); a colon pair that cannot
    be a clock time (``78:96``); a dash pair that cannot be a range, the first number not
    below the second (``拉齐奥 2-2``), unless a date word makes it a date."""
    text, start, end = m.string, m.start(), m.end()
    a, b = int(m.group("a")), int(m.group("b"))
    if context.quantity_follows(text, end) or _NOT_SCORE_BEFORE.search(text[:start]):
        return None
    if m.group("sep") not in ":：" and _FIGURE_BEFORE.search(text[:start]):
        return cardinal(m.group("a")) + "杠" + cardinal(m.group("b"))
    if any(len(g) > 1 and g[0] == "0" for g in (m.group("a"), m.group("b"))):
        return None  # 08-08 is a date: a score is never zero-padded
    sport = context.is_sport(text, start, end)
    if m.group("sep") in ":：":
        clock = a <= 24 and len(m.group("b")) == 2 and b <= 59
        if clock and not sport:
            return None
    elif not sport and (a < b or context.is_date_context(text, start, end)):
        return None
    return cardinal(m.group("a")) + "比" + cardinal(m.group("b"))


def context_score_rule() -> Rule:
    """The scores :func:`score_rule`'s fixed words miss; see :func:`_context_score`."""
    return Rule(
        "score",
        re.compile(
            r"(?<![\w.:：/\-+×*÷=<>])(?P<a>\d{1,3})\s?(?P<sep>[:：\-–—])\s?(?P<b>\d{1,3})"
            r"(?![\w.:：/\-]|\s?[:：\-+×*÷=<>])"
        ),
        _context_score,
    )


def version_rule() -> Rule:
    """``"v2.1"`` -> v二点一, ``"1.2.3"`` -> 一点二点三 (runs before letters and numbers)."""
    return Rule(
        "version",
        re.compile(
            r"(?P<v>\b[vV](?:er)?\.?\s?)(?P<ver>\d+(?:\.\d+)+|\d+)\b"
            r"|(?<![\d.])(?P<ver2>\d+\.\d+\.\d+(?:\.\d+){0,4})(?![\d.])"
        ),
        _version,
    )


def rules() -> list[Rule]:
    """Rules in the order they run (after dates, times, money, units and phone numbers)."""
    return [
        Rule(
            "percent",
            re.compile(
                _BEFORE_NUM + r"(?P<a>" + _SIGNED + r")\s*(?:[%％]\s*)?(?:[-~～—–]|到|至)\s*"
                r"(?P<b>" + NUM + r")\s*(?P<mark>[%％‰‱])"
                r"|" + _BEFORE_NUM + r"(?P<a2>" + _SIGNED + r")\s*(?P<mark2>[%％‰‱])"
            ),
            lambda m: _percent_dispatch(m),
        ),
        Rule(
            "fraction",
            re.compile(
                r"(?<![\w./])(?P<sign>[-−])?(?P<num>\d+)(?P<sp> ?)/(?P=sp)(?P<den>\d+)"
                r"(?![\w/]|\.\d)"
            ),
            _fraction,
        ),
        Rule(
            "score", re.compile(r"(?<![\d:])(?P<a>\d{1,4})[:：](?P<b>\d|\d{3,})(?![\d:])"), _score
        ),
        Rule(
            "range",  # 3元~5元, 2个-3个, 3天—5天: the word said after both numbers
            re.compile(
                _BEFORE_NUM
                + r"(?P<a>"
                + NUM
                + r")(?P<w>[\u4e00-\u9fff])\s*(?:~|～|〜|—|–|-)\s*(?P<b>"
                + NUM
                + r")(?P=w)"
            ),
            _worded_range,
        ),
        Rule(
            "range",
            re.compile(
                _BEFORE_NUM
                + r"(?P<a>"
                + _SIGNED
                + r")\s*(?:~|～|—|–|-)\s*(?P<b>"
                + NUM
                + r")(?![\d.-])"
            ),
            _range,
        ),
        Rule("ordinal", re.compile(r"第\s*(?P<n>\d+)"), _ordinal),
        Rule("number", re.compile(r"(?:(?<![\w)）])[-−+])?" + NUM), _signed_number),
    ]


def _percent_dispatch(m: re.Match[str]) -> Replacement:
    if m.group("a2") is not None:
        a2, mark2 = m.group("a2"), m.group("mark2")
        word = "百分之" if mark2 in "%％" else "千分之" if mark2 == "‰" else "万分之"
        if a2[0] in "-−":
            if not _is_negative_context(m.string, m.start()):
                return word + decimal(a2[1:])
            return "负" + word + decimal(a2[1:])
        return word + decimal(a2)
    return _percent(m)


def _version(m: re.Match[str]) -> Replacement:
    ver = m.group("ver") or m.group("ver2")
    prefix = m.group("v") or ""
    out: list[Piece] = [Piece(prefix)] if prefix else []
    parts = ver.split(".")
    if not prefix and len(parts) == 4 and all(int(p) <= 255 for p in parts):
        for i, p in enumerate(parts):  # an IPv4 address: 127.0.0.1 一二七点零点零点一
            out += [Piece("点")] if i else []
            out.append(digits(p))
        return out
    for i, p in enumerate(ver.split(".")):
        if i:
            out.append(Piece("点"))
        text = (
            cardinal(p)
            if len(p) <= 3 and not (len(p) > 1 and p.startswith("0"))
            else digits(p).text
        )
        out.append(Piece(text, ["yi1" if c == "一" else None for c in text]))
    return out


def suffix_ordinal_rule() -> Rule:
    """``1st`` 第一, ``22nd`` 第二十二 (before the letter rules, which would spell st)."""
    return Rule(
        "ordinal",
        re.compile(r"(?<![\w.第])(?P<n>\d+)(?:st|nd|rd|th)(?![A-Za-z])"),
        _ordinal,
    )
