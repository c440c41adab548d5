"""Latin letters and words, with the digits glued to them; web addresses and e-mail.

Acronyms are spelled (``"CPU"`` -> C P U, each letter with its Mandarin name from
``data/text/letters.tsv``); words and brands listed in ``data/text/english.tsv`` are read
as words (``"WiFi"`` -> wai1 fai1); other words are spelled when short and transliterated
syllable by syllable when long. The letters stay in the normalized text (the reader sees
``iPhone``), each carrying its share of the syllables; a letter whose sound went to its
neighbour is silent. ``"5G"`` -> 五G, ``"iPhone15"`` -> iPhone十五, ``"CA1234"`` ->
CA幺二三四, ``"www.qq.com"`` -> www点qq点com, ``"a@b.cn"`` -> a艾特b点cn.
"""

from __future__ import annotations

import re

from hanvoice.text.buffer import SILENT, Piece, Replacement
from hanvoice.text.normalize import english
from hanvoice.text.normalize.numbers import cardinal, digits
from hanvoice.text.normalize.rule import Rule
from hanvoice.text.normalize.translit import transliterate
from hanvoice.text.resources import table, words

_WORD = r"[A-Za-z]+(?:(?:['’]|-(?=[A-Za-z]))[A-Za-z]+)*"
"""A word, with its apostrophes and hyphens (``it's``, ``Wi-Fi``, ``e-mail``, ``T-shirt``)."""


def letter_reading(c: str) -> str:
    return table("letters.tsv")[c.upper()]


def spell(word: str) -> Piece:
    """``"CPU"`` -> one reading per letter (``xi1``, ``pi4``, ``you1``)."""
    return Piece(word, [letter_reading(c) if c.isalpha() and c.isascii() else SILENT for c in word])


