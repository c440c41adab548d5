"""A rough reading of an unknown English word in Mandarin syllables.

The voice knows only Mandarin, so an English word not in ``english.tsv`` is said the way a
Mandarin speaker sounds it out: onset + vowel -> the nearest Mandarin syllable, a lone
consonant -> a light syllable (``s`` -> si, ``t`` -> te). ``"doctor"`` -> duo ke te,
``"London"`` -> lun dun. Crude, but far better than silence or a seven-letter spelling.
"""

from __future__ import annotations

import re

from hanvoice.text.resources import words

_VOWELS = {
    "a": ["a", "ai"], "e": ["ai", "e", "ei"], "i": ["i", "ai"], "o": ["ou", "uo", "o"],
    "u": ["a", "u", "e"], "y": ["i", "ai"], "ee": ["i"], "ea": ["i"], "ie": ["i", "ai"],
    "oo": ["u"], "ou": ["ao"], "ow": ["ao"], "ai": ["ai"], "ay": ["ai"], "ei": ["ei", "ai"],
    "ey": ["ei", "i"], "oi": ["ao"], "oy": ["ao"], "au": ["ao"], "aw": ["ao"], "oa": ["ou"],
    "ue": ["u"], "ui": ["u"], "io": ["iao", "ou"], "ia": ["ia", "a"], "eo": ["iou", "ou"],
}  # fmt: skip
_ONSETS = {
    "b": "b", "c": "k", "ck": "k", "ch": "ch", "d": "d", "f": "f", "g": "g", "h": "h",
    "j": "zh", "k": "k", "l": "l", "m": "m", "n": "n", "p": "p", "ph": "f", "q": "k",
    "qu": "k", "r": "r", "s": "s", "sh": "sh", "t": "t", "th": "s", "v": "w", "w": "w",
    "wh": "w", "x": "x", "y": "y", "z": "z", "": "",
}  # fmt: skip
_LONE = {
    "b": "bu", "c": "ke", "ck": "ke", "ch": "qi", "d": "de", "f": "fu", "g": "ge", "h": "",
    "j": "zhi", "k": "ke", "l": "er", "m": "mu", "n": "en", "p": "pu", "ph": "fu",
    "q": "ke", "qu": "ke", "r": "", "s": "si", "sh": "shi", "t": "te", "th": "si", "v": "fu",
    "w": "", "wh": "", "x": "ke si", "y": "", "z": "zi", "ng": "",
}  # fmt: skip
_SOFTEN = {("k", "i"): "j", ("g", "i"): "j", ("h", "i"): "x", ("s", "i"): "x", ("c", "i"): "x"}
_UNIT = re.compile(r"sh|ch|th|ph|ck|wh|qu|ng|[bcdfghjklmnpqrstvwxz]|[aeiouy]+")


_NASAL = {"o": ["u", "o", "a"], "u": ["a", "u", "e"], "e": ["e", "i"], "a": ["a"], "i": ["i"]}


def _spell_zero(cand: str) -> str:
    """Pinyin spelling of a final with no initial: ``iao`` -> yao, ``u`` -> wu."""
    if cand.startswith("i"):
        return "y" + cand if cand in ("i", "in", "ing") else "y" + cand[1:]
    if cand.startswith("u"):
        return "wu" if cand == "u" else "w" + cand[1:]
    return cand


def _syllable(onset: str, vowel: str, coda: str, known: frozenset[str]) -> list[str] | None:
    vowels = _VOWELS.get(vowel, _VOWELS.get(vowel[:1], ["a"]))
    tries = [(v, coda) for v in vowels] if coda else []
    tries += [(v, coda) for v in _NASAL.get(vowel[:1], [])] if coda else []
    tries += [(v, "") for v in vowels]
    for v, nasal in tries:
        o = _SOFTEN.get((onset, v[:1]), onset)
        o = _ONSETS.get(o, o)
        cand = o + v + nasal
        if not o:
            cand = _spell_zero(cand)
        if cand in known:
            return [cand]
    return None


def transliterate(word: str) -> list[str]:
    """Mandarin syllables (tone3) for a lower-case English word; ``[]`` if it has none."""
    known = words("syllables.txt")
    w = word.lower()
    if len(w) > 3 and re.search(r"[^aeiouy]e$", w):
        w = w[:-1]  # silent final e
    units = _UNIT.findall(w)
    out: list[str] = []
    i = 0
    while i < len(units):
        u = units[i]
        if u[0] in "aeiouy" and not (
            u == "y" and i + 1 < len(units) and units[i + 1][0] in "aeiou"
        ):
            onset = ""
            if out and out[-1] == "__pending":
                out.pop()
            vowel = u
            coda = ""
            nxt = units[i + 1] if i + 1 < len(units) else ""
            after = units[i + 2] if i + 2 < len(units) else ""
            if nxt in ("n", "ng", "m") and (not after or after[0] not in "aeiouy"):
                coda = "ng" if nxt == "ng" else "n"
                i += 1
            syl = _syllable(onset, vowel, coda, known)
            out.extend(syl or [])
            i += 1
            continue
        nxt = units[i + 1] if i + 1 < len(units) else ""
        if nxt and nxt[0] in "aeiouy" and u != "ng":
            coda = ""
            after = units[i + 2] if i + 2 < len(units) else ""
            after2 = units[i + 3] if i + 3 < len(units) else ""
            if after in ("n", "ng", "m") and (not after2 or after2[0] not in "aeiouy"):
                coda = "ng" if after == "ng" else "n"
            syl = _syllable(u, nxt, coda, known)
            if syl:
                out.extend(syl)
                i += 3 if coda else 2
                continue
        lone = _LONE.get(u, "")
        out.extend(lone.split())
        i += 1
    if not out:
        return []
    return [s + "1" for s in out[:-1]] + [out[-1] + "4"]
