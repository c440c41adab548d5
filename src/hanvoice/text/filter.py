"""Content filter on what will be spoken: the front end's reading, not the request's text.

A filter that reads the request is talked past: a filler character between a word's
characters (Hangul filler, a Cyrillic letter: not spoken), a variant character, a
homophone, digits read as the word's numerals, an English name the word table turns into
the word (Facebook -> 脸书), the word split across SSML tags or ``<sub alias>`` pieces,
``<phoneme>`` readings laid over innocent characters, character references (``&#31080;``).
Every one of those is resolved by the front end before a sound is made, so the filter
reads its :class:`~hanvoice.text.types.Utterance`: the spoken tokens only, in order, each
with the character it stands for and the syllables it will be read as.

A word matches in two ways, and a list says which (``sound``, on by default):

- by characters: the spoken characters, folded (NFKC: full width to half, case-folded,
  traditional to simplified per ``data/t2s_chars.txt``), against the folded word;
- by sound: the spoken syllables without tones against the word's own reading (as the
  front end reads the word), so homophones and ``<phoneme>`` match. Everyday words that
  merely sound alike are not matches: a sound match inside one dictionary word of the text
  (学习 is not 血洗, 百分之 not 白粉), across a comma, over part of an English word, of one
  syllable only, or inside a word of an ``allow`` list (``data/text/filter_allow.txt`` holds
  the collisions measured on the bench sentences).

``reject`` raises :class:`~hanvoice.errors.ContentRejected` naming the categories only
(never the word: error bodies and logs must not repeat it); ``mask`` silences exactly the
matched tokens. Word lists are YAML/JSON ``{category: [word, ...]}`` (or ``{category:
{words: [...], sound: false, allow: [...]}}``) or text with one ``category<TAB>word`` (or
bare ``word``) per line, ``#`` for comments.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import ahocorasick
import yaml

from hanvoice.errors import ContentRejected, InvalidParameter
from hanvoice.text.frontend import Frontend
from hanvoice.text.segmenter import Word, segment
from hanvoice.text.types import Break, Token, Utterance

Policy = Literal["reject", "mask"]
DEFAULT_CATEGORY = "default"
MIN_SOUND_SYLLABLES = 2
"""Shorter words match by characters only: one syllable sounds like dozens of everyday
characters ("whore" read huo: 活, 火, 获, 货 ...)."""


@cache
def _t2s() -> dict[str, str]:
    table = resources.files("hanvoice.data").joinpath("t2s_chars.txt").read_text("utf-8")
    out = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            trad, simp = line.split(" ")
            out[trad] = simp
    return out


@cache
def common_collisions() -> tuple[str, ...]:
    """Everyday words that sound like listed words (measured on the bench sentences)."""
    path = resources.files("hanvoice.data").joinpath("text/filter_allow.txt")
    return tuple(
        w.strip() for w in path.read_text("utf-8").splitlines() if w.strip() and w[0] != "#"
    )


def fold(text: str) -> str:
    """Characters as the filter compares them: ``"法輪ＦＯ"`` -> ``"法轮fo"`` (one
    character in, one out, so positions stay)."""
    t2s = _t2s()
    out = []
    for ch in text:
        c = unicodedata.normalize("NFKC", ch).casefold()[:1] or ch
        out.append(t2s.get(c, c))
    return "".join(out)


def _toneless(pinyin: str) -> list[str]:
    """``"hang2"`` -> ``["hang"]``, ``"ei1 fu5"`` -> ``["ei", "fu"]``; erhua ``"r"`` -> []."""
    return [s.rstrip("012345") for s in pinyin.split() if s != "r"]


class _Syllables:
    """Toneless syllables as single characters (private use area), so word lists of
    syllables go through the same Aho-Corasick automaton as characters."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}

    def code(self, syllable: str) -> str:
        if syllable not in self._codes:
            self._codes[syllable] = chr(0xF0000 + len(self._codes))
        return self._codes[syllable]

    def encode(self, syllables: Iterable[str]) -> str:
        return "".join(self.code(s) for s in syllables)