def _spread(word: str, syllables: list[str]) -> Piece:
    """Give ``syllables`` to the letters of ``word``: each syllable to the letter where its
    share of the word starts (for timestamps); letters left over are silent."""
    n, k = len(word), len(syllables)
    readings: list[str | None] = [SILENT] * n
    if k >= n:
        for i in range(n):
            lo, hi = i * k // n, (i + 1) * k // n
            readings[i] = " ".join(syllables[lo:hi]) or SILENT
    else:
        for j, syl in enumerate(syllables):
            readings[j * n // k] = syl
    return Piece(word, readings)


def _is_acronym(word: str) -> bool:
    letters = word.replace("'", "").replace("’", "")
    if len(letters) <= 1 or letters.isupper():
        return True
    if not re.search(r"[aeiouyAEIOUY]", letters):
        return True
    return len(letters) <= 2


def read_word(word: str) -> Piece:
    """One Latin word, by the first of these that knows it: the curated table
    (``english.tsv``: brands and their Chinese names), spelling for acronyms (all capitals,
    no vowel, or a short lower-case word no dictionary has: ``wto``, ``nba``), the parts of
    a hyphenated or CamelCase word, the pronunciation dictionary (``english.py``), two
    dictionary words run together (``airpods``), and last the letters' own sound
    (``translit.py``)."""
    lexicon = table("english.tsv")
    key = word.lower().replace("’", "'")
    if key in lexicon:
        return _spread(word, lexicon[key].split())
    if key.endswith("'s") and key[:-2] in lexicon:
        return _spread(word, [*lexicon[key[:-2]].split(), "si1"])
    if "-" in word:
        joined = word.replace("-", "")
        if joined.lower() in lexicon:
            return _dashed(word, read_word(joined))
        pieces = [read_word(p) for p in word.split("-")]
        return _dashed(word, Piece("".join(p.text for p in pieces), _flat(pieces)))
    pinyin = _pinyin_name(word)
    if pinyin:
        return _spread(word, pinyin)
    if _is_acronym(word):
        return spell(word)
    parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", word)
    if len(parts) > 1 and "".join(parts) == word:  # CamelCase: read each part
        return Piece(word, _flat([read_word(p) for p in parts]))
    said = english.pronounce(key.replace("'", ""))
    if said is None and len(key) <= 4 and key.isalpha():
        return spell(word)  # wto, nba, atm: no such word, so letters
    if said is None:
        said = _compound(key)
    if said is None:
        said = transliterate(key)
        if not said or len(said) > len(key):
            return spell(word)
    return _spread(word, said)


def _pinyin_name(word: str) -> list[str] | None:
    """A capitalised word that is Chinese in pinyin (``Zhang``, ``Xiaoming``, ``Li``), read as
    pinyin with tone 1 (its tones are not written). A one-syllable word of three letters or
    more that English also has
    (``Long``, ``Sun``, ``Wang``) is left to the dictionary unless its spelling is pinyin's
    own (zh, x, q ...)."""
    if not (word[:1].isupper() and word[1:].islower() and len(word) >= 2):
        return None
    syllables = pinyin_split(word)
    if not syllables:
        return None
    key = word.lower()
    own = re.search(r"zh|^x|^q|^c[^h]|iu|ui|ao|ie|ian|iang|uo|yu|ü", key) is not None
    if len(syllables) == 1 and len(key) > 2 and not own and key in english.dictionary():
        return None
    return [s + "1" for s in syllables]


def _flat(pieces: list[Piece]) -> list[str | None]:
    return [r for p in pieces for r in (p.readings or [None] * len(p.text))]


def _dashed(word: str, joined: Piece) -> Piece:
    """Put back the hyphens (silent) into a reading made without them."""
    readings = iter(joined.readings or [None] * len(joined.text))
    return Piece(word, [SILENT if c == "-" else next(readings) for c in word])


def _compound(key: str) -> list[str] | None:
    """Two dictionary words run together (``airpods``, ``macbook``), longest first part
    first; each part at least three letters."""
    for cut in range(len(key) - 3, 2, -1):
        a, b = english.pronounce(key[:cut]), english.pronounce(key[cut:])
        if a and b:
            return a + b
    return None


def _alnum(m: re.Match[str]) -> Replacement:
    """A token of letters and digits (5G, iPhone15, MP3, CA1234, COVID-19)."""
    out: list[Piece] = []
    token = m.group(0)
    if re.fullmatch(r"[A-Z]2[A-Z]", token):  # O2O, B2B, P2P: the 2 is said "to"
        return [spell(token[0]), Piece("to", ["tu4", SILENT]), spell(token[2])]
    parts = re.findall(r"[A-Za-z]+|\d+|-", token)
    letters = sum(len(p) for p in parts if p.isalpha())
    for p in parts:
        if p == "-":
            out.append(Piece("-", [SILENT]))
        elif p.isdigit():
            if len(p) >= 3 and letters <= 3:
                out.append(digits(p, yao=True))  # a code: CA1234, G7 high-speed trains
            else:
                out.append(Piece(cardinal(p)))
        else:
            out.append(read_word(p))
    return out


def _web(m: re.Match[str]) -> Replacement:
    """A URL or e-mail address: ``.`` -> 点, ``@`` -> 艾特, ``/`` -> 斜杠; words read."""
    text = m.group(0)
    text = re.sub(r"^(?:https?|ftp)://", "", text)
    text = text.rstrip("/")
    out: list[Piece] = []
    for tok in re.findall(r"[A-Za-z]+|\d+|.", text):
        if tok.isalpha():
            out.append(_web_word(tok))
        elif tok.isdigit():
            short = len(tok) <= 2 and not tok.startswith("0")
            out.append(Piece(cardinal(tok)) if short else digits(tok, yao=True))
        else:
            out.append(Piece(table("symbols_web.tsv").get(tok, "")))
    return out


def pinyin_split(word: str) -> list[str] | None:
    """``"zhangsan"`` -> ``["zhang", "san"]`` when the word is nothing but pinyin syllables."""
    known = words("syllables.txt")
    w = word.lower()
    best: list[list[str] | None] = [None] * (len(w) + 1)
    best[0] = []
    for i in range(len(w)):
        done = best[i]
        if done is None:
            continue
        for size in range(6, 0, -1):
            part = w[i : i + size]
            prev = best[i + size] if i + size <= len(w) else []
            if len(part) == size and part in known and (prev is None or len(prev) > len(done) + 1):
                best[i + size] = [*done, part]
    return best[len(w)]


def _web_word(tok: str) -> Piece:
    """A word in an address: words in the lexicon as words, pinyin (zhangsan, beijing) as
    pinyin, short ones spelled, the rest as words."""
    if tok.lower() in table("english.tsv"):
        return read_word(tok)
    syllables = pinyin_split(tok)
    if syllables and len(tok) >= 4 and len(syllables) <= len(tok) // 2:
        return _spread(tok, [s + "1" for s in syllables])
    if len(tok) <= 3:
        return spell(tok)
    return read_word(tok)


def rules() -> list[Rule]:
    return [
        Rule(
            "web",
            re.compile(
                # every repetition is bounded: "1-1-1-..." must not cost O(n²)
                r"(?:https?://|ftp://|www\.)[\w\-.~%/?#=&+:@]{1,200}[\w/]"
                r"|(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,6}"
                r"|(?<![\w.-])[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,6}"
                r"\.(?:com|cn|net|org|edu|gov|io|ai|co|me|info)\b"
                r"(?:/[\w\-.~%/?#=&+]{0,200})?",
                re.ASCII,
            ),
            _web,
        ),
        Rule(
            "alnum",
            re.compile(
                r"(?<![\w.])(?:[A-Za-z]+-?\d|\d+[A-Za-z])[A-Za-z\d]*+"
                r"(?![\w.]*\d)",
                re.ASCII,
            ),
            _alnum,
        ),
        Rule(
            "title",
            re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|No)\.", re.ASCII),
            lambda m: [read_word(m.group(0)[:-1]), Piece(" ", [SILENT])],
        ),
        Rule("word", re.compile(_WORD, re.ASCII), lambda m: read_word(m.group(0))),
    ]
