"""Which code points are refused, and where the message says they are."""

from __future__ import annotations

import pytest

from hanvoice.errors import InvalidCharacter
from hanvoice.text.hygiene import check, first_invalid

CASES = [
    ("你好", None),
    ("", None),
    ("\x00\x07\t\u200b\ufeff", None),  # control and format characters: the front end's job
    ("😀\U0010fffd", None),
    ("\ud800你好", (0, "U+D800")),
    ("你好\udfff", (2, "U+DFFF")),
    ("ab\ufdd0", (2, "U+FDD0")),
    ("ab\ufdef", (2, "U+FDEF")),
    ("\ufffe", (0, "U+FFFE")),
    ("x\uffff", (1, "U+FFFF")),
    ("\U0001fffe", (0, "U+1FFFE")),
    ("\U0010ffff", (0, "U+10FFFF")),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_first_invalid(text: str, expected: tuple[int, str] | None) -> None:
    got = first_invalid(text)
    assert (got[0], got[1].split(",")[0]) == expected if got else expected is None


def test_message_names_field_and_position() -> None:
    with pytest.raises(InvalidCharacter, match=r"^emotion: character 3 \(U\+D800"):
        check("abc\ud800", "emotion")
