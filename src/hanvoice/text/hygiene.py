"""Is this text Unicode we can keep? Lone surrogates and non-characters are refused.

A JSON string may carry ``"\\ud800"`` (an escape for half of a UTF-16 pair) and a command
line may carry undecodable bytes (Python keeps them as lone surrogates): neither is a
character. They cannot be encoded as UTF-8 (a cache key, a log line, a response header would
fail deep inside the service: a 500), and they mean nothing to speak. Non-characters
(U+FDD0..U+FDEF and the last two code points of every plane) are reserved for a program's
internal use and never belong in interchanged text. Everything else, control characters
included, is text the front end reads or drops itself.

>>> first_invalid("你好\\ud800")
(2, 'U+D800, half of a surrogate pair')
>>> first_invalid("你好") is None
True
"""

from __future__ import annotations

import re

from hanvoice.errors import InvalidCharacter

_NOT_CHARACTERS = re.compile(
    "[\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(p << 16 | 0xFFFE)}{chr(p << 16 | 0xFFFF)}" for p in range(17))
    + "]"
)
"""One character class (no repeat): a search is one linear pass in C."""


def first_invalid(text: str) -> tuple[int, str] | None:
    """Index and description of the first code point that is not a character, or ``None``."""
    m = _NOT_CHARACTERS.search(text)
    if m is None:
        return None
    code = ord(m.group())
    kind = "half of a surrogate pair" if 0xD800 <= code <= 0xDFFF else "a non-character"
    return m.start(), f"U+{code:04X}, {kind}"


def check(text: str, field: str = "text") -> str:
    """``text`` itself, or :class:`InvalidCharacter` naming the field and the position."""
    bad = first_invalid(text)
    if bad is not None:
        index, why = bad
        raise InvalidCharacter(
            f"{field}: character {index} ({why}) is not allowed; send valid Unicode text"
        )
    return text
