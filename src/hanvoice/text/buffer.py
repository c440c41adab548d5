"""The working text of the normalizer: characters that remember where they came from.

Every rule rewrites a match into new characters; each new character keeps the span of the
original input that produced it (so ``"2026"`` -> 二零二六 maps all four characters back to
the same four digits), may carry a reading fixed by the rule (a digit read one by one is
``yi1`` whatever the sandhi rules say; a Latin letter is ``"ei1"``) and is *claimed*: later
rules never rewrite it again, which keeps rules from fighting over the same text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SILENT = ""
"""A fixed reading meaning "not spoken" (a Latin letter inside a word read as a whole)."""


@dataclass(frozen=True, slots=True)
class Piece:
    """What a rule puts in place of its match."""

    text: str
    readings: Sequence[str | None] | None = None
    """One entry per character of ``text``: a fixed reading, ``SILENT``, or ``None`` to let
    the pinyin converter decide."""


Replacement = str | Piece | Sequence[Piece | str] | None
"""A rule's answer: new text, pieces, or ``None`` to leave the match alone."""


class Buffer:
    """Characters with their source spans, fixed readings and claim flags."""

    __slots__ = ("chars", "claimed", "readings", "sources")

    def __init__(self, text: str, sources: Sequence[tuple[int, int]] | None = None) -> None:
        self.chars: list[str] = list(text)
        self.sources: list[tuple[int, int]] = (
            list(sources) if sources is not None else [(i, i + 1) for i in range(len(text))]
        )
        self.readings: list[str | None] = [None] * len(text)
        self.claimed: list[bool] = [False] * len(text)

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def extend(self, other: Buffer) -> None:
        self.chars += other.chars
        self.sources += other.sources
        self.readings += other.readings
        self.claimed += other.claimed

    def slice(self, start: int, end: int) -> Buffer:
        out = Buffer("")
        out.chars = self.chars[start:end]
        out.sources = self.sources[start:end]
        out.readings = self.readings[start:end]
        out.claimed = self.claimed[start:end]
        return out

    def claim_all(self) -> None:
        self.claimed = [True] * len(self.chars)

    def sub(self, pattern: re.Pattern[str], rule: Callable[[re.Match[str]], Replacement]) -> None:
        """Replace every unclaimed match of ``pattern`` by what ``rule`` returns."""
        text = self.text
        if not pattern.search(text):
            return
        chars: list[str] = []
        sources: list[tuple[int, int]] = []
        readings: list[str | None] = []
        claimed: list[bool] = []
        pos = 0
        for m in pattern.finditer(text):
            start, end = m.span()
            if start == end or any(self.claimed[start:end]):
                continue
            out = rule(m)
            if out is None:
                continue
            pieces = _pieces(out)
            chars += self.chars[pos:start]
            sources += self.sources[pos:start]
            readings += self.readings[pos:start]
            claimed += self.claimed[pos:start]
            span = (self.sources[start][0], self.sources[end - 1][1])
            for piece in pieces:
                fixed = piece.readings or [None] * len(piece.text)
                for ch, reading in zip(piece.text, fixed, strict=True):
                    chars.append(ch)
                    sources.append(span)
                    readings.append(reading)
                    claimed.append(True)
            pos = end
        chars += self.chars[pos:]
        sources += self.sources[pos:]
        readings += self.readings[pos:]
        claimed += self.claimed[pos:]
        self.chars, self.sources, self.readings, self.claimed = chars, sources, readings, claimed


def _pieces(out: str | Piece | Sequence[Piece | str]) -> list[Piece]:
    if isinstance(out, str):
        return [Piece(out)]
    if isinstance(out, Piece):
        return [out]
    return [p if isinstance(p, Piece) else Piece(p) for p in out]
