"""The front end: any Unicode text (or SSML) -> an :class:`Utterance` of pinyin tokens.

Stages: SSML runs (``ssml.py``) -> clean-up (width, traditional -> simplified, emoji out;
``cleanup.py``) -> normalization by category (``normalize/``) -> words and pinyin with
polyphones, erhua and tone sandhi (``g2p.py``) -> prosodic breaks (``prosody.py``) ->
sentences and segments that fit the acoustic model (``sentences.py``).

It never raises on odd input: what it cannot read it drops and reports in
``Utterance.warnings``. It raises only for input the caller must fix: invalid SSML
(:class:`~hanvoice.errors.SSMLError`, saying where) and text over ``max_chars``
(:class:`~hanvoice.errors.TextTooLong`).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from hanvoice.errors import TextTooLong
from hanvoice.text import g2p, prosody, sentences
from hanvoice.text import ssml as markup
from hanvoice.text.buffer import Buffer
from hanvoice.text.cleanup import clean
from hanvoice.text.lexicon import Lexicon, bundled, load_user
from hanvoice.text.normalize import english, normalize, say_as
from hanvoice.text.ssml_values import MAX_BREAK
from hanvoice.text.types import Style, Token, Utterance

log = logging.getLogger(__name__)


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
    """Silence after a segment cut out of a sentence too long for one segment."""
    paragraph_pause: float = 0.5
    """Silence after a line break (a paragraph), instead of ``sentence_pause``."""
    user_lexicon: Path | None = None
    """A deployment's own word readings (``word<TAB>hang2 zhang3``), over the bundled ones."""


class Frontend:
    """Thread-safe: it holds only read-only tables (loaded lazily, once per process)."""

    def __init__(self, config: FrontendConfig | None = None) -> None:
        self.config = config or FrontendConfig()
        self._user = load_user(self.config.user_lexicon) if self.config.user_lexicon else None

    @property
    def lexicon(self) -> Lexicon:
        return self._user.over(bundled()) if self._user else bundled()

    def warm(self) -> None:
        """Load the word segmenter and tables now instead of on the first call."""
        g2p.warm()
        english.dictionary()
        self.analyze("你好，2026年。")

    def analyze(self, text: str, *, ssml: bool = False, style: Style | None = None) -> Utterance:
        cfg = self.config
        if cfg.max_chars and len(text) > cfg.max_chars:
            raise TextTooLong(f"text has {len(text)} characters; the limit is {cfg.max_chars}")
        base = style or Style()
        warnings: list[str] = []
        if ssml:
            items, ssml_warnings = markup.parse(text)
            warnings += ssml_warnings
        else:
            items = [markup.Run(text, [(i, i + 1) for i in range(len(text))], Style())]
        buf = Buffer("")
        styles: list[int] = []
        style_table: list[Style] = []
        pauses: dict[int, float] = {}
        for item in items:
            if isinstance(item, markup.Pause):
                # breaks in a row add up, to at most one break's maximum
                total = pauses.get(len(buf), 0.0) + item.seconds
                pauses[len(buf)] = min(total, MAX_BREAK)
                continue
            part = self._run(item, warnings)
            run_style = item.style.over(base)
            if run_style not in style_table:
                style_table.append(run_style)
            styles += [style_table.index(run_style)] * len(part)
            buf.extend(part)
        if not style_table:
            style_table.append(base)
        normalized = buf.text
        words = g2p.segment(normalized)
        pinyin = g2p.to_pinyin(normalized, buf.readings, words, self.lexicon, warnings)
        _unreadable(normalized, pinyin, buf.readings, warnings)
        breaks = prosody.boundaries(normalized, words, pinyin)
        tokens = tuple(
            Token(c, p, src, b)
            for c, p, src, b in zip(normalized, pinyin, buf.sources, breaks, strict=True)
        )
        layout = sentences.Layout(
            styles,
            style_table,
            pauses,
            frozenset(i for i, c in enumerate(normalized) if c == "\n"),
        )
        segments = sentences.segments(
            tokens,
            layout,
            max_syllables=cfg.max_syllables,
            sentence_pause=cfg.sentence_pause,
            clause_pause=cfg.clause_pause,
            paragraph_pause=cfg.paragraph_pause,
        )
        spans = sentences.sentence_spans(tokens)
        said = tuple(
            s for s in ("".join(t.char for t in tokens[a:b]).strip() for a, b in spans) if s
        )
        for w in warnings:
            log.info("front end: %s", w)
        return Utterance(text, normalized, tokens, segments, said, tuple(warnings))

    def _run(self, run: markup.Run, warnings: list[str]) -> Buffer:
        if run.mode == "sub":
            span = run.span
            buf = Buffer(run.arg, [span] * len(run.arg))
            cleaned, w = clean(buf.text)
            warnings += w
            cleaned.sources = [span] * len(cleaned)
            normalize(cleaned)
            return cleaned
        buf, w = clean(run.text)
        warnings += w
        buf.sources = [run.sources[a] for a, _ in buf.sources]
        if run.mode == "phoneme":
            return _phoneme(buf, run.arg)
        if run.mode == "say-as":
            say_as.apply(run.arg, buf)
            return buf
        normalize(buf)
        return buf


def _phoneme(buf: Buffer, ph: str) -> Buffer:
    """``<phoneme ph="hang2 zhang3">行长</phoneme>``: one syllable per Chinese character;
    the syllables are given to the spoken characters in order."""
    from hanvoice.errors import SSMLError

    syllables = ph.replace(",", " ").split()
    for s in syllables:
        if g2p.fit_syllable(s) is None:
            raise SSMLError(f"invalid SSML: <phoneme ph={ph!r}>: {s!r} is not a pinyin syllable")
    targets = [
        i for i, c in enumerate(buf.chars) if not c.isspace() and unicodedata.category(c)[0] in "LN"
    ]
    if len(targets) != len(syllables):
        raise SSMLError(
            f"invalid SSML: <phoneme ph={ph!r}> has {len(syllables)} syllable(s) for "
            f"{len(targets)} character(s) {buf.text!r}"
        )
    for i, s in zip(targets, syllables, strict=True):
        buf.readings[i] = g2p.fit_syllable(s)
    buf.claim_all()
    return buf


def _unreadable(
    text: str, pinyin: list[str | None], fixed: list[str | None], warnings: list[str]
) -> None:
    """Letters of scripts the voice cannot read (Cyrillic, kana ...) are silent: say so."""
    lost = [
        c
        for c, p, f in zip(text, pinyin, fixed, strict=True)
        if p is None and f is None and c.isalpha() and not g2p.is_hanzi(c)
    ]
    if lost:
        shown = "".join(dict.fromkeys(lost))[:20]
        warnings.append(f"cannot read {len(lost)} character(s) of other scripts: {shown}")


__all__ = ["Frontend", "FrontendConfig"]
