"""Our pinyin tokens -> the Mellotron model's phoneme ids, checked against phkit's output."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hanvoice.engines.mellotron.symbols import PhonemeTable, third_tone_sandhi
from hanvoice.text.types import Token

CASES = Path(__file__).parents[2] / "cases" / "mellotron_phonemes.tsv"


@pytest.fixture(scope="module")
def table() -> PhonemeTable:
    return PhonemeTable()


def _tokens(pinyin: str) -> tuple[Token, ...]:
    return tuple(Token(p, None) if not p[0].isascii() else Token("字", p) for p in pinyin.split())


def _cases() -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in CASES.read_text("utf-8").splitlines()]
    return [(r[0], r[1]) for r in rows if len(r) == 2 and not r[0].startswith("#")]


@pytest.mark.parametrize(("pinyin", "expected"), _cases())
def test_encoding_matches_phkit(table: PhonemeTable, pinyin: str, expected: str) -> None:
    seq = table.encode(_tokens(pinyin))
    assert " ".join(table.symbols[i] for i in seq.ids) == expected


def test_the_table_is_the_one_the_model_was_trained_on(table: PhonemeTable) -> None:
    assert len(table.symbols) == 145  # n_symbols in the shipped hparams
    assert table.symbols[:3] == ["_", "~", "-"]
    assert len(table.syllables) == 420


@pytest.mark.parametrize(
    ("syllable", "phonemes"),
    [
        ("hao3", ["h", "ao", "3"]),
        ("an4", ["aa", "an", "4"]),
        ("yu2", ["vv", "v", "2"]),
        ("lü4", ["l", "v", "4"]),
        ("nüe4", ["n", "ve", "4"]),
        ("de", ["d", "e", "5"]),  # no tone digit: neutral
        ("m2", ["m", "u", "2"]),  # 呣, absent from phkit's table
        ("huar1", ["h", "ua", "1", "-", "ee", "er", "5"]),  # written erhua, as ttskit does
        ("HAO3", ["h", "ao", "3"]),
        ("xyz1", None),
        ("", None),
    ],
)
def test_syllable(table: PhonemeTable, syllable: str, phonemes: list[str] | None) -> None:
    assert table.syllable(syllable) == phonemes


@pytest.mark.parametrize(
    ("tones", "expected"),
    [
        ("3 3", "2 3"),
        ("3 3 3", "3 2 3"),  # phkit's alternation, which the training data has
        ("3 3 3 3", "2 3 2 3"),
        ("3 4 3", "3 4 3"),
        ("1 2", "1 2"),
    ],
)
def test_third_tone_sandhi(tones: str, expected: str) -> None:
    phones = [p for t in tones.split() for p in ("b", "a", t, "-")]
    out = third_tone_sandhi(phones)
    assert " ".join(out[2::4]) == expected


def test_owners_give_each_symbol_its_character(table: PhonemeTable) -> None:
    tokens = (Token("花", "hua1"), Token("儿", "r"), Token("，", None), Token("好", "hao3"))
    seq = table.encode(tokens)
    names = [table.symbols[i] for i in seq.ids]
    assert names == [
        "h",
        "ua",
        "1",
        "-",
        "ee",
        "er",
        "5",
        "-",
        ",",
        "-",
        "h",
        "ao",
        "3",
        "-",
        "~",
        "_",
    ]
    # the syllable's chain symbol is its own; punctuation and the end belong to nobody
    assert seq.owners == [0, 0, 0, 0, 1, 1, 1, 1, -1, -1, 3, 3, 3, 3, -1, -1]
    assert seq.spoken


def test_unknown_syllables_are_left_out_with_a_warning(
    table: PhonemeTable, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        seq = table.encode((Token("好", "hao3"), Token("?", "qqq9")))
    assert seq.skipped == ["qqq9"]
    assert [table.symbols[i] for i in seq.ids] == ["h", "ao", "3", "-", "~", "_"]
    assert "qqq9" in caplog.text


def test_nothing_spoken(table: PhonemeTable) -> None:
    seq = table.encode((Token("。", None), Token("…", None)))
    assert not seq.spoken
    assert [table.symbols[i] for i in seq.ids] == [".", "-", "~", "_"]
