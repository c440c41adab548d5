"""Does this transcript say this text? Syllables aligned, differences judged by what they are.

Both texts become toneless syllables (:mod:`.units`), aligned by a weighted edit distance
(a substitution costs the syllables' :func:`~.phonetic.distance`, or nothing when the heard
character may be read as the text's syllable; a syllable left out or added costs
:attr:`Tolerance.gap`). Runs of differing syllables are *regions*, and each is judged by
what the text says there, strictest first:

- **number** (syllables from digits): any difference. Whisper base writes numbers reliably
  (in digits, which our front end reads back), and 45 vs 46 minutes is a wrong prompt.
- **english** (syllables from Latin letters): Whisper's own transliteration of a word
  differs from ours in a syllable or two (Dropbox: de rao pu ... / de jiao pu ...), a word
  spelled letter by letter adds several: flagged from :attr:`Tolerance.english`.
- **polyphone**: a syllable heard as *another reading of the text's character* (音乐
  heard as 伊勒 yi le; 方便 as 旁边 pang bian) is flagged however close it sounds: it is the
  one way a misread polyphone shows, since Whisper writes the text's own character for
  either reading (行长 for hang zhang or xing zhang) and then nothing can be told.
- **missing**: :attr:`Tolerance.missing` syllables or more of the text not heard.
- **other**: any other region costing :attr:`Tolerance.other` or more: a substituted word
  (猫 -> 狗 costs 1.0) but not one near miss (辅 路 -> 幅度: 0.5) nor two (0.5 + 0.25).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hanvoice.asr.phonetic import distance
from hanvoice.asr.units import Unit

CATEGORIES = ("number", "english", "polyphone", "missing", "other")
POLYPHONE_MIN = 0.5
"""A syllable heard as another reading of a polyphone counts only when it is not a near miss
of one part (次 ci heard as 资 zi, a rare reading of 次, is Whisper mishearing c as z)."""


@dataclass(frozen=True, slots=True)
class Tolerance:
    """What the check lets pass; the defaults are measured (``bench/check_asr.py``)."""

    gap: float = 0.75
    """Cost of a syllable left out or added (a lone one is a near miss, not a word)."""
    other: float = 1.0
    """Cost from which a region is a wrong word."""
    missing: int = 2
    """Syllables of the text left out, net, from which a region is missing speech."""
    english: float = 1.25
    """Cost from which a region over an English word is flagged."""


@dataclass(frozen=True, slots=True)
class Flag:
    """One place where the audio does not say the text."""

    start: int
    end: int
    """The span of the reference text (``[start, end)``, characters of the input)."""
    expected: str
    """The reference text there."""
    heard: str
    """The transcript there ("" when nothing was heard)."""
    category: str
    """number, english, polyphone, missing or other."""
    heard_start: int = 0
    heard_end: int = 0
    """The span of the transcript."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "span": [self.start, self.end],
            "expected": self.expected,
            "heard": self.heard,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True, eq=False)
class _Op:
    ref: Unit | None
    hyp: Unit | None
    cost: float

    @property
    def polyphone(self) -> bool:
        """The heard syllable is another reading of the text's character."""
        return (
            self.ref is not None
            and self.hyp is not None
            and self.cost >= POLYPHONE_MIN
            and bool(self.ref.others & self.hyp.readings)
        )


def _sub(ref: Unit, hyp: Unit) -> float:
    if ref.readings & hyp.readings:
        return 0.0
    return min(distance(r, h) for r in ref.readings for h in hyp.readings)


