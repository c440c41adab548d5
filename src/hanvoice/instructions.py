"""Free-text style instructions -> the voice's controls (emotion, intensity, speed, pitch,
volume).

OpenAI's ``gpt-4o-mini-tts`` takes an ``instructions`` text ("Speak in a cheerful and
positive tone."); our voice has emotions and prosody controls, so such a text can be
honoured by rules: a table of Chinese and English cue words (``data/instructions.tsv``)
with their effects. Rules, not a model, because what was understood must be said exactly
(a response header, the log) and a wrong guess must be fixable by a table row.

How a text is read:

1. NFKC, lower case, curly apostrophes made straight.
2. One pass of a scanner: at each position the longest cue of the table that starts there
   is taken ("快乐" before "快", "不开心" before "不"), else the scanner moves on by one
   character. A cue of ASCII letters matches at a word's start only, and whole words
   unless the table writes it as a stem (``slow*``: slow, slowly, slower). Cues are looked
   up by their first character, so each position costs a dict lookup or two: no pattern
   that can backtrack, time linear in the text.
3. Clause by clause (punctuation and words like "but", "但是" end one): a negation
   ("不要", "别", "don't", "not", "less") turns every later effect of its clause around at
   half strength ("不要太快" = a little slower, speed x0.92) and rules the emotions it
   names out ("不要难过"); a degree word ("非常" x1.6, "一点" x0.5, "very", "slightly")
   scales the next effect of its clause, or the one before when none follows ("慢一点").
4. Effects add up: speed and intensity multiply, pitch (semitones) and volume (dB) add.
   The emotion named most (weighted by degree; the first on a tie) wins; its cue's degree
   scales its intensity ("非常开心" = happy at x1.6).

A text with no cue changes nothing, and :attr:`Reading.understood` says so.

>>> read("温柔一点，慢慢说").summary()
'intensity=x0.84; speed=x0.82; volume=-1.5'
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from hanvoice.synth import PITCH_RANGE, SPEED_RANGE, VOLUME_RANGE, SynthesisParams

INTENSITY_RANGE = (0.0, 2.0)
MAX_CHARS = 4096
"""Characters read (the service refuses longer instructions)."""
NEGATED = -0.5
"""What a negation does to an effect: the other way, at half strength."""
CLAUSE_ENDS = frozenset(".,;:!?\n。，、；：！？…")

Kind = Literal["effect", "negate", "degree", "break"]


@dataclass(frozen=True, slots=True)
class Effect:
    """What one cue does; the neutral element changes nothing."""

    emotion: str | None = None
    intensity: float = 1.0
    """Multiplier."""
    speed: float = 1.0
    """Multiplier (> 1 faster)."""
    pitch: float = 0.0
    """Semitones added."""
    volume: float = 0.0
    """dB added."""

    def scaled(self, k: float) -> Effect:
        """The prosody part ``k`` times as strong (``k < 0``: the other way); no emotion."""
        return Effect(None, self.intensity**k, self.speed**k, self.pitch * k, self.volume * k)


@dataclass(frozen=True, slots=True)
class Cue:
    kind: Kind
    effect: Effect = Effect()
    degree: float = 1.0


@dataclass(frozen=True, slots=True)
class CueTable:
    """The cue words, indexed by first character for the scanner."""

    cues: dict[str, Cue]
    stems: frozenset[str]
    """ASCII cues that match any word they start (written ``slow*`` in the table)."""
    lengths: dict[str, tuple[int, ...]]
    """First character -> lengths of the cues starting with it, longest first."""

    @classmethod
    def load(cls, path: Path | None = None) -> CueTable:
        if path is None:
            file = resources.files("hanvoice").joinpath("data/instructions.tsv")
            text = file.read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        cues: dict[str, Cue] = {}
        stems: set[str] = set()
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            try:
                word, spec = line.split("\t")
                key = _normalize(word.strip())
                if key.endswith("*"):
                    key = key[:-1]
                    stems.add(key)
                if not key or key in cues:
                    raise ValueError(f"empty or repeated cue {word!r}")
                cues[key] = _cue(spec.strip())
            except ValueError as exc:
                raise ValueError(f"instructions table line {n}: {exc}") from None
        by_first: dict[str, set[int]] = {}
        for key in cues:
            by_first.setdefault(key[0], set()).add(len(key))
        lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in by_first.items()}
        return cls(cues, frozenset(stems), lengths)

    def scan(self, text: str) -> Iterator[tuple[str, Cue]]:
        """The cues in ``text`` (normalized), in order, and a ``break`` at punctuation."""
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if ch in CLAUSE_ENDS:
                yield ch, Cue("break")
                i += 1
                continue
            end = self._match(text, i)
            if end is None:
                i += 1
                if _is_word(ch):  # not a cue's start: skip the rest of this word
                    while i < n and _is_word(text[i]):
                        i += 1
                continue
            word = text[i:end]
            key = word if word in self.cues else _stem_of(word, self.stems)
            yield word, self.cues[key]
            i = end

    def _match(self, text: str, i: int) -> int | None:
        """End of the longest cue starting at ``i``, or None."""
        for length in self.lengths.get(text[i], ()):
            end = i + length
            key = text[i:end]
            if end > len(text) or key not in self.cues:
                continue
            if not _is_word(key[-1]):
                return end  # a Chinese cue: any neighbours
            if key in self.stems:
                while end < len(text) and _is_word(text[end]):
                    end += 1
                return end
            if end == len(text) or not _is_word(text[end]):
                return end
        return None


def _is_word(ch: str) -> bool:
    """Part of an English word (cues of these match whole words)."""
    return ch.isascii() and (ch.isalnum() or ch in "'-")


def _stem_of(word: str, stems: frozenset[str]) -> str:
    for cut in range(len(word), 0, -1):
        if word[:cut] in stems:
            return word[:cut]
    raise KeyError(word)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _cue(spec: str) -> Cue:
    """``"emotion=happy,speed=x1.05"``, ``"negate"``, ``"degree=1.6"``, ``"break"``."""
    if spec in ("negate", "break"):
        return Cue(spec)  # type: ignore[arg-type]  # checked just above
    if spec.startswith("degree="):
        return Cue("degree", degree=_number(spec.removeprefix("degree=")))
    values: dict[str, str | float | None] = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name == "emotion" and value:
            values["emotion"] = value
        elif name in ("intensity", "speed") and value.startswith("x"):
            values[name] = _number(value[1:])
        elif name in ("pitch", "volume") and value[:1] in "+-" and value:
            values[name] = _number(value)
        else:
            raise ValueError(f"cannot read effect {part!r}")
    return Cue("effect", Effect(**values))  # type: ignore[arg-type]


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a number: {text!r}")
    return value


@dataclass(frozen=True, slots=True)
class Reading(Effect):
    """What an instruction asks for (the sum of its cues' effects, relative to the
    request's own values) and what was read."""

    ruled_out: tuple[str, ...] = ()
    """Emotions the text asks not to have ("不要难过")."""
    cues: tuple[str, ...] = ()
    """The cue words read, in order (table entries, never the rest of the text)."""
    effects: int = 0
    """How many of them ask for a change (a lone "不要" asks for none)."""

    @property
    def understood(self) -> bool:
        return self.effects > 0

    def summary(self) -> str:
        """What it changes, in ASCII for a header: ``"emotion=sad; speed=x0.85"``;
        ``"not understood; nothing changed"`` when it changes nothing."""
        parts = []
        if self.emotion:
            parts.append(f"emotion={self.emotion}")
        if self.ruled_out:
            parts.append(f"not={','.join(self.ruled_out)}")
        if round(self.intensity, 2) != 1:
            parts.append(f"intensity=x{self.intensity:.2f}")
        if round(self.speed, 2) != 1:
            parts.append(f"speed=x{self.speed:.2f}")
        if round(self.pitch, 1) != 0:
            parts.append(f"pitch={self.pitch:+.1f}")
        if round(self.volume, 1) != 0:
            parts.append(f"volume={self.volume:+.1f}")
        return "; ".join(parts) or "not understood; nothing changed"

    def apply(
        self, params: SynthesisParams, *, keep_emotion: bool, emotions: Collection[str]
    ) -> SynthesisParams:
        """``params`` with this reading on top, kept inside every control's range.

        ``keep_emotion``: the request named its emotion itself (that wins); ``emotions``:
        those the voice has (an emotion it lacks is left out; the caller reports it)."""
        emotion = params.emotion
        if not keep_emotion and self.emotion is not None and self.emotion in emotions:
            emotion = self.emotion
        return replace(
            params,
            emotion=emotion,
            intensity=_clamp(params.intensity * self.intensity, INTENSITY_RANGE),
            speed=_clamp(params.speed * self.speed, SPEED_RANGE),
            pitch=_clamp(params.pitch + self.pitch, PITCH_RANGE),
            volume=_clamp(params.volume + self.volume, VOLUME_RANGE),
        )


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return round(min(max(value, bounds[0]), bounds[1]), 4)


@dataclass(slots=True)
class _Token:
    word: str
    cue: Cue
    negated: bool = False
    degree: float | None = None


def read(text: str, table: CueTable | None = None) -> Reading:
    """The :class:`Reading` of an instruction (see the module's docstring)."""
    table = table or default_table()
    tokens = [_Token(w, c) for w, c in table.scan(_normalize(text[:MAX_CHARS]))]
    effects: list[_Token] = []
    for clause in _clauses(tokens):
        effects.extend(_resolve(clause))
    return _combine(effects, [t.word for t in tokens if t.cue.kind != "break"])


def _clauses(tokens: list[_Token]) -> Iterator[list[_Token]]:
    clause: list[_Token] = []
    for tok in tokens:
        if tok.cue.kind == "break":
            yield clause
            clause = []
        else:
            clause.append(tok)
    yield clause


def _resolve(clause: list[_Token]) -> list[_Token]:
    """The clause's effects with their negation and degree."""
    effects = [t for t in clause if t.cue.kind == "effect"]
    negated = False
    for tok in clause:
        if tok.cue.kind == "negate":
            negated = True
        elif tok.cue.kind == "effect":
            tok.negated = negated
    for i, tok in enumerate(clause):
        if tok.cue.kind != "degree":
            continue
        after = [t for t in clause[i + 1 :] if t.cue.kind == "effect" and t.degree is None]
        before = [t for t in clause[:i] if t.cue.kind == "effect" and t.degree is None]
        target = after[0] if after else (before[-1] if before else None)
        if target is not None:
            target.degree = tok.cue.degree
    return effects


def _combine(effects: list[_Token], words: list[str]) -> Reading:
    votes: dict[str, float] = {}
    strength: dict[str, float] = {}
    ruled_out: list[str] = []
    intensity, speed, pitch, volume = 1.0, 1.0, 0.0, 0.0
    for tok in effects:
        e, d = tok.cue.effect, tok.degree or 1.0
        if e.emotion is not None:
            if tok.negated:
                ruled_out.append(e.emotion)
            else:
                votes[e.emotion] = votes.get(e.emotion, 0.0) + d
                strength[e.emotion] = max(strength.get(e.emotion, 0.0), d * e.intensity)
        part = e.scaled(d * NEGATED if tok.negated else d)
        if e.emotion is None:  # an emotion's own intensity counts only if it wins
            intensity *= part.intensity
        speed *= part.speed
        pitch += part.pitch
        volume += part.volume
    emotion = None
    for name in ruled_out:
        votes.pop(name, None)
    if votes:
        emotion = max(votes, key=lambda k: votes[k])  # the first among equals
        intensity *= strength[emotion]
    return Reading(
        emotion,
        round(intensity, 4),
        round(speed, 4),
        round(pitch, 4),
        round(volume, 4),
        tuple(dict.fromkeys(ruled_out)),
        tuple(words),
        len(effects),
    )


@cache
def default_table() -> CueTable:
    """The bundled table, read once per process (it never changes while running)."""
    return CueTable.load()
