"""The code-switching benchmark's sentence lists (``bench/codeswitch*.tsv``) measure what
they claim: every English word of a sentence is counted, under its own spelling, and no
accepted name is already written in the sentence (the recognizer would "hear it back" from
the Chinese around the word, not from the word)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
LISTS = sorted(BENCH.glob("codeswitch*.tsv"))


def rows(path: Path) -> list[tuple[str, dict[str, list[str]]]]:
    """``sentence<TAB>word=accepted|...`` lines, as ``bench.codeswitch.load`` reads them."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text, *fields = line.split("\t")
            wanted = {}
            for field in fields:
                word, _, accepted = field.partition("=")
                wanted[word] = [a for a in accepted.split("|") if a]
            out.append((text, wanted))
    return out


def test_there_are_lists() -> None:
    assert len(LISTS) >= 4
    assert all(len(rows(p)) >= 20 for p in LISTS)


@pytest.mark.parametrize("path", LISTS, ids=lambda p: p.name)
def test_every_english_word_is_counted_once(path: Path) -> None:
    seen: dict[str, int] = {}
    for text, wanted in rows(path):
        latin = set(re.findall(r"[A-Za-z][A-Za-z'’-]*", text))
        assert wanted, text
        for word, accepted in wanted.items():
            assert word in text, (word, text)
            assert accepted and accepted[0] == word.lower(), (word, accepted)
            assert not any(a in text for a in accepted[1:]), (word, accepted, text)
            seen[word.lower()] = seen.get(word.lower(), 0) + 1
        counted = " ".join(wanted)
        assert all(w in counted for w in latin), (latin, text)
    assert all(n == 1 for n in seen.values()), {w: n for w, n in seen.items() if n > 1}
