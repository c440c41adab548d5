"""Front end entry point (a first, simple version; see issue #3 for the full one).

It normalizes width, reads digits one by one, spells Latin letters, converts to pinyin with
pypinyin's phrase dictionary, marks word boundaries from jieba and splits into segments
that fit the acoustic model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from hanvoice.errors import TextTooLong
from hanvoice.text.types import Break, Segment, Style, Token, Utterance

_DIGITS = "零一二三四五六七八九"
_SENTENCE_END = set("。！？!?；;\n")
_CLAUSE = set("，,、：:")


@dataclass(frozen=True, slots=True)
class FrontendConfig:
    max_syllables: int = 60
    """Longest segment in syllables; at speed 0.5 this stays under the acoustic model's
    2048-frame limit (about 25 s of audio)."""
    max_chars: int = 0
    """Reject longer input with TextTooLong; 0 = no limit (the CLI reads whole books)."""
    sentence_pause: float = 0.25
    """Silence added after a sentence, the last one included (a tail keeps players and
    lossy encoders from clipping the final syllable). Engines already end each segment with
    their own short natural pause (the bundled voice: 0.1-0.3 s)."""
    clause_pause: float = 0.0
    paragraph_pause: float = 0.25
    user_lexicon: Path | None = None


class Frontend:
    def __init__(self, config: FrontendConfig | None = None) -> None:
        self.config = config or FrontendConfig()

    def analyze(self, text: str, *, ssml: bool = False, style: Style | None = None) -> Utterance:
        cfg = self.config
        if cfg.max_chars and len(text) > cfg.max_chars:
            raise TextTooLong(f"text has {len(text)} characters; the limit is {cfg.max_chars}")
        chars, sources = _normalize(text)
        normalized = "".join(chars)
        tokens = _tokens(normalized, sources)
        segments = _segment(tokens, cfg, style or Style())
        sentences = tuple(s for s in re.split(r"(?<=[。！？!?；;\n])", normalized) if s.strip())
        return Utterance(text, normalized, tuple(tokens), segments, sentences)


def _normalize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    chars: list[str] = []
    sources: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if c.isdigit() and c in "0123456789":
                c = _DIGITS[int(c)]
            cat = unicodedata.category(c)
            if cat.startswith("C") and c != "\n":
                continue
            if cat == "So":
                continue
            chars.append(c)
            sources.append((i, i + 1))
    return chars, sources


def _tokens(normalized: str, sources: list[tuple[int, int]]) -> list[Token]:
    import jieba
    from pypinyin import Style as PyStyle
    from pypinyin import pinyin

    jieba.setLogLevel(60)
    out: list[Token] = []
    pos = 0
    for word in jieba.cut(normalized, HMM=False):
        if re.fullmatch(r"[\u4e00-\u9fff]+", word):
            pys = [p[0] for p in pinyin(word, style=PyStyle.TONE3, neutral_tone_with_five=True)]
        elif re.fullmatch(r"[A-Za-z]+", word):
            pys = [_LETTERS.get(c.upper()) for c in word]  # type: ignore[misc]
        else:
            pys = [None] * len(word)
        for j, (c, p) in enumerate(zip(word, pys, strict=True)):
            last = j == len(word) - 1
            boundary = Break.NONE
            if last:
                boundary = Break.WORD
            out.append(Token(c, p, sources[pos + j], boundary))
        pos += len(word)
    # punctuation strengthens the break of the spoken token before it
    for i, t in enumerate(out):
        if t.char in _CLAUSE or t.char in _SENTENCE_END:
            level = Break.SENTENCE if t.char in _SENTENCE_END else Break.CLAUSE
            for k in range(i - 1, -1, -1):
                if out[k].spoken:
                    if out[k].boundary < level:
                        out[k] = Token(out[k].char, out[k].pinyin, out[k].source, level)
                    break
    return out


def _segment(tokens: list[Token], cfg: FrontendConfig, style: Style) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    start = 0
    syll = 0
    last_clause = -1
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.pinyin:
            syll += len(t.pinyin.split())
        if t.boundary >= Break.CLAUSE:
            last_clause = i
        end_here = t.boundary == Break.SENTENCE
        if not end_here and syll > cfg.max_syllables:
            cut = last_clause if last_clause >= start else _last_word(tokens, start, i)
            segments.append(Segment(tuple(tokens[start : cut + 1]), start, cfg.clause_pause, style))
            start = cut + 1
            syll = sum(len(x.pinyin.split()) for x in tokens[start : i + 1] if x.pinyin)
            i += 1
            continue
        if end_here:
            j = i + 1
            while j < len(tokens) and not tokens[j].spoken:
                j += 1
            segments.append(Segment(tuple(tokens[start:j]), start, cfg.sentence_pause, style))
            start, syll, i = j, 0, j
            continue
        i += 1
    if start < len(tokens):
        segments.append(Segment(tuple(tokens[start:]), start, cfg.sentence_pause, style))
    return tuple(s for s in segments if s.syllables or s.pause_after)


def _last_word(tokens: list[Token], start: int, i: int) -> int:
    for k in range(i - 1, start, -1):
        if tokens[k].boundary >= Break.WORD:
            return k
    return max(start, i - 1)


_LETTERS = {
    "A": "ei1", "B": "bi4", "C": "xi1", "D": "di4", "E": "yi4", "F": "ai2 fu5",
    "G": "ji4", "H": "ai2 qi1", "I": "ai4", "J": "jie4", "K": "kai4", "L": "ai2 lu5",
    "M": "ai2 mu5", "N": "en1", "O": "ou1", "P": "pi4", "Q": "kou1", "R": "a4",
    "S": "ai2 si1", "T": "ti4", "U": "you1", "V": "wei1", "W": "da2 bu5 liu5",
    "X": "ai2 ke4 si1", "Y": "wai4", "Z": "zei4",
}  # fmt: skip
