"""Our pinyin tokens -> the phoneme ids the ttskit Mellotron model was trained on.

The model was trained on text run through phkit (ttskit's front end): each character
becomes its phonemes (initial, final, tone; a syllable without an initial gets a pseudo
initial, ``an4`` -> ``aa an 4``) followed by the chain symbol ``-``; punctuation becomes one
of ten marks (``，`` -> ``,``); the sequence ends ``~ _``. phkit also turns a third tone
before a third tone into a second tone, so the model learnt the tones as spoken
(``很好`` -> ``h en 2 - h ao 3 -``); we apply the same rule here. The table itself is
phkit's (``phonemes.json``), so hanvoice's own front end (normalization, polyphones) feeds
the model exactly the symbols it knows. Every id remembers the token it came from, so the
attention alignment becomes per-character timestamps.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from hanvoice.text.types import Token

log = logging.getLogger(__name__)

CHAIN = "-"
EOS = "~"
PAD = "_"
_TONES = "12345"
# Syllables pypinyin can produce that phkit's table lacks, mapped to the nearest it has.
_ALIASES = {
    "m": "mu",  # 呣 m2
    "hm": "hen",  # 噷
    "hng": "heng",  # 哼 hng
    "ê": "ei",
    "eh": "ei",
    "yai": "ya",
    "lüe": "lve",
    "nüe": "nve",
    "lü": "lv",
    "nü": "nv",
}


@dataclass(frozen=True, slots=True)
class PhonemeSequence:
    ids: list[int]
    owners: list[int]
    """For each id, the index of the token it belongs to (a syllable's trailing chain symbol
    belongs to the syllable), or -1 for punctuation and the end symbols."""
    skipped: list[str]
    """Syllables that had no usable phonemes and were left out."""
    syllables: int = 0

    @property
    def spoken(self) -> bool:
        return any(o >= 0 for o in self.owners)


class PhonemeTable:
    def __init__(self, path: Path | None = None, *, sandhi: bool = True) -> None:
        if path is None:
            text = resources.files(__package__).joinpath("phonemes.json").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data = json.loads(text)
        self.symbols: list[str] = data["symbols"]
        self.symbol_to_id = {s: i for i, s in enumerate(self.symbols)}
        self.syllables: dict[str, list[str]] = {k: v.split() for k, v in data["syllables"].items()}
        self.punctuation: dict[str, str] = data["punctuation"]
        self.sandhi = sandhi
        """Apply phkit's third-tone rule (on by default: the training data had it)."""

    def syllable(self, syl: str) -> list[str] | None:
        """``"hao3"`` -> ``["h", "ao", "3"]``; ``None`` when no near syllable exists."""
        syl = syl.strip().lower().replace("ü", "v")
        tone = syl[-1] if syl and syl[-1] in _TONES else "5"
        base = syl[:-1] if syl and syl[-1] in "0123456789" else syl
        base = _ALIASES.get(base, base)
        if base not in self.syllables and base.endswith("r") and base[:-1] in self.syllables:
            # written erhua ("huar3"): the syllable, then er5, as ttskit's fix_erhua does
            return [*self.syllables[base[:-1]], tone, CHAIN, *self.syllables["er"], "5"]
        phones = self.syllables.get(base)
        return None if phones is None else [*phones, tone]

    def encode(self, tokens: tuple[Token, ...] | list[Token]) -> PhonemeSequence:
        phones: list[str] = []
        owners: list[int] = []
        skipped: list[str] = []
        syllables = 0
        for ti, tok in enumerate(tokens):
            if tok.pinyin:
                for syl in tok.pinyin.split():
                    parts = self.syllable("er5" if syl == "r" else syl)
                    if parts is None:
                        skipped.append(syl)
                        continue
                    phones += [*parts, CHAIN]
                    owners += [ti] * (len(parts) + 1)
                    syllables += 1
            elif tok.char in self.punctuation:
                phones += [self.punctuation[tok.char], CHAIN]
                owners += [-1, -1]
        if self.sandhi:
            phones = third_tone_sandhi(phones)
        phones += [EOS, PAD]
        owners += [-1, -1]
        if skipped:
            log.warning("no phonemes for syllables %s; left out", skipped)
        ids = [self.symbol_to_id[p] for p in phones]
        return PhonemeSequence(ids, owners, skipped, syllables)


def third_tone_sandhi(phones: list[str]) -> list[str]:
    """A third tone right before a (kept) third tone becomes a second tone, as in phkit.

    Scanned from the end, so runs alternate as phkit's training data did:
    ``ni3 hao3`` -> ``ni2 hao3``; ``3 3 3`` -> ``3 2 3``. Punctuation in between (more
    than one initial + final apart) blocks it.
    """
    out = list(phones)
    kept = None  # position of the last kept third tone, counted from the end
    for i, p in enumerate(reversed(phones)):
        if p != "3":
            continue
        if kept is not None and i - kept == 4:  # "3 - initial final 3": adjacent syllables
            out[len(phones) - 1 - i] = "2"
        else:
            kept = i
    return out
