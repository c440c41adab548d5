"""Dates, times of day and clock durations.

``"2026-11-24"``, ``"2026/11/24"``, ``"2026年11月24日"`` -> 二零二六年十一月二十四日;
``"10:30"`` -> 十点三十分; ``"下午3:45"`` -> 下午三点四十五分; ``"10:30:15"`` ->
十点三十分十五秒; ``"2020-2026年"`` -> 二零二零到二零二六年. Years are read digit by digit,
months, days, hours and minutes as cardinals (2 o'clock is 两点).
"""

from __future__ import annotations

import re

from hanvoice.text.buffer import Piece, Replacement
from hanvoice.text.normalize import context
from hanvoice.text.normalize.numbers import cardinal, digits
from hanvoice.text.normalize.rule import Rule

_PERIODS = "上午|下午|凌晨|早上|早晨|晚上|中午|傍晚|夜里|夜间|清晨|午夜|半夜|白天|今晚|明早|今早"


def _valid(month: int, day: int | None = None) -> bool:
    return 1 <= month <= 12 and (day is None or 1 <= day <= 31)


def year(s: str) -> Piece:
    """``"2026"`` -> 二零二六 (yi1 for every 一)."""
    return digits(s)


def _date(m: re.Match[str]) -> Replacement:
    y, mo, d = m.group("y"), int(m.group("m")), m.group("d")
    if not _valid(mo, int(d) if d else None):
        return None
    out: list[Piece | str] = [year(y), "年", cardinal(str(mo)) + "月"]
    if d:
        out.append(cardinal(d) + (m.group("suffix") or "日"))
    return out


def _ampm(m: re.Match[str]) -> Replacement:
    """``"5:30pm"`` -> 下午五点三十分, ``"10am"`` -> 上午十点."""
    period = "下午" if m.group("ap")[0] in "pP" else "上午"
    text = _clock(m.group("h"), m.group("mi") or "00", m.group("s"))
    return None if text is None else period + text


def _festival(m: re.Match[str]) -> Replacement:
    """A holiday named by its date: ``"5.1假期"`` -> 五一假期, ``"6.18"`` -> 六一八,
    ``"11.11"`` -> 双十一."""
    if m.group(0) == "11.11":
        return "双十一"
    return [Piece(cardinal(m.group("m"))), digits(m.group("d"))]


def _month_day(m: re.Match[str]) -> Replacement:
    mo, d = int(m.group("m")), int(m.group("d"))
    if not _valid(mo, d):
        return None
    return cardinal(str(mo)) + "月" + cardinal(str(d)) + (m.group("suffix") or "日")


def _day_month_year(m: re.Match[str]) -> Replacement:
    """Day first when the first number cannot be a month (25/12/2026), else month first."""
    a, b = int(m.group("a")), int(m.group("b"))
    mo, d = (b, a) if a > 12 >= b else (a, b)
    if not _valid(mo, d):
        return None
    return [year(m.group("y")), Piece("年" + cardinal(str(mo)) + "月" + cardinal(str(d)) + "日")]


def _bare_month_day(m: re.Match[str]) -> Replacement:
    """A month and a day with no year: zero-padded (08-08) or with a date word in its
    clause (12-25是圣诞节); never before a unit (12-25岁) nor with a sport word (3-0)."""
    text, start, end = m.string, m.start(), m.end()
    padded = m.group("m").startswith("0") or (len(m.group("d")) == 2 and m.group("d")[0] == "0")
    if context.quantity_follows(text, end) or context.is_sport(text, start, end):
        return None
    if not padded and not context.is_date_context(text, start, end):
        return None
    named = text.startswith(("日", "号"), end) or re.match(
        r"(?:(?:是|为)\s*)?\S{0,4}(?:节|日|假)", text[end : end + 12].lstrip()
    )
    dotted = m.group("sep") == "." and not padded
    if dotted and not named and not context.is_date_context(text, start, end, strong=True):
        return None  # 12.25 is a decimal unless a holiday, a day or an event names it
    return _month_day(m)


def _year_range(m: re.Match[str]) -> Replacement:
    first = [year(m.group("a")), Piece("年")] if m.group("y") else [year(m.group("a"))]
    return [*first, Piece("到"), year(m.group("b")), Piece(m.group("tail"))]


