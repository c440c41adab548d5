"""Every row of ``tests/cases/*.tsv``: per module, through the whole pipeline, and all rows
of a file in one text (rules that fight each other show up there)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from hanvoice.engines.fastspeech2.symbols import SymbolTable
from hanvoice.text import Frontend, Utterance
from hanvoice.text.cleanup import clean
from hanvoice.text.normalize import all_rules, dates, money, numbers, phone, symbols, units
from hanvoice.text.normalize.rule import Rule

from .cases import Case, all_cases, files, load

MODULE_RULES = {
    "numbers.tsv": lambda: [
        numbers.score_rule(),
        numbers.context_score_rule(),
        numbers.version_rule(),
        numbers.suffix_ordinal_rule(),
        *numbers.rules(),
    ],
    "dates.tsv": dates.rules,
    "money.tsv": money.rules,
    "units.tsv": units.rules,
    "phone.tsv": phone.rules,
    "symbols.tsv": symbols.rules,
    "cleanup.tsv": list,
}
CASES = all_cases()


def pinyin_of(utt: Utterance) -> str:
    return " ".join(t.pinyin for t in utt.tokens if t.pinyin)


def actual(case: Case, utt: Utterance) -> str:
    return utt.normalized if case.compare == "normalized" else pinyin_of(utt)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 300
    assert {c.compare for c in CASES} == {"normalized", "pinyin"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_pipeline(frontend: Frontend, table: SymbolTable, case: Case) -> None:
    utt = frontend.analyze(case.text)
    assert actual(case, utt) in case.expected
    for seg in utt.segments:
        assert table.encode(seg.tokens).skipped == []


def _ascii(rule: Rule) -> Rule:
    flags = (rule.pattern.flags & ~re.UNICODE) | re.ASCII
    return replace(rule, pattern=re.compile(rule.pattern.pattern, flags))


@pytest.mark.parametrize("case", [c for c in CASES if c.file in MODULE_RULES], ids=lambda c: c.id)
def test_module_first(case: Case) -> None:
    """The category's own module handles the row when it runs before every other rule."""
    buf, _ = clean(case.text)
    for rule in MODULE_RULES[case.file]():
        rule = _ascii(rule)
        buf.sub(rule.pattern, rule.replace)
    for rule in all_rules():
        buf.sub(rule.pattern, rule.replace)
    assert buf.text in case.expected


@pytest.mark.parametrize("name", files())
def test_whole_file_in_one_text(frontend: Frontend, name: str) -> None:
    cases = load(name)
    text = "\n".join(c.text for c in cases)
    utt = frontend.analyze(text)
    starts = []
    pos = 0
    for c in cases:
        starts.append((pos, pos + len(c.text)))
        pos += len(c.text) + 1
    for c, (a, b) in zip(cases, starts, strict=True):
        toks = [t for t in utt.tokens if a <= t.source[0] < b or (t.source[0] < a < t.source[1])]
        toks = [t for t in toks if t.char != "\n"]
        got = (
            "".join(t.char for t in toks)
            if c.compare == "normalized"
            else " ".join(t.pinyin for t in toks if t.pinyin)
        )
        assert got in c.expected, f"{c.id}: {got!r}"
