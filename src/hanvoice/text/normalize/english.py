"""English words said in Mandarin syllables, from their pronunciation rather than their
spelling.

The voices know only Mandarin phonemes, so an English word is said the way Mandarin
speakers adapt a loanword: its pronunciation (CMUdict, ARPAbet; ``data/english/``) is cut
into syllables of one consonant and one vowel with at most a nasal coda; a consonant with no
vowel of its own gets a light epenthetic vowel (``s`` -> si5, ``t`` -> te5, ``k`` -> ke5);
each English vowel takes the nearest Mandarin final the onset allows. ``"zoom"``
(Z UW1 M) -> zu4 mu5, ``"Spotify"`` (S P AO1 T AH0 F AY2) -> si5 pao1 ta1 fai1,
``"YouTube"`` -> you1 tu1 bu5. Words the dictionary lacks go to the spelling-based
``translit.py``.
"""

from __future__ import annotations

import gzip
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hanvoice.text.resources import words

DICT_PATH = Path(__file__).resolve().parents[2] / "data" / "english" / "cmudict.txt.gz"

_VOWELS = {
    "AA": ["a", "ao", "e"], "AE": ["ai", "a", "ei"], "AH": ["a", "e", "o"],
    "AO": ["uo", "o", "ao", "ou"], "AW": ["ao"], "AY": ["ai"], "EH": ["ai", "ei", "e"],
    "ER": ["e", "o", "a"], "EY": ["ei", "ai"], "IH": ["i", "ei"], "IY": ["i", "ei"],
    "OW": ["ou", "uo", "o", "ao"], "OY": ["ao"], "UH": ["u", "ou"], "UW": ["u", "ou"],
}  # fmt: skip
"""English vowel -> Mandarin finals, nearest first (``AH0`` takes e, see ``_REDUCED``)."""
_NASAL = {
    ("AA", "n"): ["an"], ("AE", "n"): ["an"], ("AH", "n"): ["en", "an"],
    ("AO", "n"): ["uan", "an", "en"], ("AW", "n"): ["an"], ("AY", "n"): ["ai"],
    ("EH", "n"): ["en", "an"], ("ER", "n"): ["en"], ("EY", "n"): ["en", "ei"],
    ("IH", "n"): ["in", "en"], ("IY", "n"): ["in", "en"], ("OW", "n"): ["ong", "eng"],
    ("UH", "n"): ["un", "en"], ("UW", "n"): ["un", "ong"], ("OY", "n"): ["ong"],
    ("AA", "ng"): ["ang"], ("AE", "ng"): ["ang"], ("AH", "ng"): ["eng", "ang"],
    ("AO", "ng"): ["ong", "ang"], ("EH", "ng"): ["eng"], ("IH", "ng"): ["ing"],
    ("IY", "ng"): ["ing"], ("OW", "ng"): ["ong"], ("UH", "ng"): ["ong"],
    ("UW", "ng"): ["ong"], ("ER", "ng"): ["eng"], ("EY", "ng"): ["eng"],
    ("AY", "ng"): ["ai"], ("AW", "ng"): ["ang"], ("OY", "ng"): ["ong"],
}  # fmt: skip
_ONSET = {
    "B": "b", "P": "p", "D": "d", "T": "t", "G": "g", "K": "k", "F": "f", "V": "w",
    "TH": "s", "DH": "d", "S": "s", "Z": "z", "SH": "sh", "ZH": "r", "CH": "ch", "JH": "zh",
    "HH": "h", "M": "m", "N": "n", "NG": "n", "L": "l", "R": "r", "W": "w", "Y": "y",
}  # fmt: skip
_BEFORE_I = {"g": "j", "k": "q", "h": "x", "s": "x", "sh": "x", "z": "j", "zh": "j",
             "ch": "q", "r": "l", "f": "f", "w": "w"}  # fmt: skip
"""Onsets Mandarin does not put before the vowel [i] (``si`` is [sɿ], not "see")."""
_AVOID = frozenset({"be", "pe", "lue", "nue"})
"""In the Baker voice's table but not in the Mellotron voices' (nor in standard Mandarin)."""
_FALLBACK = ["ei", "a", "e", "u", "o"]
"""Tried after a vowel's own finals, before the onset is given up (f + ai -> fei)."""
_LONE = {
    "B": "bu", "P": "pu", "D": "de", "T": "te", "G": "ge", "K": "ke", "F": "fu", "V": "fu",
    "TH": "si", "DH": "de", "S": "si", "Z": "zi", "SH": "shi", "ZH": "ri", "CH": "qi",
    "JH": "zhi", "HH": "he", "M": "mu", "N": "en", "NG": "en", "L": "er", "R": "",
    "W": "wu", "Y": "yi",
}  # fmt: skip
"""A consonant with no vowel of its own: the light syllable Mandarin speakers add."""