def _clock(h: str, mi: str, s: str | None) -> str | None:
    hour, minute = int(h), int(mi)
    if hour > 24 or minute > 59 or (s is not None and int(s) > 59):
        return None
    out = cardinal(str(hour), liang=True) + "点"
    if minute or s:
        out += ("零" if 0 < minute < 10 else "") + (
            cardinal(str(minute)) + "分" if minute else "零分"
        )
    if s is not None and int(s):
        out += cardinal(str(int(s))) + "秒"
    return out


def _time(m: re.Match[str]) -> Replacement:
    text = _clock(m.group("h"), m.group("mi"), m.group("s"))
    if text is None:
        return None
    period = m.group("p") or ""
    if m.group("h2") is not None:
        second = _clock(m.group("h2"), m.group("mi2"), m.group("s2"))
        if second is None:
            return None
        text += "到" + second
    return period + text


def _hours_minutes(m: re.Match[str]) -> Replacement:
    out = cardinal(m.group("h"), liang=True) + "小时"
    if m.group("mi"):
        out += cardinal(m.group("mi")) + "分钟"
    if m.group("s"):
        out += cardinal(m.group("s")) + "秒"
    return out


def rules() -> list[Rule]:
    date_sep = r"(?P<y>\d{4})(?P<sep>[-/.·])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?P<suffix>[日号])?"
    date_cn = r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*(?P<suffix>[日号]))?"
    clock = r"(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2}))?"
    clock2 = r"(?P<h2>\d{1,2})[:：](?P<mi2>\d{2})(?:[:：](?P<s2>\d{2}))?"
    return [
        Rule("date", re.compile(r"(?<![\d.])" + date_sep + r"(?![\d.]*\d)"), _date),
        Rule("date", re.compile(r"(?<![\d.])" + date_cn), _date),
        Rule(
            "date",  # 2008.08-2010.10: a range of months
            re.compile(
                r"(?<![\d.])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})\s*[-~～—–到至]\s*"
                r"(?P<y2>\d{4})(?P=sep)(?P<m2>\d{1,2})(?![\d./\-])"
            ),
            _month_range,
        ),
        Rule(
            "date",
            re.compile(
                r"(?<![\d.])(?P<y>\d{4})[-/.](?P<m>\d{1,2})(?P<d>)(?P<suffix>)(?=月|$|[^\d.\-/])"
                r"(?<=\d)(?!\s*[-~到至]\s*\d)"
            ),
            lambda m: _year_month(m),
        ),
        Rule(
            "date",  # 25/12/2026 (day first: the day is over 12), 12/25/2026, 08-08-2008
            re.compile(
                r"(?<![\d./\-])(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)"
                r"(?P<y>\d{4})(?![\d./\-])"
            ),
            _day_month_year,
        ),
        Rule(
            "date",  # 08-2008, 12/2026: a month and a year
            re.compile(r"(?<![\d./\-])(?P<m>0[1-9]|1[0-2])[-/.](?P<y>(?:19|20)\d\d)(?![\d./\-])"),
            lambda m: (
                None
                if context.quantity_follows(m.string, m.end())
                else [year(m.group("y")), Piece("年" + cardinal(m.group("m")) + "月")]
            ),
        ),
        Rule(
            "year",
            re.compile(
                r"(?<![\d.])(?P<a>\d{4})\s*(?:(?P<y>年)\s*)?(?:[-~～—–到至])\s*(?P<b>\d{4})\s*"
                r"(?P<tail>年|赛季|财年|学年|年度|届)"
            ),
            _year_range,
        ),
        Rule(
            "time",
            re.compile(
                r"(?<![\d:])(?P<h>\d{1,2})(?:[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2}))?)?\s?(?P<ap>[ap]\.?m\.?|[AP]\.?M\.?)"
                r"(?![A-Za-z])"
            ),
            _ampm,
        ),
        Rule(
            "date",  # 11/24（周一）, 12.25 星期五: a month and day when a weekday follows
            re.compile(
                r"(?<![\d./])(?P<m>1[0-2]|0?[1-9])[/.](?P<d>[0-3]?\d)(?P<suffix>)(?![\d./])"
                r"(?=\s*(?:[（(]\s*)?(?:周|星期|礼拜)[一二三四五六日天])"
            ),
            _month_day,
        ),
        Rule(
            "festival",
            re.compile(
                r"(?<![\d.])(?P<m>1[0-2]|[1-9])\.(?P<d>[1-3]?\d)(?![\d.])"
                r"(?=\s*(?:假期|节|长假|小长假|黄金周|晚会|购物节|大促|活动|当天|期间|前后|放假))"
            ),
            _festival,
        ),
        Rule(
            "year",
            re.compile(r"(?<![\d.,])(?P<y>\d{4})(?=\s*年(?!龄|纪|级|薪|均|限|头))"),
            lambda m: year(m.group("y")),
        ),
        Rule(
            "year",
            re.compile(r"(?<![\d.,])(?P<y>[12]\d{3})(?=\s*(?:届|级|款|版|赛季|财年))"),
            lambda m: year(m.group("y")),
        ),
        Rule(
            "generation",  # 80后 八零后, 00后 零零后: people born in that decade
            re.compile(r"(?<![\d.,])(?P<y>\d0)(?=后(?!来|面|天|果|悔|者|方|期|续|台|门|退))"),
            lambda m: year(m.group("y")),
        ),
        Rule(
            "date",
            re.compile(r"(?<![\d.])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*(?P<suffix>[日号])"),
            _month_day,
        ),
        Rule(
            "date",  # 12-25是圣诞节, 08/08, 08.08: a month and a day without a year
            re.compile(
                r"(?<![\d./\-:：])(?P<m>0?[1-9]|1[0-2])(?P<sep>[-/.])(?P<d>[0-3]?\d)(?P<suffix>)"
                r"(?![\d./\-:：]|\s?[-~～到至]\s?\d)"
            ),
            _bare_month_day,
        ),
        Rule(
            "date",  # 02月, 05日, 08点: a leading zero is not said
            re.compile(r"(?<![\d.])0(?P<n>[1-9])(?=\s*(?:月|日|号(?!码)|点|时(?!间)))"),
            lambda m: cardinal(m.group("n")),
        ),
        Rule(
            "duration",
            re.compile(
                r"(?<![\w.])(?P<h>\d+)\s?h\s?(?P<mi>\d+)\s?(?:min|m)(?:\s?(?P<s>\d+)\s?s)?(?![A-Za-z])"
            ),
            _hours_minutes,
        ),
        Rule(
            "time",
            re.compile(
                r"(?:(?P<p>"
                + _PERIODS
                + r")\s*)?(?<![\d.:])"
                + clock
                + r"(?:\s*(?:[-~～—–]|到|至)\s*"
                + clock2
                + r")?(?![\d:])"
            ),
            _time,
        ),
    ]


