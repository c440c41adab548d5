"""The SSML subset: parsed into text runs (with their styles and reading modes) and pauses.

Supported (compatible with the Sambert service's emotion tag)::

    <speak>  <p>  <s>  <break time="500ms"|strength="weak">
    <prosody rate="1.2|fast|+20%" pitch="+2st|high|+10%" volume="+6dB|loud">
    <emotion category="happy" intensity="1.2">
    <say-as interpret-as="digits|cardinal|telephone|date|time|characters">
    <phoneme alphabet="pinyin" ph="hang2">行</phoneme>   <sub alias="世界卫生组织">WHO</sub>

A small scanner of our own instead of an XML library: it keeps the input offset of every
character (timestamps point into the SSML the caller sent) and says where a mistake is
(``line 3, column 14``). It never expands external entities. It reads each character a
bounded number of times (``str.find`` and a hand-written tag reader, no pattern that can
backtrack), so parsing time is linear in the input whatever the input: a request of a few
hundred bytes once froze the process for seconds through a backtracking pattern.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from hanvoice.errors import SSMLError
from hanvoice.text import ssml_values as values
from hanvoice.text.types import Style

_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);")
"""Bounded repeats: a reference is at most 10 characters, so a run of digits without its
``;`` costs a few steps, never a scan to the end of the text."""
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_STRENGTH = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7, "x-strong": 1.0}
SAY_AS = ("digits", "cardinal", "number", "telephone", "date", "time", "characters",
          "spell-out", "letters", "ordinal", "name", "address")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Run:
    """Text read one way, in one style."""

    text: str
    sources: list[tuple[int, int]]
    style: Style
    mode: str | None = None
    """``None`` (normalize as usual), ``"say-as"``, ``"phoneme"`` or ``"sub"``."""
    arg: str = ""
    """interpret-as / the pinyin / the alias."""
    span: tuple[int, int] = (0, 0)
    """The element's whole span in the input (what a ``<sub>`` alias is timed against)."""


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float
    at: int


@dataclass(slots=True)
class _Open:
    name: str
    start: int
    style: Style
    mode: str | None = None
    arg: str = ""
    text: list[str] = field(default_factory=list)
    sources: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outline:
    """What an SSML document will cost, read without parsing it (for admission)."""

    chars: int
    """Letters and digits outside tags: about what will be read aloud."""
    pauses: float
    """Seconds of ``<break>`` in all."""
    slowest: float
    """The slowest ``<prosody rate>`` in it (1.0 when none is slower)."""


_BREAK_TIME = re.compile(r"""\btime\s{0,8}=\s{0,8}["']([^"'<>]{0,32})["']""")
_BREAK_STRENGTH = re.compile(r"""\bstrength\s{0,8}=\s{0,8}["']([^"'<>]{0,32})["']""")
_RATE_VALUE = re.compile(r"""\brate\s{0,8}=\s{0,8}["']([^"'<>]{0,32})["']""")


def outline(text: str) -> Outline:
    """Characters, pauses and the slowest rate of an SSML document, in one pass of
    ``str.find`` (C speed: a 5,000-character document costs a small part of what
    :func:`parse` does). Malformed parts count as text; :func:`parse` says what is wrong."""
    chars = pauses = 0.0
    slowest = 1.0
    i = 0
    while True:
        lt = text.find("<", i)
        stop = len(text) if lt < 0 else lt
        chars += sum(1 for c in text[i:stop] if c.isalnum())
        if lt < 0:
            break
        gt = text.find(">", lt)
        if gt < 0:
            break
        tag = text[lt : gt + 1]
        i = gt + 1
        if tag.startswith("<break"):
            m = _BREAK_TIME.search(tag)
            strength = _BREAK_STRENGTH.search(tag)
            with contextlib.suppress(SSMLError):
                pauses += (
                    values.duration(m.group(1), _ignore)
                    if m
                    else _STRENGTH.get(strength.group(1) if strength else "medium", 0.0)
                )
        elif tag.startswith("<prosody") and (m := _RATE_VALUE.search(tag)):
            with contextlib.suppress(SSMLError):
                slowest = min(slowest, max(values.rate(m.group(1), _ignore), values.RATE_RANGE[0]))
    return Outline(int(chars), pauses, slowest)


