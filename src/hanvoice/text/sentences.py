"""Sentences, and the segments the engine renders one at a time.

A segment is a whole sentence (commas stay inside it: the voice reads a sentence with its
#3 pauses more clearly than clause by clause), unless the sentence is longer than
``max_syllables``: then it is cut at the clause break nearest the limit, failing that at a
word break, failing that anywhere. Segments also end where the style changes (SSML
``<prosody>``/``<emotion>``) and at an SSML ``<break>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from hanvoice.text.types import Break, Segment, Style, Token, Utterance

_CLOSERS = frozenset('”’"」』)）]】》〉 \t')


@dataclass(frozen=True, slots=True)
class Layout:
    """What the front end knows beyond the tokens: styles and explicit pauses."""

    styles: Sequence[int]
    """Per token: index into ``style_table``."""
    style_table: Sequence[Style]
    pauses: dict[int, float]
    """Token index -> seconds of silence (an SSML break) before that token."""
    paragraph_ends: frozenset[int]
    """Token indexes of line breaks."""


def sentence_spans(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """``[start, end)`` token ranges of sentences, closing quotes kept with their sentence."""
    spans = []
    start = 0
    i = 0
    n = len(tokens)
    while i < n:
        if tokens[i].boundary == Break.SENTENCE:
            j = i + 1
            while (
                j < n
                and (not tokens[j].spoken)
                and (tokens[j].char in _CLOSERS or tokens[j].boundary == Break.SENTENCE)
            ):
                j += 1
            spans.append((start, j))
            start = i = j
            continue
        i += 1
    if start < n:
        spans.append((start, n))
    return spans


def _syllables(t: Token) -> int:
    return len(t.pinyin.split()) if t.pinyin and t.pinyin != "r" else 0


def _cut(tokens: Sequence[Token], start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` so no piece has more than ``limit`` syllables."""
    pieces = []
    while True:
        total = 0
        stop = end
        for i in range(start, end):
            total += _syllables(tokens[i])
            if total > limit:
                stop = i
                break
        if stop == end:
            pieces.append((start, end))
            return pieces
        cut = None
        for level in (Break.CLAUSE, Break.PHRASE, Break.WORD):
            for k in range(stop - 1, start, -1):
                if tokens[k].boundary >= level and tokens[k].spoken:
                    cut = k + 1
                    break
            if cut is not None and _spoken_before(tokens, start, cut) >= limit // 3:
                break
            cut = None
        if cut is None:
            cut = max(stop, start + 1)
        while (
            cut < end
            and not tokens[cut].spoken
            and _syllables(tokens[cut]) == 0
            and (tokens[cut].char in "，,：:；;、 " or tokens[cut].char in _CLOSERS)
        ):
            cut += 1
        pieces.append((start, cut))
        start = cut


def _spoken_before(tokens: Sequence[Token], start: int, cut: int) -> int:
    return sum(_syllables(t) for t in tokens[start:cut])


def segments(
    tokens: Sequence[Token],
    layout: Layout,
    *,
    max_syllables: int,
    sentence_pause: float,
    clause_pause: float,
    paragraph_pause: float,
) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for s_start, s_end in sentence_spans(tokens):
        runs = _runs(s_start, s_end, layout)
        for r_index, (r_start, r_end) in enumerate(runs):
            style = layout.style_table[layout.styles[r_start]] if r_end > r_start else Style()
            pause = layout.pauses.get(r_start)
            if pause:
                _pause(out, pause, r_start)
            pieces = _cut(tokens, r_start, r_end, max_syllables)
            for p_index, (p_start, p_end) in enumerate(pieces):
                last = r_index == len(runs) - 1 and p_index == len(pieces) - 1
                if last:
                    ends_paragraph = any(i in layout.paragraph_ends for i in range(p_start, p_end))
                    after = (
                        max(sentence_pause, paragraph_pause) if ends_paragraph else sentence_pause
                    )
                else:
                    after = clause_pause
                out.append(Segment(tuple(tokens[p_start:p_end]), p_start, after, style))
    end_pause = layout.pauses.get(len(tokens))
    if end_pause:
        _pause(out, end_pause, len(tokens))
    return tuple(s for s in out if (s.tokens and (s.syllables or s.pause_after)) or not s.tokens)


def _pause(out: list[Segment], seconds: float, at: int) -> None:
    out.append(Segment((), at, seconds))


def _runs(start: int, end: int, layout: Layout) -> list[tuple[int, int]]:
    """Split a sentence where the style changes or an explicit pause stands."""
    runs = []
    run_start = start
    for i in range(start + 1, end):
        if layout.styles[i] != layout.styles[i - 1] or i in layout.pauses:
            runs.append((run_start, i))
            run_start = i
    runs.append((run_start, end))
    return runs


MIN_FIRST_SYLLABLES = 4
"""Do not split off a first clause shorter than this (it would sound clipped)."""


def split_first_clause(utt: Utterance) -> Utterance:
    """Cut the first segment after its first clause break, so the first chunk is short.

    Segments are sentences; the first audio of a stream waits for the whole first sentence.
    Splitting it at its first comma lets the first bytes leave after a few syllables; the
    engine ends each segment with its own short pause, so the seam sounds like the comma.
    ``"在一个阳光明媚的早晨，小明走进了学校。"`` -> ``"在一个阳光明媚的早晨，"`` + the rest.
    """
    if not utt.segments:
        return utt
    first = utt.segments[0]
    toks = first.tokens
    syllables = 0
    for i, tok in enumerate(toks[:-1]):
        if tok.spoken:
            syllables += 1
        if tok.boundary < Break.CLAUSE or syllables < MIN_FIRST_SYLLABLES:
            continue
        cut = i + 1
        while cut < len(toks) and not toks[cut].spoken:  # the comma goes with its clause
            cut += 1
        if not any(t.spoken for t in toks[cut:]):
            return utt
        head = replace(first, tokens=toks[:cut], pause_after=0.0)
        tail = replace(first, tokens=toks[cut:], start=first.start + cut)
        return replace(utt, segments=(head, tail, *utt.segments[1:]))
    return utt
