"""The recognition check's comparison, table-driven (tests/cases/asr_check.tsv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanvoice.asr.check import flags_for
from hanvoice.asr.compare import Tolerance
from hanvoice.asr.phonetic import distance, split
from hanvoice.text import Frontend

CASES = Path(__file__).parents[2] / "cases" / "asr_check.tsv"


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for line in CASES.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            text, heard, want = line.split("\t")
            out.append((text, heard, want))
    return out


@pytest.fixture(scope="module")
def frontend() -> Frontend:
    return Frontend()


@pytest.mark.parametrize(("text", "heard", "want"), _cases())
def test_flags(frontend: Frontend, text: str, heard: str, want: str) -> None:
    flags = flags_for(text, heard, frontend, Tolerance())
    got = ",".join(f.category for f in flags) or "ok"
    assert got == want, [f.as_dict() for f in flags]
    for f in flags:  # every flag points into the reference and the transcript
        assert text[f.start : f.end] == f.expected
        assert f.heard == heard[f.heard_start : f.heard_end]


def test_flag_names_the_span() -> None:
    (flag,) = flags_for("请不要在车厢内吸烟。", "请在车厢内吸烟。", Frontend(), Tolerance())
    want = {"span": [1, 3], "expected": "不要", "heard": "", "category": "missing"}
    assert flag.as_dict() == want


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [
        ("zhun", "zhun", 0.0),
        ("ci", "zi", 0.25),  # c/z confusable, same final
        ("chuang", "zhuang", 0.25),  # ch/zh confusable
        ("lu", "du", 0.5),  # one part different
        ("zhun", "zhong", 0.25),  # un/ong confusable, same initial
        ("mao", "gou", 1.0),
        ("yi", "lv", 1.0),
    ],
)
def test_distance(a: str, b: str, d: float) -> None:
    assert distance(a, b) == d == distance(b, a)


@pytest.mark.parametrize(
    ("syllable", "parts"),
    [("zhuang", ("zh", "uang")), ("yan", ("", "ian")), ("wen", ("", "un")), ("xue", ("x", "ve"))],
)
def test_split(syllable: str, parts: tuple[str, str]) -> None:
    assert split(syllable) == parts
