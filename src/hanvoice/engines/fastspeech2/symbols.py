"""Pinyin tokens -> the Baker symbol ids the FastSpeech2 voice was trained on.

A segment becomes ``sil``, then for each syllable its initial and its final-with-tone, with a
break marker between syllables (#0 inside a word, #1 between words, #2 between phrases, #3
at a comma), then ``sil`` and ``eos``: the layout of the Baker prosody labels. Every symbol
remembers which token it came from, so durations become per-character timestamps.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from hanvoice.text.types import Break, Token

log = logging.getLogger(__name__)

# Syllables pypinyin can produce that the Baker table lacks, mapped to the nearest it has.
_ALIASES = {
    "n": "en",  # 嗯 n2
    "ng": "eng",
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
_BREAK_SYMBOL = {Break.NONE: "#0", Break.WORD: "#1", Break.PHRASE: "#2"}


@dataclass(frozen=True, slots=True)
class SymbolSequence:
    ids: list[int]
    owners: list[int]
    """For each id, the index of the token it came from within the segment, or -1."""
    pauses: list[bool]
    """For each id, whether it is a pause symbol (sil or #3) whose length pause_scale scales."""
    skipped: list[str]
    """Syllables that had no usable symbol and were left out."""


class SymbolTable:
    def __init__(self, mapper: Path) -> None:
        data = json.loads(mapper.read_text(encoding="utf-8"))
        self.symbol_to_id: dict[str, int] = data["symbol_to_id"]
        self.pinyin: dict[str, tuple[str, str]] = {
            k: (v[0], v[1]) for k, v in data["pinyin_dict"].items()
        }

    def syllable(self, syl: str) -> list[str] | None:
        """``"hang2"`` -> ``["h", "ang2"]``; ``None`` when no near syllable exists."""
        syl = syl.strip().lower().replace("ü", "v")
        tone = syl[-1] if syl and syl[-1] in "12345" else "5"
        base = syl[:-1] if syl and syl[-1] in "0123456789" else syl
        base = _ALIASES.get(base, base)
        if base not in self.pinyin and base.endswith("r") and base[:-1] in self.pinyin:
            initial, final = self.pinyin[base[:-1]]
            return [initial, final + tone, "er5"]
        if base not in self.pinyin:
            return None
        initial, final = self.pinyin[base]
        return [initial, final + tone]

    def encode(self, tokens: tuple[Token, ...]) -> SymbolSequence:
        sym = self.symbol_to_id
        ids, owners, pauses = [sym["sil"]], [-1], [True]
        skipped: list[str] = []
        pending: Break | None = None  # strongest break seen since the last syllable
        for ti, tok in enumerate(tokens):
            if tok.pinyin:
                for syl in tok.pinyin.split():
                    if syl == "r":  # erhua: er5 glued to the previous final
                        if len(ids) > 1:
                            ids.append(sym["er5"])
                            owners.append(ti)
                            pauses.append(False)
                        continue
                    parts = self.syllable(syl)
                    if parts is None:
                        skipped.append(syl)
                        continue
                    if pending is not None and len(ids) > 1:
                        marker = "#3" if pending >= Break.CLAUSE else _BREAK_SYMBOL[pending]
                        ids.append(sym[marker])
                        # a #0-#2 marker carries the tail of the syllable before it
                        owners.append(-1 if marker == "#3" else owners[-1])
                        pauses.append(marker == "#3")
                    for p in parts:
                        ids.append(sym[p])
                        owners.append(ti)
                        pauses.append(False)
                    pending = Break.NONE
            if pending is not None and tok.boundary > pending:
                pending = tok.boundary
        ids += [sym["sil"], sym["eos"]]
        owners += [-1, -1]
        pauses += [True, True]
        if skipped:
            log.warning("no symbol for syllables %s; left out", skipped)
        return SymbolSequence(ids, owners, pauses, skipped)
