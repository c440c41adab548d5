"""No pattern in hanvoice can backtrack badly: checked statically (every pattern the package
compiles, by :mod:`support.redos`), and by running every normalization rule, the SSML parser
and the whole front end on attack shapes of growing size (time must grow linearly)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hanvoice.text import Frontend
from hanvoice.text import ssml as markup
from hanvoice.text.normalize import all_rules
from support.redos import check

TESTS = Path(__file__).resolve().parents[1]

# (pattern, expected finding kinds): the checker itself must see each shape
CHECKER_CASES: list[tuple[str, list[str]]] = [
    (r"(a+)+b", ["nested", "leading"]),
    (r"(?<!a)(a+)+b", ["nested"]),
    (r"(\w+\s?)*$", ["nested", "leading"]),
    (r"x(?:\d+|\w)*c", ["nested"]),
    (r"(?:[A-Za-z]+\d*)*!", ["nested", "leading"]),
    (r"\d+\d*x", ["adjacent", "leading"]),
    (r"(?<!\d)\d+\s*(?:年)?\s*x", ["adjacent"]),
    (r"x(?=\s*[（(]?\s*周)", ["adjacent"]),
    (r"(?P<p>上午|下午)?\s*(?<![\d.:])\d{1,2}:\d{2}", ["leading"]),
    (r"\s*(?:kg|km)", ["leading"]),
    # safe shapes
    (r"(?<![\d.])\d+(?:\.\d+)?", []),
    (r"(?:\d+,)*\d+", ["leading"]),
    (r"x(?:a\d)*\d+", ["adjacent"]),
    (r"(?<![\d,])(?:\d+,)*\d+", []),
    (r"[A-Za-z]+(?:(?:['’]|-(?=[A-Za-z]))[A-Za-z]+)*", []),
    (r"(?<=按)\s*[#*]", []),
    (r"(?:(?<=比分)|(?<=以))\s*\d", []),
    (r"(?<![\w.])(?:[A-Za-z]+-?\d|\d+[A-Za-z])[A-Za-z\d]*+(?![\w.]*\d)", []),
    (r"\d{1,9}(?:\.\d{1,9})?\s*(ms|s)", []),
    (r"[A-Za-z]+|\d+|.", []),
    (r"^[a-z0-9]{0,252}(/[a-z0-9][a-z0-9._-]{0,127})+$", []),
    (r"x(/?[a-z0-9]{0,127})+$", ["nested"]),
]


@pytest.mark.parametrize(("pattern", "kinds"), CHECKER_CASES)
def test_checker_sees_each_shape(pattern: str, kinds: list[str]) -> None:
    assert sorted({f.kind for f in check(pattern)}) == sorted(set(kinds))


CHECKED_BY_RUNNING = {
    "[A-Z]?[a-z]+|[A-Z]+(?![a-z])": (
        "CamelCase parts (letters.py): a capital run followed by a lowercase letter fails its "
        "lookahead once, gives back one capital and matches; see test_allowed_are_linear"
    ),
}
"""Patterns the static check flags but that cannot backtrack badly, each with why; each is
also run on growing attack shapes below, so a wrong reason fails."""


@pytest.mark.parametrize("pattern", list(CHECKED_BY_RUNNING))
@pytest.mark.parametrize("unit", ["A", "Aa", "AAa", "a", "A1"])
def test_allowed_are_linear(pattern: str, unit: str) -> None:
    compiled = re.compile(pattern)
    took, ratio = _growth(lambda s: compiled.findall(s), unit, "a")
    assert took < 0.01 or ratio < LINEAR, (took, ratio)


def test_no_pattern_in_the_package_can_backtrack_badly() -> None:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    out = subprocess.run(
        [sys.executable, "-m", "support.redos"], env=env, capture_output=True, text=True, check=True
    )
    patterns = json.loads(out.stdout)
    assert len(patterns) > 150  # the rules, the SSML reader, the service's: all were seen
    bad = [
        f"{where}: {pattern[:80]!r}: {f.kind}: {f.detail}"
        for pattern, flags, where in patterns
        for f in check(pattern, flags)
        if pattern not in CHECKED_BY_RUNNING
    ]
    assert bad == []


# --- growth: time for 4n characters against time for n, on shapes that hurt backtracking ---
UNITS = [" ", "1", "1 ", "a", "A", "1.", "+1", "1-", "1:", "1/", "1,", "a.", "a@", "a1", "Ab",
         "-", ".", "1%", "a ", "0", "1年", "一", ":", "a-", "1.1.", "¥1", "年 ", "a1b", "_1",
         "\t", "　", "：", "好 ", "2026 "]  # fmt: skip
SIZES = (1500, 6000)
LINEAR = 8.0
"""Allowed growth of time for 4x the input: 4 is linear, 16 quadratic; 8 leaves room for
noise and caches (times are CPU time of this thread, so a busy machine does not count)."""


def _cpu(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best


def _growth(fn: Callable[[str], object], unit: str, tail: str = "") -> tuple[float, float]:
    small, large = ((unit * (n // len(unit) + 1))[:n] + tail for n in SIZES)
    a = _cpu(lambda: fn(small))
    b = _cpu(lambda: fn(large))
    return b, b / max(a, 1e-4)


@pytest.mark.parametrize("unit", UNITS)
def test_every_rule_is_linear(unit: str) -> None:
    slow = []
    for rule in all_rules():
        pattern = rule.pattern
        for tail in ("", "!", "\x00年"):
            took, ratio = _growth(lambda s, p=pattern: list(p.finditer(s)), unit, tail)
            if took > 0.01 and ratio > LINEAR:
                slow.append(f"{rule.name}: x{ratio:.1f} ({took:.3f} s) {pattern.pattern[:60]!r}")
    assert slow == []


SSML_SHAPES = [
    ("<!--a-->", "x"),
    ("<!--a-->", "<speak>x"),
    ("<a ", ""),
    ('<break time="1s"/>', "<"),
    ("<s>", ""),
    ("&#1", ""),
    ("&amp", ""),
    ('<prosody rate="', ""),
    ("<?x", ""),
    (" ", "<speak"),
    ("<speak x='", ""),
]


@pytest.mark.parametrize(("unit", "tail"), SSML_SHAPES)
def test_ssml_parsing_is_linear(unit: str, tail: str) -> None:
    def parse(text: str) -> None:
        with contextlib.suppress(Exception):  # invalid SSML is expected: time it all the same
            markup.parse(text)

    took, ratio = _growth(parse, unit, tail)
    assert took < 0.05 or ratio < LINEAR, (unit, took, ratio)


@pytest.mark.parametrize("unit", [" ", "1", "1 ", "a1", "+1", "年 ", "a1b", "1:", "好"])
def test_front_end_is_linear(unit: str) -> None:
    frontend = Frontend()
    frontend.warm()
    took, ratio = _growth(lambda s: frontend.analyze(s), unit, "!")
    assert ratio < LINEAR, (unit, took, ratio)