@dataclass(frozen=True, slots=True)
class Dictionary:
    """CMUdict's lines (sorted by word) in one string, found by binary search over the line
    starts: 3.4 MB, where a dict of 117k entries would take about 30 MB in every worker."""

    text: str
    starts: array[int]

    def get(self, word: str) -> str | None:
        """The ARPAbet phones of a lower-case word (``"zoom"`` -> ``"Z UW1 M"``)."""
        lo, hi = 0, len(self.starts)
        while lo < hi:
            mid = (lo + hi) // 2
            a = self.starts[mid]
            key = self.text[a : self.text.index(" ", a)]
            if key == word:
                return self.text[a + len(key) + 1 : self.text.index("\n", a)]
            if key < word:
                lo = mid + 1
            else:
                hi = mid
        return None

    def __contains__(self, word: str) -> bool:
        return self.get(word) is not None


@cache
def dictionary() -> Dictionary:
    """Loaded once, on the first English word or by ``Frontend.warm()``."""
    text = gzip.decompress(DICT_PATH.read_bytes()).decode("ascii")
    starts = array("I", [0])
    pos = text.find("\n")
    while 0 <= pos < len(text) - 1:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return Dictionary(text, starts)


def pronounce(word: str) -> list[str] | None:
    """Mandarin syllables with tones for a word CMUdict has, else ``None``."""
    phones = dictionary().get(word.lower())
    return adapt(phones.split()) if phones else None


def _is_vowel(p: str) -> bool:
    return p[-1].isdigit()


def _join(onset: str, finals: Sequence[str], known: frozenset[str]) -> str | None:
    """The first valid syllable of ``onset`` + one of ``finals``."""
    for f in finals:
        o = _BEFORE_I.get(onset, onset) if f[0] == "i" else onset
        if o == "f" and f[0] == "i":
            continue
        cand = o + f if o else _zero(f)
        if o == "y":
            cand = _zero("i" + f) if f[0] not in "iu" else _zero(f)
            if f == "u":
                cand = "you"
        elif o == "w" and f[0] not in "u":
            cand = "w" + f if "w" + f in known else _zero("u" + f)
        if cand in known and cand not in _AVOID:
            return cand
    return None


def _zero(final: str) -> str:
    """A final with no initial as pinyin spells it: ``i`` -> yi, ``u`` -> wu, ``ua`` -> wa."""
    if final[0] == "i":
        return "y" + final if final in ("i", "in", "ing") else "y" + final[1:]
    if final[0] == "u":
        return "wu" if final == "u" else "w" + final[1:]
    return final


def adapt(phones: Sequence[str]) -> list[str]:
    """ARPAbet phones -> Mandarin syllables (``["Z", "UW1", "M"]`` -> zu4 mu5)."""
    known = words("syllables.txt")
    n = len(phones)
    vowels = [i for i, p in enumerate(phones) if _is_vowel(p)]
    last = vowels[-1] if vowels else -1
    out: list[str] = []
    i = 0
    while i < n:
        p = phones[i]
        nxt = phones[i + 1] if i + 1 < n else ""
        if not _is_vowel(p):
            if nxt and _is_vowel(nxt):  # an onset: the syllable is made at its vowel
                i += 1
                out.append(_syllable(p, nxt, phones, i, last, known))
                i += 1 + _coda_len(phones, i)
                continue
            if nxt == "Y" and i + 2 < n and _is_vowel(phones[i + 2]):  # T Y UW: tu, miu
                i += 2
                out.append(_syllable(p, phones[i], phones, i, last, known, glide=True))
                i += 1 + _coda_len(phones, i)
                continue
            lone = _LONE.get(p, "")
            if lone:
                out.append(lone + "5")
            i += 1
            continue
        out.append(_syllable("", p, phones, i, last, known))
        i += 1 + _coda_len(phones, i)
    return out


def _coda_len(phones: Sequence[str], v: int) -> int:
    """1 when the vowel at ``v`` takes the following N or NG as its coda."""
    if v + 1 >= len(phones) or phones[v + 1] not in ("N", "NG"):
        return 0
    after = phones[v + 2] if v + 2 < len(phones) else ""
    return 0 if after and _is_vowel(after) else 1


def _syllable(
    consonant: str,
    vowel: str,
    phones: Sequence[str],
    v: int,
    last: int,
    known: frozenset[str],
    *,
    glide: bool = False,
) -> str:
    base, stress = vowel[:-1], vowel[-1]
    onset = _ONSET.get(consonant, "")
    finals = list(_VOWELS.get(base, ["a"]))
    if base == "AH" and stress == "0":
        finals = ["a", "e"] if v == len(phones) - 1 else ["e", "a", "o"]
    if _coda_len(phones, v):
        nasal = "ng" if phones[v + 1] == "NG" else "n"
        finals = _NASAL.get((base, nasal), []) + finals
    if glide:
        finals = ["iu", *finals]  # the Y of T Y UW goes into the final where it can
    syl = _join(onset, finals, known) or _join(onset, _FALLBACK, known)
    syl = syl or _join("", finals, known) or "a"
    tone = "4" if v == last and stress == "1" else "1"
    return syl + tone


__all__ = ["adapt", "dictionary", "pronounce"]