def _ignore(message: str) -> SSMLError:
    return SSMLError(message)


def where(text: str, offset: int) -> str:
    """``"line 2, column 7"`` for an offset into ``text``."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {col}"


def _fail(text: str, offset: int, message: str) -> SSMLError:
    return SSMLError(f"invalid SSML at {where(text, offset)}: {message}")


def parse(text: str) -> tuple[list[Run | Pause], list[str]]:
    """SSML -> runs and pauses in reading order, and warnings (values clamped ...)."""
    warnings: list[str] = []
    out: list[Run | Pause] = []
    stack: list[_Open] = []
    seen_root = False
    implicit = not _starts_with_speak(text)
    if implicit:  # a fragment such as '<emotion category="happy">...</emotion>': wrap it
        stack.append(_Open("speak", 0, Style()))
        seen_root = True
    for kind, start, end, payload in _scan(text):
        if kind in ("text", "cdata"):
            if kind == "cdata":
                chars, sources = list(text[start:end]), [(i, i + 1) for i in range(start, end)]
            else:
                chars, sources = _decode(text, start, end)
            if not chars:
                continue
            if not stack:
                if "".join(chars).strip():
                    raise _fail(text, start, "text outside <speak>")
                continue
            top = stack[-1]
            if top.mode is not None:
                top.text += chars
                top.sources += sources
            else:
                out.append(Run("".join(chars), sources, top.style))
            continue
        closing, name, attrs, empty = payload
        if closing:
            if not stack or stack[-1].name != name:
                expected = f"</{stack[-1].name}>" if stack else "no closing tag"
                raise _fail(text, start, f"</{name}> does not match (expected {expected})")
            top = stack.pop()
            if top.mode is not None:
                if not top.text and top.mode != "sub":
                    raise _fail(text, top.start, f"<{name}> is empty")
                out.append(Run("".join(top.text), top.sources, top.style, top.mode, top.arg,
                               (top.start, end)))  # fmt: skip
            if name in ("p", "s"):
                out.append(Run("\n", [(end - 1, end)], top.style))
            continue
        if not stack and seen_root:
            raise _fail(text, start, f"<{name}> after </speak>")
        if not stack and name != "speak":
            raise _fail(text, start, f"the document must start with <speak>, not <{name}>")
        if stack and name == "speak":
            raise _fail(text, start, "<speak> inside <speak>")
        if stack and stack[-1].mode is not None:
            raise _fail(text, start, f"<{name}> inside <{stack[-1].name}>")
        seen_root = True
        style = stack[-1].style if stack else Style()
        element = _element(text, start, name, attrs, style, warnings)
        if name == "break":
            if not empty:
                raise _fail(text, start, "<break> must be empty: write <break .../>")
            assert isinstance(element, float)
            out.append(Pause(element, end))
            continue
        if isinstance(element, float):  # pragma: no cover - only break returns a float
            continue
        style, mode, arg = element
        if empty:
            if mode is not None and mode != "sub":
                raise _fail(text, start, f"<{name}/> has no text to read")
            if mode == "sub":
                out.append(Run("", [], style, mode, arg, (start, end)))
            continue
        stack.append(_Open(name, start, style, mode, arg))
    if implicit and stack and stack[0].name == "speak" and len(stack) == 1:
        stack.pop()
    if stack:
        raise _fail(text, stack[-1].start, f"<{stack[-1].name}> is never closed")
    if not seen_root:
        raise _fail(text, 0, "no <speak> element")
    return out, warnings


Tag = tuple[bool, str, dict[str, str], bool]
"""A tag read by :func:`_read_tag`: closing?, name, attributes, empty (``<x/>``)?"""


def _starts_with_speak(text: str) -> bool:
    """Does the document open with ``<speak`` (after blanks, an XML declaration and
    comments)? A fragment without it is wrapped in one."""
    i = _skip_blank(text, 0)
    if text.startswith("<?", i):
        close = text.find("?>", i + 2)
        if close < 0:
            return False
        i = _skip_blank(text, close + 2)
    while text.startswith("<!--", i):
        close = text.find("-->", i + 4)
        if close < 0:
            return False
        i = _skip_blank(text, close + 3)
    end = i + len("<speak")
    return text.startswith("<speak", i) and (end == len(text) or not _name_char(text[end]))


def _skip_blank(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _name_char(c: str) -> bool:
    return c.isalnum() or c in "_:.-"


def _read_name(text: str, i: int) -> int:
    """End of the name starting at ``i`` (``i`` itself when there is none)."""
    while i < len(text) and _name_char(text[i]):
        i += 1
    return i


def _read_tag(text: str, lt: int) -> tuple[int, Tag] | None:
    """The tag starting at ``text[lt] == "<"`` and where it ends, or ``None`` when it is not
    one: ``<`` ``/``? name (blanks name = quoted-value)* blanks ``/``? ``>``. One pass,
    every character looked at once."""
    i = lt + 1
    closing = text.startswith("/", i)
    i += closing
    if i >= len(text) or not (text[i].isascii() and text[i].isalpha()):
        return None
    end = _read_name(text, i)
    name = text[i:end]
    i = end
    attrs: dict[str, str] = {}
    while True:
        j = _skip_blank(text, i)
        if j >= len(text):
            return None
        if text[j] in "/>":
            i = j
            break
        if j == i:  # an attribute must follow a blank
            return None
        end = _read_name(text, j)
        if end == j:
            return None
        key = text[j:end]
        k = _skip_blank(text, end)
        if not text.startswith("=", k):
            return None
        k = _skip_blank(text, k + 1)
        if k >= len(text) or text[k] not in "\"'":
            return None
        quote = text[k]
        close = text.find(quote, k + 1)
        if close < 0 or "<" in text[k + 1 : close]:
            return None
        attrs.setdefault(key, text[k + 1 : close])
        i = close + 1
    empty = text.startswith("/", i)
    i += empty
    if not text.startswith(">", i):
        return None
    return i + 1, (closing, name, attrs, empty)


def _scan(text: str) -> Iterator[tuple[str, int, int, Tag]]:
    """Text stretches and tags, with their offsets; comments and the XML declaration skipped."""
    i = 0
    n = len(text)
    none: Tag = (False, "", {}, False)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            yield "text", i, n, none
            return
        if lt > i:
            yield "text", i, lt, none
        if text.startswith("<!--", lt):
            close = text.find("-->", lt + 4)
            if close < 0:
                raise _fail(text, lt, "comment is never closed")
            i = close + 3
            continue
        if text.startswith("<?", lt):
            close = text.find("?>", lt + 2)
            if close < 0:
                raise _fail(text, lt, "<? is never closed")
            i = close + 2
            continue
        if text.startswith("<![CDATA[", lt):
            close = text.find("]]>", lt)
            if close < 0:
                raise _fail(text, lt, "CDATA is never closed")
            yield "cdata", lt + 9, close, none
            i = close + 3
            continue
        if text.startswith("<!", lt):
            raise _fail(text, lt, "DOCTYPE and entity declarations are not allowed")
        tag = _read_tag(text, lt)
        if tag is None:
            gt = text.find(">", lt, lt + 40)
            snippet = text[lt : (gt + 1 if gt >= 0 else lt + 20)]
            raise _fail(text, lt, f"malformed tag {snippet!r}")
        end, (closing, name, attrs, empty) = tag
        if closing and (attrs or empty):
            raise _fail(text, lt, "a closing tag has no attributes")
        yield "tag", lt, end, (closing, name, attrs, empty)
        i = end


def _decode(text: str, start: int, end: int) -> tuple[list[str], list[tuple[int, int]]]:
    chars: list[str] = []
    sources: list[tuple[int, int]] = []
    i = start
    while i < end:
        c = text[i]
        if c == "&":
            m = _ENTITY.match(text, i, end)
            if not m:
                raise _fail(text, i, "a bare & must be written &amp;")
            name = m.group(1)
            try:
                value = _ENTITIES.get(name) or chr(
                    int(name[2:], 16) if name[1:2] == "x" else int(name[1:])
                )
            except (ValueError, OverflowError) as exc:
                raise _fail(text, i, f"bad character reference &{name};") from exc
            chars.append(value)
            sources.append((i, m.end()))
            i = m.end()
            continue
        if c == ">":
            pass  # allowed in XML text
        chars.append(c)
        sources.append((i, i + 1))
        i += 1
    return chars, sources


def _element(
    text: str, at: int, name: str, attrs: dict[str, str], style: Style, warnings: list[str]
) -> float | tuple[Style, str | None, str]:
    def bad(message: str) -> SSMLError:
        return _fail(text, at, f"<{name}>: {message}")

    if name in ("speak", "p", "s", "voice", "lang", "mark"):
        return style, None, ""
    if name == "break":
        if "time" in attrs:
            return values.duration(attrs["time"], bad)
        strength = attrs.get("strength", "medium")
        if strength not in _STRENGTH:
            raise bad(f"strength must be one of {', '.join(_STRENGTH)}, got {strength!r}")
        return _STRENGTH[strength]
    if name == "prosody":
        rate = values.rate(attrs["rate"], bad) if "rate" in attrs else None
        pitch = values.pitch(attrs["pitch"], bad) if "pitch" in attrs else None
        volume = values.volume(attrs["volume"], bad) if "volume" in attrs else None
        rate = values.clamp("rate", rate, values.RATE_RANGE, warnings)
        pitch = values.clamp("pitch", pitch, values.PITCH_RANGE, warnings)
        volume = values.clamp("volume", volume, values.VOLUME_RANGE, warnings)
        return Style(rate=rate, pitch=pitch, volume=volume).over(style), None, ""
    if name == "emotion":
        category = attrs.get("category", "").strip()
        if not category:
            raise bad('needs category="..." (happy, sad, angry ...)')
        intensity = None
        if "intensity" in attrs:
            try:
                intensity = float(attrs["intensity"])
            except ValueError as exc:
                raise bad(f"intensity must be a number, got {attrs['intensity']!r}") from exc
            if not (math.isfinite(intensity) and 0.0 <= intensity <= 2.0):
                raise bad(f"intensity must be between 0 and 2, got {attrs['intensity']!r}")
        return Style(emotion=category, intensity=intensity).over(style), None, ""
    if name == "say-as":
        kind = attrs.get("interpret-as", "")
        if kind not in SAY_AS:
            raise bad(f"interpret-as must be one of {', '.join(SAY_AS)}, got {kind!r}")
        return style, "say-as", kind
    if name == "phoneme":
        alphabet = attrs.get("alphabet", "pinyin")
        if alphabet not in ("pinyin", "py"):
            raise bad(f'only alphabet="pinyin" is supported, got {alphabet!r}')
        ph = attrs.get("ph", "").strip()
        if not ph:
            raise bad('needs ph="..." (tone3 pinyin, one syllable per character)')
        return style, "phoneme", ph
    if name == "sub":
        if "alias" not in attrs:
            raise bad('needs alias="..."')
        return style, "sub", attrs["alias"]
    raise _fail(text, at, f"unknown element <{name}>")