def align(ref: list[Unit], hyp: list[Unit], gap: float) -> list[_Op]:
    """The cheapest alignment (edit distance with those costs), in text order."""
    n, m = len(ref), len(hyp)
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = i * gap
    for j in range(1, m + 1):
        cost[0][j] = j * gap
    for i in range(1, n + 1):
        row, prev, r = cost[i], cost[i - 1], ref[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + _sub(r, hyp[j - 1]), prev[j] + gap, row[j - 1] + gap)
    ops: list[_Op] = []
    i, j = n, m
    while i or j:
        if i and j:
            c = _sub(ref[i - 1], hyp[j - 1])
            if abs(cost[i][j] - (cost[i - 1][j - 1] + c)) < 1e-9:
                ops.append(_Op(ref[i - 1], hyp[j - 1], c))
                i, j = i - 1, j - 1
                continue
        if i and abs(cost[i][j] - (cost[i - 1][j] + gap)) < 1e-9:
            ops.append(_Op(ref[i - 1], None, gap))
            i -= 1
        else:
            ops.append(_Op(None, hyp[j - 1], gap))
            j -= 1
    ops.reverse()
    return ops


def distance_of(ref: list[Unit], hyp: list[Unit], tol: Tolerance) -> float:
    """The cost of the cheapest alignment."""
    return sum(op.cost for op in align(ref, hyp, tol.gap))


def regions(ops: list[_Op]) -> list[list[_Op]]:
    """Maximal runs of operations that differ."""
    out: list[list[_Op]] = []
    run: list[_Op] = []
    for op in ops:
        if op.cost > 0:
            run.append(op)
        elif run:
            out.append(run)
            run = []
    if run:
        out.append(run)
    return out


def judge(region: list[_Op], tol: Tolerance, beside: frozenset[str] = frozenset()) -> str | None:
    """The region's category, or ``None`` when it is within tolerance. ``beside``: the kinds
    of the text's syllables on either side (a syllable added to a number, 二十 heard as
    二十一, is a wrong number)."""
    refs = [op.ref for op in region if op.ref is not None]
    kinds = {u.kind for u in refs} | (set(beside) if len(refs) < len(region) else set())
    total = sum(op.cost for op in region)
    if "number" in kinds:
        return "number"
    if "english" in kinds:
        return "english" if total >= tol.english else None
    if any(op.polyphone for op in region):
        return "polyphone"
    lost = len(refs) - sum(op.hyp is not None for op in region)
    if lost >= tol.missing and total >= tol.other:
        return "missing"
    return "other" if total >= tol.other else None


def compare(
    reference: str,
    ref: list[Unit],
    transcript: str,
    hyp: list[Unit],
    tol: Tolerance | None = None,
) -> list[Flag]:
    """The flags for a transcript ``hyp`` of audio meant to say ``ref`` (the units of
    ``reference`` and ``transcript``)."""
    tol = tol or Tolerance()
    ops = align(ref, hyp, tol.gap)
    flags: list[Flag] = []
    for region in regions(ops):
        category = judge(region, tol, _beside(region, ops))
        if category is None:
            continue
        start, end = _span(region, ops, len(reference), lambda op: op.ref)
        h0, h1 = _span(region, ops, len(transcript), lambda op: op.hyp)
        if flags and flags[-1].category == category and start < flags[-1].end:
            last = flags.pop()  # two regions inside one token (a digit run): one flag
            start, end, h0 = last.start, max(end, last.end), min(h0, last.heard_start)
            h1 = max(h1, last.heard_end)
        heard = transcript[h0:h1] if h1 > h0 else ""
        flags.append(Flag(start, end, reference[start:end], heard, category, h0, h1))
    return flags


def _beside(region: list[_Op], ops: list[_Op]) -> frozenset[str]:
    """The kinds of the text's syllables just before and just after ``region``."""
    first, last = ops.index(region[0]), ops.index(region[-1])
    out = set()
    for k in (first - 1, last + 1):
        if 0 <= k < len(ops) and ops[k].ref is not None:
            out.add(ops[k].ref.kind)  # type: ignore[union-attr]
    return frozenset(out)


def _span(region: list[_Op], ops: list[_Op], size: int, side: Any) -> tuple[int, int]:
    """Where the region lies on one side: its units' sources, or (nothing there) the empty
    span where the next unit of that side starts."""
    spans = [side(op).source for op in region if side(op) is not None]
    if spans:
        return min(s[0] for s in spans), max(s[1] for s in spans)
    after = ops[ops.index(region[-1]) + 1 :]
    nxt = next((side(op).source[0] for op in after if side(op) is not None), size)
    return nxt, nxt