@dataclass(frozen=True, slots=True)
class Spoken:
    """What an utterance says: its spoken tokens' folded characters and toneless
    syllables, each mapped back to the token it came from.

    A word in Latin letters is one unit, with a boundary mark either side (``\x01kill\x01``),
    so "kill" matches the word and not "skill"; its letters count whole even where the
    reading sounds only some of them. Latin words next to each other with only blanks or
    symbols between them are also given once more as one run of letters between other marks
    (``\x02freemoney\x02`` for "f-r-e-e m.o.n.e.y"), for a listed word written as one."""

    chars: str
    char_token: tuple[int, ...]
    sounds: str
    sound_token: tuple[int, ...]
    latin: tuple[tuple[int, int], ...] = ()
    """Token spans of the Latin words."""


BOUNDARY = "\x01"
GROUP = "\x02"


def _is_latin(c: str) -> bool:
    c = fold(c)
    return c.isascii() and c.isalpha()


def spoken(utt: Utterance, codes: _Syllables) -> Spoken:
    chars: list[str] = []
    char_token: list[int] = []
    sounds: list[str] = []
    sound_token: list[int] = []
    latin: list[tuple[int, int]] = []
    tokens = utt.tokens
    i = 0
    while i < len(tokens):
        if _is_latin(tokens[i].char):
            j = i
            while j < len(tokens) and _is_latin(tokens[j].char):
                j += 1
            if any(t.pinyin is not None for t in tokens[i:j]):
                latin.append((i, j))
                word = [fold(t.char) for t in tokens[i:j]]
                chars += [BOUNDARY, *word, BOUNDARY]
                char_token += [i, *range(i, j), j - 1]
                for k in range(i, j):
                    for syl in _toneless(tokens[k].pinyin or ""):
                        sounds.append(codes.code(syl))
                        sound_token.append(k)
            i = j
            continue
        tok = tokens[i]
        if tok.pinyin is not None:
            chars.append(fold(tok.char))
            char_token.append(i)
            for syl in _toneless(tok.pinyin):
                sounds.append(codes.code(syl))
                sound_token.append(i)
        i += 1
    for group in _groups(latin, tokens):
        letters = [k for a, b in group for k in range(a, b)]
        chars += [GROUP, *(fold(tokens[k].char) for k in letters), GROUP]
        char_token += [letters[0], *letters, letters[-1]]
    return Spoken(
        "".join(chars), tuple(char_token), "".join(sounds), tuple(sound_token), tuple(latin)
    )


def _groups(latin: list[tuple[int, int]], tokens: tuple[Token, ...]) -> list[list[tuple[int, int]]]:
    """Latin words with nothing spoken between them (blanks, hyphens, dots)."""
    out: list[list[tuple[int, int]]] = []
    for span in latin:
        if out and all(t.pinyin is None for t in tokens[out[-1][-1][1] : span[0]]):
            out[-1].append(span)
        else:
            out.append([span])
    return out


def _straddles(start: int, stop: int, words: list[Word]) -> bool:
    """Does ``[start, stop)`` begin inside one word and end inside another? Such syllables
    are the tail of one word and the head of the next, which the listener hears apart."""
    first = next((w for w in words if w.start < start < w.end), None)
    last = next((w for w in words if w.start < stop < w.end), None)
    return first is not None and last is not None and first != last


def _cuts_a_word(first: int, last: int, said: Spoken) -> bool:
    """Do syllables ``first..last`` take part of a Latin word's reading, not all of it?"""
    for a, b in said.latin:
        word = [k for k, t in enumerate(said.sound_token) if a <= t < b]
        inside = [k for k in word if first <= k <= last]
        if inside and len(inside) < len(word):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Match:
    category: str
    start: int
    """Token span ``[start, end)`` in ``Utterance.tokens``."""
    end: int
    by: Literal["chars", "sound"]


@dataclass(frozen=True, slots=True)
class Filtered:
    utterance: Utterance
    """What to speak (the matched tokens silenced under ``mask``)."""
    categories: tuple[str, ...] = ()
    """Categories that matched, sorted; empty when the text is clean."""


