"""WeTextProcessing's own Chinese TN test data as a public reference suite.

The copy, its source, commits and licence are in ``tests/cases/wetext/`` (SOURCE.md).
Every row runs through the whole front end; ``Utterance.normalized`` is compared with the
spoken side once what is not speech is removed from both (whitespace, punctuation, WeText's
``<oov>`` tags). Rows where we differ on purpose are listed with the reason in
``conventions.tsv``: a listed row that starts to match, or an unlisted row that does not,
fails the test.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from hanvoice.text import Frontend

SUITE = Path(__file__).resolve().parents[2] / "cases" / "wetext"
MIN_EXACT = 0.85
"""85 of 98 rows today (86.7 %); the other 13 are conventions (see conventions.tsv)."""


def speech(text: str) -> str:
    """What is said: no ``<oov>`` tags, no punctuation, no spaces."""
    text = re.sub(r"</?oov>", "", text)
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PZ" and c.isprintable())


def suite() -> list[tuple[str, str, str]]:
    """(file, written, spoken) for every row of every file."""
    out = []
    for path in sorted(SUITE.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                written, _, spoken = line.partition(" =>")
                out.append((path.name, written, spoken.strip()))
    return out


def conventions() -> dict[tuple[str, str], str]:
    out = {}
    for line in (SUITE / "conventions.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, written, reason = line.split("\t")
            out[(name, written)] = reason
    return out


def test_speech_drops_only_what_is_not_said() -> None:
    assert speech('他说:"我们<oov>안</oov>!"') == "他说我们안"
    assert speech("O to O") == "OtoO"


def test_suite_matches_except_listed_conventions(frontend: Frontend) -> None:
    rows = suite()
    listed = conventions()
    assert len(rows) >= 95
    assert all(reason.strip() for reason in listed.values())
    misses = {}
    for name, written, spoken in rows:
        got = frontend.analyze(written).normalized
        if speech(got) != speech(spoken):
            misses[(name, written)] = f"{got!r} (WeText: {spoken!r})"
    unlisted = {k: v for k, v in misses.items() if k not in listed}
    fixed = [k for k in listed if k not in misses]
    assert not unlisted, f"new differences: {unlisted}"
    assert not fixed, f"listed as conventions but now matching (remove them): {fixed}"
    exact = 1 - len(misses) / len(rows)
    assert exact >= MIN_EXACT, f"{exact:.1%} exact"


@pytest.mark.parametrize("key", sorted(conventions()))
def test_listed_rows_exist(key: tuple[str, str]) -> None:
    assert key in {(n, w) for n, w, _ in suite()}
