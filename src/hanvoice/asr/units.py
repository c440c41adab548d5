"""Text -> the syllables the recognition check compares: toneless pinyin with what each may
also be heard as, and where in the text it came from.

Both sides go through our own front end, so Whisper's writing choices stop mattering:
digits or numerals (``2024年`` and ``二零二四年``), traditional characters, punctuation,
Latin case and English words written in Latin or as a Chinese loan (``Google``, 谷歌: gu ge
both). Tones are dropped: Whisper base is no judge of tone, and a homophone it writes
(是 -> 市, 坐 -> 做) is not an error.

A syllable of the *text* carries the reading the front end gives it in context (the
reading the voice was asked for). A syllable *heard* carries every reading of the character
Whisper wrote: Whisper chose the character, not the reading, so 长 written for "zhang" is
zhang as well as chang. Numbers add the readings Mandarin allows either way (一 yi/yao,
二 er/liang).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from pypinyin import Style, pinyin

from hanvoice.text import Frontend
from hanvoice.text.g2p import is_hanzi

_TONE = re.compile(r"[1-5]")
_EQUIVALENT = ({"yi", "yao"}, {"er", "liang"})
"""Readings a number may take either way (幺 in phone numbers, 两 before measure words)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One syllable of a text."""

    syllable: str
    """Toneless pinyin, ``"hang"``."""
    readings: frozenset[str]
    """What this syllable may be heard as (itself included)."""
    char: str
    """The normalized character it belongs to (``"行"``; ``"Z"`` for Zoom's syllables)."""
    source: tuple[int, int]
    """The span of the original text it came from."""
    kind: str
    """``"number"`` (from digits), ``"english"`` (from Latin letters) or ``"hanzi"``."""
    others: frozenset[str] = frozenset()
    """The character's readings other than ``syllable`` (a polyphone's), for the text."""


_NUMERALS = frozenset("零〇一二三四五六七八九十百千万亿两幺点负")


def kind_of(char: str, source: str) -> str:
    """What a character of the normalized text stands for, by itself and the input it was
    made from: ``number`` (a numeral made from digits), ``english`` (a Latin letter) or
    ``hanzi``. By the character too, because a normalization rule may map its whole match
    to one span (验证码是739264: 验证码是 comes from the same span as the digits)."""
    if char in _NUMERALS and any(c.isdigit() for c in source):
        return "number"
    if char.isascii() and char.isalpha():
        return "english"
    return "hanzi"


@cache
def char_readings(char: str) -> frozenset[str]:
    """Every toneless reading a character has (pypinyin's heteronyms): 行 -> hang, xing,
    heng."""
    if not is_hanzi(char):
        return frozenset()
    found = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return frozenset(p.replace("ü", "v") for p in (found[0] if found else []))


def _with_equivalents(syllables: set[str]) -> frozenset[str]:
    for group in _EQUIVALENT:
        if syllables & group:
            syllables |= group
    return frozenset(syllables)


_DIGIT_RUN = re.compile(r"[0-9]+")
_DIGIT_NAMES = "零一二三四五六七八九"
MAX_DIGIT_RUNS = 8
"""Digit runs of a transcript tried both ways (beyond that, only as the front end reads)."""


def digit_readings(text: str) -> list[str]:
    """``text`` with one more of its digit runs spelled digit by digit each time (``"热线
    95588"`` -> ``"热线九五五八八"``), same length, so every position stays where it was.

    Whisper writes what it hears as digits whether it was said digit by digit or as a
    number (95588 said 九五五八八; 2.3 said 二点三); out of context our front end reads a
    long run as a cardinal (三万九千...). The check tries each run both ways and keeps the
    reading that fits the text better."""
    runs = list(_DIGIT_RUN.finditer(text))[:MAX_DIGIT_RUNS]
    out = []
    for m in runs:
        spelled = "".join(_DIGIT_NAMES[int(c)] for c in m.group(0))
        out.append(text[: m.start()] + spelled + text[m.end() :])
    return out


def units(text: str, frontend: Frontend, *, heard: bool, ssml: bool = False) -> list[Unit]:
    """The syllables of ``text`` in order. ``heard``: a transcript (each syllable may be any
    reading of its character); else the reference (the front end's reading)."""
    utt = frontend.analyze(text, ssml=ssml)
    out = []
    for tok in utt.tokens:
        if not tok.pinyin or tok.pinyin == "r":  # silent, or an erhua 儿 merged before
            continue
        src = text[tok.source[0] : tok.source[1]]
        kind = kind_of(tok.char, src)
        all_readings = char_readings(tok.char) if kind == "hanzi" else frozenset()
        for syl in tok.pinyin.split():
            base = _TONE.sub("", syl)
            said = {base}
            if heard and kind == "hanzi" and src == tok.char:
                said |= all_readings  # Whisper chose this character, not its reading
            out.append(
                Unit(
                    syllable=base,
                    readings=_with_equivalents(said),
                    char=tok.char,
                    source=tok.source,
                    kind=kind,
                    others=all_readings - {base} if not heard else frozenset(),
                )
            )
    return out
