"""English pronunciation -> Mandarin syllables (``normalize/english.py``)."""

from __future__ import annotations

import pytest

from hanvoice.engines.fastspeech2.symbols import SymbolTable
from hanvoice.engines.mellotron.symbols import PhonemeTable
from hanvoice.text.normalize import english
from hanvoice.text.types import Token


@pytest.mark.parametrize(
    ("phones", "syllables"),
    [
        ("Z UW1 M", "zu4 mu5"),  # a lone final consonant gets a light vowel
        ("S P AO1 T AH0 F AY2", "si5 po1 te1 fei1"),  # f + ai is not Mandarin: fei
        ("Y UW1 T Y UW2 B", "you1 tu1 bu5"),  # the glide of T Y UW goes into the final
        ("T EH1 S L AH0", "tai1 si5 la1"),  # a final schwa is a, a medial one e
        ("M IY1 T IH0 NG", "mi1 ting1"),  # NG after a vowel is its coda
        ("K IY1", "qi4"),  # k before [i] is q (Mandarin has no ki)
    ],
)
def test_adapt(phones: str, syllables: str) -> None:
    assert " ".join(english.adapt(phones.split())) == syllables


def test_dictionary_lookup() -> None:
    d = english.dictionary()
    assert d.get("zoom") == "Z UW1 M"
    assert d.get("a") is not None and d.get("zywicki") is not None  # first and last lines
    assert d.get("nba") is None  # letter spellings are left out: letters.tsv spells them
    assert "qwzx" not in d


def test_every_adapted_syllable_is_one_the_voices_have() -> None:
    """A sample of 3,000 dictionary words: nothing the adapter makes is silent in the
    Baker voice's symbol table or the Mellotron voices' phoneme table."""
    from hanvoice.engines.fastspeech2.assets import find_asset_dir

    baker = SymbolTable(find_asset_dir() / "baker_mapper.json")
    mellotron = PhonemeTable()
    d = english.dictionary()
    step = len(d.starts) // 3000
    syllables: set[str] = set()
    for i in range(0, len(d.starts), step):
        a = d.starts[i]
        phones = d.text[d.text.index(" ", a) + 1 : d.text.index("\n", a)]
        syllables.update(english.adapt(phones.split()))
    tokens = tuple(Token("字", s) for s in sorted(syllables))
    assert baker.encode(tokens).skipped == []
    assert mellotron.encode(tokens).skipped == []
