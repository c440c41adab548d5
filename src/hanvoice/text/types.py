"""The contract between the text front end and the engines.

The front end turns any Unicode text (or SSML) into an :class:`Utterance`: the normalized
text, one :class:`Token` per normalized character, and the :class:`Segment` s the engine
synthesizes one at a time (and the service streams one chunk per segment).

Pinyin is written in "tone3" style: ``"hang2"``, ``"lv4"`` (ü as ``v``), tone 5 for the
neutral tone (``"de5"``). A token may carry several syllables separated by spaces (a Latin
letter read as ``"ei1 fu5"``), or the single non-syllabic ``"r"`` for an erhua 儿 that
merges into the syllable before it (花儿 -> ``hua1`` + ``r``). ``None`` means the character
is not spoken (punctuation, spaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Break(IntEnum):
    """Prosodic break after a token, from weakest to strongest.

    These mirror the Baker corpus labels the bundled voice was trained on (#0..#3), plus a
    sentence end.
    """

    NONE = 0  # inside a word
    WORD = 1  # between prosodic words
    PHRASE = 2  # between prosodic phrases
    CLAUSE = 3  # intonational phrase: comma, colon, semicolon
    SENTENCE = 4  # end of a sentence


@dataclass(frozen=True, slots=True)
class Token:
    """One character of the normalized text."""

    char: str
    """Exactly one character of ``Utterance.normalized``."""
    pinyin: str | None
    """Syllable(s) in tone3 style, ``"r"`` for a merged erhua 儿, ``None`` when silent."""
    source: tuple[int, int] = (0, 0)
    """Span ``[start, end)`` of the original input this character was produced from, so
    ``"2026"`` -> 二零二六 maps all four characters back to the same four input digits."""
    boundary: Break = Break.NONE
    """Strength of the prosodic break after this token."""

    @property
    def spoken(self) -> bool:
        return self.pinyin is not None


@dataclass(frozen=True, slots=True)
class Style:
    """Prosody overrides carried by a segment (from SSML or the request); ``None`` = inherit."""

    emotion: str | None = None
    intensity: float | None = None
    rate: float | None = None
    """Tempo multiplier, > 1 is faster (as OpenAI's ``speed``)."""
    pitch: float | None = None
    """Pitch offset in semitones."""
    volume: float | None = None
    """Gain in dB."""

    def over(self, base: Style) -> Style:
        """This style laid over ``base``: fields set here win."""
        return Style(
            emotion=self.emotion if self.emotion is not None else base.emotion,
            intensity=self.intensity if self.intensity is not None else base.intensity,
            rate=self.rate if self.rate is not None else base.rate,
            pitch=self.pitch if self.pitch is not None else base.pitch,
            volume=self.volume if self.volume is not None else base.volume,
        )


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of tokens the engine renders in one call and the stream emits as one chunk.

    The front end keeps every segment short enough for the acoustic model (see
    ``FrontendConfig.max_syllables``). A segment may hold no tokens at all: it is then a
    pure pause (an SSML ``<break>``).
    """

    tokens: tuple[Token, ...]
    start: int
    """Index of ``tokens[0]`` in ``Utterance.tokens``."""
    pause_after: float = 0.0
    """Seconds of silence after this segment (sentence pauses are longer than clause pauses)."""
    style: Style = field(default_factory=Style)

    @property
    def text(self) -> str:
        return "".join(t.char for t in self.tokens)

    @property
    def syllables(self) -> int:
        return sum(len(t.pinyin.split()) for t in self.tokens if t.pinyin and t.pinyin != "r")


@dataclass(frozen=True, slots=True)
class Utterance:
    """The front end's whole answer for one input."""

    text: str
    """The input as given."""
    normalized: str
    """What will be read, as characters; ``tokens[i].char == normalized[i]``."""
    tokens: tuple[Token, ...]
    segments: tuple[Segment, ...]
    sentences: tuple[str, ...]
    """``normalized`` split into sentences (for display and the g2p command)."""
    warnings: tuple[str, ...] = ()
    """What was dropped or guessed (emoji removed, unknown syllable replaced, ...)."""

    @property
    def speakable(self) -> bool:
        return any(t.spoken for t in self.tokens)
