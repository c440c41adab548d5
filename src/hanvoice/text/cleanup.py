"""First pass over raw input: make every character something later stages understand.

Full-width ASCII -> half-width (``"１２３ＡＢＣ"`` -> ``"123ABC"``; Chinese punctuation such
as ，。！？ is kept), traditional -> simplified (OpenCC ``t2s``: 這個軟體 -> 这个软体),
compatibility characters from ``data/text/chars.tsv`` (① -> 1, ㎏ -> kg, α -> 阿尔法),
other scripts' digits -> ASCII digits, and emoji, pictographs and control characters
removed and reported. Never raises, whatever the input.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Protocol

from hanvoice.text.buffer import Buffer
from hanvoice.text.resources import table

_KEEP_FULLWIDTH = set("！，：；？（）")
_SPACES = {"\t", "\u3000", "\xa0", "\u2002", "\u2003", "\u2009", "\u200a", "\u202f", "\u205f"}
_DROP_CATEGORIES = {"So", "Cc", "Cf", "Cs", "Co", "Cn", "Me", "Sk"}
_KEEP_SK = set("^`")


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


@cache
def _t2s() -> _Converter:
    # opencc-python-reimplemented: pure Python, loads in ~20 ms
    from opencc import OpenCC  # type: ignore[import-untyped]

    converter: _Converter = OpenCC("t2s")
    return converter


def _is_cjk(c: str) -> bool:
    o = ord(c)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2FA1F
        or 0xF900 <= o <= 0xFAFF
    )


def _char(c: str, compat: dict[str, str]) -> str | None:
    """The replacement of one character, ``None`` if it is dropped."""
    if c in compat:
        return compat[c]
    o = ord(c)
    if 0xFF01 <= o <= 0xFF5E and c not in _KEEP_FULLWIDTH:
        return chr(o - 0xFEE0)
    if c in _SPACES:
        return " "
    if c in "\r\n\u2028\u2029\x0b\x0c\x85":
        return "\n"
    cat = unicodedata.category(c)
    if cat == "Nd" and not c.isascii():
        return str(unicodedata.decimal(c, 0))
    if cat in _DROP_CATEGORIES and c not in _KEEP_SK:
        return None
    if cat == "Mn" and not _is_cjk(c):
        return ""  # a combining mark: keep its base letter, drop the mark silently
    if cat == "Zs":
        return " "
    if not c.isascii() and cat[0] in "LN" and not _is_cjk(c):
        folded = unicodedata.normalize("NFKD", c)
        folded = "".join(x for x in folded if not unicodedata.combining(x))
        if folded.isascii() and folded:
            return folded  # é -> e, 𝐀 -> A, ﬁ -> fi
    return c


def _one(converted: str, original: str) -> str:
    return converted if len(converted) == 1 else original


def clean(text: str, start: int = 0) -> tuple[Buffer, list[str]]:
    """``text`` (found at offset ``start`` of the input) -> buffer, and what was removed."""
    compat = table("chars.tsv")
    chars: list[str] = []
    sources: list[tuple[int, int]] = []
    dropped: list[str] = []
    for i, c in enumerate(text):
        out = _char(c, compat)
        if out is None:
            if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf"):
                dropped.append(c)
            continue
        for x in out:
            chars.append(x)
            sources.append((start + i, start + i + 1))
    s = "".join(chars)
    if any(_is_cjk(c) for c in s):
        simplified = _t2s().convert(s)
        if len(simplified) == len(s):
            s = simplified
        else:
            s = "".join(_one(_t2s().convert(c), c) if _is_cjk(c) else c for c in s)
    warnings = []
    if dropped:
        shown = "".join(dict.fromkeys(dropped))[:20]
        warnings.append(f"removed {len(dropped)} emoji or symbol(s) that cannot be read: {shown}")
    return Buffer(s, sources), warnings