@dataclass
class _Automaton:
    auto: Any = field(default_factory=ahocorasick.Automaton)
    size: int = 0

    def add(self, key: str, value: tuple[str, int]) -> None:
        if key:
            self.auto.add_word(key, value)
            self.size += 1

    def done(self) -> None:
        if self.size:
            self.auto.make_automaton()

    def iter(self, text: str) -> Iterable[tuple[int, tuple[str, int]]]:
        return self.auto.iter(text) if self.size and text else ()


class ContentFilter:
    """Build once per word list (reading each word and building the automata is the costly
    part), then share between threads: matching only reads."""

    def __init__(
        self,
        words: Mapping[str, Iterable[str]],
        policy: Policy = "reject",
        *,
        sound: bool | Mapping[str, bool] = True,
        allow: Iterable[str] = (),
        frontend: Frontend | None = None,
    ) -> None:
        if policy not in ("reject", "mask"):
            raise InvalidParameter(f"filter policy must be reject or mask, got {policy!r}")
        self.policy: Policy = policy
        self._frontend = frontend = frontend or Frontend()
        self._codes = _Syllables()
        self._chars = _Automaton()
        self._sounds = _Automaton()
        self._allow = _Automaton()
        self.size = 0
        digest = hashlib.sha256()
        for category, items in sorted(words.items()):
            by_sound = sound if isinstance(sound, bool) else sound.get(category, True)
            for word in items:
                word = str(word)
                utt = frontend.analyze(word)
                said = spoken(utt, self._codes)
                if not said.chars:
                    continue
                main, _, run = said.chars.partition(GROUP)
                self._chars.add(main, (str(category), len(main)))
                if run and main.replace(BOUNDARY, "").isascii():  # Latin only: also as a run
                    self._chars.add(GROUP + run, (str(category), len(run) + 1))
                if by_sound and len(said.sounds) >= MIN_SOUND_SYLLABLES:
                    self._sounds.add(said.sounds, (str(category), len(said.sounds)))
                self.size += 1
                digest.update(f"{category}\t{word}\t{by_sound}\n".encode())
        for word in (*common_collisions(), *allow):
            said = spoken(frontend.analyze(word), self._codes)
            self._allow.add(said.chars, ("allow", len(said.chars)))
            digest.update(f"allow\t{word}\n".encode())
        for a in (self._chars, self._sounds, self._allow):
            a.done()
        self.version = f"{policy}:{digest.hexdigest()[:16]}" if self.size else ""
        """Changes with the words, their options and the policy: part of the cache key."""

    @property
    def active(self) -> bool:
        return self.size > 0

    def find(self, utt: Utterance) -> list[Match]:
        if not self.size:
            return []
        said = spoken(utt, self._codes)
        out = [
            Match(cat, said.char_token[end - n + 1], said.char_token[end] + 1, "chars")
            for end, (cat, n) in self._chars.iter(said.chars)
        ]
        allowed = [
            (said.char_token[end - n + 1], said.char_token[end] + 1)
            for end, (_, n) in self._allow.iter(said.chars)
        ]
        words: list[Word] | None = None  # the text's words, if a sound match needs them
        for end, (cat, n) in self._sounds.iter(said.sounds):
            start, stop = said.sound_token[end - n + 1], said.sound_token[end] + 1
            if any(a <= start and stop <= b for a, b in allowed):
                continue  # a common word that only sounds alike
            if _cuts_a_word(end - n + 1, end, said):
                continue  # part of an English word's reading ("kill" in "skill")
            if any(t.boundary >= Break.CLAUSE for t in utt.tokens[start : stop - 1]):
                continue  # heard apart, across a comma or a sentence end
            if any(a <= start < b for a, b in said.latin):
                out.append(Match(cat, start, stop, "sound"))  # an English name read as it
                continue
            if words is None:
                words = segment(utt.normalized)
            if any(
                w.start <= start and stop <= w.end and w.end - w.start > 1
                and self._read_as_usual(utt, w.start, w.end) for w in words
            ):  # fmt: skip
                continue  # inside a dictionary word read as usual (学习, 百分之)
            if _straddles(start, stop, words):
                continue  # the ends of two words (方法|可以 heard as fa ke)
            out.append(Match(cat, start, stop, "sound"))
        return out

    def _read_as_usual(self, utt: Utterance, start: int, end: int) -> bool:
        """Are tokens ``start:end`` read as those characters are read on their own? Not when
        a ``<phoneme>`` gave them another reading (今天 said zha4 dan4)."""
        said = [s for t in utt.tokens[start:end] for s in _toneless(t.pinyin or "")]
        alone = self._frontend.analyze(utt.normalized[start:end])
        return said == [s for t in alone.tokens for s in _toneless(t.pinyin or "")]

    def apply(self, utt: Utterance) -> Filtered:
        """Clean text passes unchanged; otherwise reject or mask as the policy says."""
        matches = self.find(utt)
        if not matches:
            return Filtered(utt)
        categories = tuple(sorted({m.category for m in matches}))
        if self.policy == "reject":
            raise ContentRejected(categories)
        silent = {i for m in matches for i in range(m.start, m.end)}
        return Filtered(silence(utt, silent), categories)