def _month_range(m: re.Match[str]) -> Replacement:
    """``2008.08-2010.10`` -> 二零零八年八月到二零一零年十月: both ends must be year-months
    by :func:`_year_month`'s test (a valid month, zero-padded or near a date word after a
    dot, no unit after: ``1999.9-2000.1元`` stays two amounts)."""
    text = m.string
    ends = [(m.group("y"), m.group("m")), (m.group("y2"), m.group("m2"))]
    if context.quantity_follows(text, m.end()) or not all(
        _is_year_month(y, mo, m.group("sep"), text, m.start(), m.end()) for y, mo in ends
    ):
        return None
    out: list[Piece | str] = []
    for y, mo in ends:
        out += [year(y), Piece("年" + cardinal(str(int(mo))) + "月"), "到"]
    return out[:-1]


def _is_year_month(y: str, mo: str, sep: str, text: str, start: int, end: int) -> bool:
    """A year and a month, not an amount: a valid month; after a dot, zero-padded in a
    year from 1900 to 2099 or with a date word near (``2026.5入职``)."""
    if not _valid(int(mo)) or len(mo) > 2:
        return False
    padded = len(mo) == 2 and 1900 <= int(y) <= 2099  # 2008.08, 2010.10
    return sep != "." or padded or context.is_date_context(text, start, end)


def _year_month(m: re.Match[str]) -> Replacement:
    """``2026-11`` is a year and a month; ``2008.08`` too (a zero-padded month), but
    ``2026.5`` only with a date word near (``2026.5入职``), and never before a unit or a
    currency (``售价1999.9元``)."""
    mo = int(m.group("m"))
    if not _valid(mo) or len(m.group("m")) > 2:
        return None
    text = m.string
    if context.quantity_follows(text, m.end()):
        return None
    padded = len(m.group("m")) == 2 and 1900 <= int(m.group("y")) <= 2099  # 2008.08, 2010.10
    if (
        m.group(0)[4] == "."
        and not padded
        and not text.startswith("月", m.end())
        and not context.is_date_context(text, m.start(), m.end())
    ):
        return None
    month = "" if text.startswith("月", m.end()) else "月"  # 2019.10月: its own 月
    return [year(m.group("y")), Piece("年" + cardinal(str(mo)) + month)]
