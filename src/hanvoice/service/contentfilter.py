"""Content filter: a word list matched with Aho-Corasick after folding away disguises.

Why folding: the words people try to sneak past a filter come back full-width (``ＦＯＯ``),
in traditional characters (``法輪``), or with spaces and symbols between the characters
(``法 . 轮``). Both the text and the word list are folded the same way — NFKC (full to half
width), case-folded, traditional to simplified per character (``data/t2s_chars.txt``), and
whitespace, punctuation, symbols and control or zero-width characters dropped — while each
kept character remembers where it came from, so a match maps back to a span of the
original text for masking.

Policy ``reject`` raises :class:`~hanvoice.errors.ContentRejected` naming the category only
(never the word: error bodies and logs must not repeat it); ``mask`` replaces the span.

Word lists are YAML/JSON mappings ``{category: [word, ...]}`` or text files with one
``category<TAB>word`` (or bare ``word``) per line, ``#`` for comments.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import ahocorasick
import yaml

from hanvoice.errors import ContentRejected, InvalidParameter

Policy = Literal["reject", "mask"]
DEFAULT_CATEGORY = "default"
_DROP = ("Z", "P", "S", "C", "M")
"""Unicode general categories folded away: separators, punctuation, symbols, control and
format characters (zero-width space, joiners), combining marks."""


@cache
def _t2s() -> dict[str, str]:
    table = resources.files("hanvoice.data").joinpath("t2s_chars.txt").read_text("utf-8")
    out = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            trad, simp = line.split(" ")
            out[trad] = simp
    return out


def fold(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index it came from.

    >>> fold("法 輪．ＦＯ")[0]
    '法轮fo'
    """
    t2s = _t2s()
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if unicodedata.category(c).startswith(_DROP):
                continue
            chars.append(t2s.get(c, c))
            where.append(i)
    return "".join(chars), where


@dataclass(frozen=True, slots=True)
class Match:
    category: str
    start: int
    """Span in the original text, ``text[start:end]``."""
    end: int


@dataclass(frozen=True, slots=True)
class Filtered:
    text: str
    """The text to synthesize (masked under the ``mask`` policy)."""
    categories: tuple[str, ...]
    """Categories that matched, sorted; empty when the text is clean."""


class ContentFilter:
    """Build once per word list (building the automaton is the costly part), then share."""

    def __init__(
        self, words: Mapping[str, Iterable[str]], policy: Policy = "reject", mask: str = "*"
    ) -> None:
        if policy not in ("reject", "mask"):
            raise InvalidParameter(f"filter policy must be reject or mask, got {policy!r}")
        self.policy: Policy = policy
        self.mask = mask
        self._auto: Any = ahocorasick.Automaton()
        self.size = 0
        for category, items in words.items():
            for word in items:
                folded, _ = fold(str(word))
                if not folded:
                    continue
                self._auto.add_word(folded, (str(category), len(folded)))
                self.size += 1
        if self.size:
            self._auto.make_automaton()

    @property
    def active(self) -> bool:
        return self.size > 0

    def find(self, text: str) -> list[Match]:
        if not self.size:
            return []
        folded, where = fold(text)
        return [
            Match(category, where[end - n + 1], where[end] + 1)
            for end, (category, n) in self._auto.iter(folded)
        ]

    def apply(self, text: str) -> Filtered:
        """Clean text passes unchanged; otherwise reject or mask as the policy says."""
        matches = self.find(text)
        if not matches:
            return Filtered(text, ())
        categories = tuple(sorted({m.category for m in matches}))
        if self.policy == "reject":
            raise ContentRejected(categories)
        masked = list(text)
        for m in matches:
            for i in range(m.start, m.end):
                if not masked[i].isspace():
                    masked[i] = self.mask
        return Filtered("".join(masked), categories)


def parse_word_list(data: Any, source: str = "word list") -> dict[str, list[str]]:
    """Validate a loaded YAML/JSON word list: a mapping of category to a list of words."""
    if data is None:
        return {}
    if isinstance(data, list):
        data = {DEFAULT_CATEGORY: data}
    if not isinstance(data, Mapping) or not all(isinstance(v, list) for v in data.values()):
        raise InvalidParameter(f"{source}: expected a mapping of category to a list of words")
    return {str(k): [str(w) for w in v] for k, v in data.items()}


def load_word_list(path: Path) -> dict[str, list[str]]:
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
    return words


def merge_word_lists(*lists: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for words in lists:
        for category, items in words.items():
            out.setdefault(category, []).extend(items)
    return out