def silence(utt: Utterance, indices: set[int]) -> Utterance:
    """``utt`` with the tokens at ``indices`` not spoken (their time and text stay out of
    the audio; what surrounds them is read as before)."""

    def mute(i: int, tok: Token) -> Token:
        return replace(tok, pinyin=None) if i in indices else tok

    tokens = tuple(mute(i, t) for i, t in enumerate(utt.tokens))
    segments = tuple(
        replace(seg, tokens=tokens[seg.start : seg.start + len(seg.tokens)]) for seg in utt.segments
    )
    return replace(utt, tokens=tokens, segments=segments)


# --- word lists ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WordList:
    words: dict[str, list[str]]
    sound: dict[str, bool] = field(default_factory=dict)
    """Per category, when it says (``sound: false``): match by characters only."""
    allow: list[str] = field(default_factory=list)


def parse_word_list(data: Any, source: str = "word list") -> WordList:
    """Validate a loaded YAML/JSON word list (see the module doc)."""
    if data is None:
        return WordList({})
    if isinstance(data, list):
        data = {DEFAULT_CATEGORY: data}
    if not isinstance(data, Mapping):
        raise InvalidParameter(f"{source}: expected a mapping of category to a list of words")
    words: dict[str, list[str]] = {}
    sound: dict[str, bool] = {}
    allow: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            if not isinstance(value.get("words", []), list):
                raise InvalidParameter(f"{source}: {key}: words must be a list")
            words[str(key)] = [str(w) for w in value.get("words", [])]
            if "sound" in value:
                sound[str(key)] = bool(value["sound"])
            allow += [str(w) for w in value.get("allow", [])]
        elif isinstance(value, list):
            words[str(key)] = [str(w) for w in value]
        else:
            raise InvalidParameter(f"{source}: expected a mapping of category to a list of words")
    return WordList(words, sound, allow)


def load_word_list(path: Path) -> WordList:
    try:
        raw = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"cannot read filter word list {path}: {exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            data = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise InvalidParameter(f"filter word list {path} is not valid: {exc}") from exc
        return parse_word_list(data, str(path))
    words: dict[str, list[str]] = {}
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        category, sep, word = line.partition("\t")
        if not sep:
            category, word = DEFAULT_CATEGORY, line
        words.setdefault(category.strip(), []).append(word.strip())
    return WordList(words)


def merge_word_lists(*lists: WordList) -> WordList:
    words: dict[str, list[str]] = {}
    sound: dict[str, bool] = {}
    allow: list[str] = []
    for wl in lists:
        for category, items in wl.words.items():
            words.setdefault(category, []).extend(items)
        sound.update(wl.sound)
        allow += wl.allow
    return WordList(words, sound, allow)


__all__ = [
    "ContentFilter",
    "Filtered",
    "Match",
    "WordList",
    "fold",
    "load_word_list",
    "merge_word_lists",
    "parse_word_list",
    "silence",
]
