"""A small static ReDoS checker for Python patterns (``re._parser`` trees).

Python's regex engine backtracks and holds the GIL while it does: one pattern that takes
seconds on a few kilobytes stops the whole service (event loop, probes, timeouts). Three
shapes cause it, and each is found here by looking at the parsed pattern, not by running it:

``nested``
    an unbounded repeat inside an unbounded repeat, where one pass of the outer body can be
    cut in several ways: ``(a+)+``, ``(\\w+\\s?)*``. Exponential. Safe when the outer body
    has a required character that the inner repeat cannot match (``(?:\\d+,)*``): every
    pass then ends at a place the text fixes. Also an alternation inside an unbounded repeat
    whose branches can start with the same character (``(?:a|ab)*``).
``adjacent``
    two unbounded repeats that can match the same character with only optional items
    between them: ``\\d+\\d*``, ``\\s*(?:x)?\\s*``. On a long run of that character that
    fails to match at the end, every split is tried: polynomial.
``leading``
    an unbounded repeat that can be the first thing a search tries, unguarded: ``\\s*x``
    searched in a long run of blanks tries every start and runs to the end from each:
    quadratic. Guarded by an anchor, or by a negative lookbehind that refuses a start in the
    middle of such a run (``(?<!\\d)\\d+``).

Characters are judged on a sample alphabet (ASCII, blanks, some CJK and full-width forms),
which is enough to see whether two classes overlap.

>>> [f.kind for f in check(r"(a+)+b")]
['nested']
>>> check(r"(?<![\\d.])\\d+(?:\\.\\d+)?")
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as C  # noqa: N812
from re import _parser as P  # noqa: N812
from typing import Any

ALPHABET = frozenset(
    [chr(i) for i in range(0x20, 0x7F)]
    + list("\t\n\r\x0b\x0c\x00\u00a0\u3000\u200b")
    + list("好一年月日号点：，。、—～％￥ａＡ１é")
)
UNBOUNDED = 32
"""A repeat allowing more than this many passes counts as unbounded (``{1,32}`` is a bound
on the work; ``{1,1000}`` is not much of one)."""


@dataclass(frozen=True)
class Finding:
    kind: str
    """``nested``, ``adjacent`` or ``leading``."""
    detail: str


Item = tuple[Any, Any]


def check(pattern: str, flags: int = 0) -> list[Finding]:
    """What in ``pattern`` can backtrack badly (empty when nothing can)."""
    tree = P.parse(pattern, flags)
    ctx = _Ctx(tree.state.flags)
    out: list[Finding] = []
    _walk(list(tree.data), ctx, out, inside_repeat=False)
    out += _leading(list(tree.data), ctx)
    return out


@dataclass(frozen=True)
class _Ctx:
    flags: int

    def category(self, cat: Any) -> frozenset[str]:
        ascii_only = bool(self.flags & re.ASCII)

        def digit(c: str) -> bool:
            return c in "0123456789" if ascii_only else c.isdecimal()

        def space(c: str) -> bool:
            return c in " \t\n\r\x0b\x0c" if ascii_only else c.isspace()

        def word(c: str) -> bool:
            return (c.isascii() and (c.isalnum() or c == "_")) or (
                not ascii_only and (c.isalnum() or c == "_")
            )

        tests = {
            C.CATEGORY_DIGIT: digit,
            C.CATEGORY_NOT_DIGIT: lambda c: not digit(c),
            C.CATEGORY_SPACE: space,
            C.CATEGORY_NOT_SPACE: lambda c: not space(c),
            C.CATEGORY_WORD: word,
            C.CATEGORY_NOT_WORD: lambda c: not word(c),
        }
        test = tests.get(cat)
        return frozenset(c for c in ALPHABET if test(c)) if test else frozenset()

    def literal(self, code: int) -> frozenset[str]:
        c = chr(code)
        if self.flags & re.IGNORECASE:
            return frozenset({c, c.lower(), c.upper()}) & (ALPHABET | {c})
        return frozenset({c})


def _single(op: Any, av: Any, ctx: _Ctx) -> frozenset[str] | None:
    """Characters a one-character item matches, or ``None`` when it is not one."""
    if op is C.LITERAL:
        return ctx.literal(av)
    if op is C.NOT_LITERAL:
        return ALPHABET - ctx.literal(av)
    if op is C.ANY:
        return ALPHABET if ctx.flags & re.DOTALL else ALPHABET - {"\n"}
    if op is C.CATEGORY:
        return ctx.category(av)
    if op is C.IN:
        chars: set[str] = set()
        negate = False
        for sub_op, sub_av in av:
            if sub_op is C.NEGATE:
                negate = True
            elif sub_op is C.LITERAL:
                chars |= ctx.literal(sub_av)
            elif sub_op is C.RANGE:
                lo, hi = sub_av
                chars |= {c for c in ALPHABET if lo <= ord(c) <= hi}
            elif sub_op is C.CATEGORY:
                chars |= ctx.category(sub_av)
        return frozenset(ALPHABET - chars if negate else chars)
    return None


def _repeat(op: Any, av: Any) -> tuple[int, int, list[Item]] | None:
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        lo, hi, body = av
        return lo, hi, list(body.data)
    return None


def _unbounded(op: Any, av: Any) -> bool:
    r = _repeat(op, av)
    return r is not None and r[1] > UNBOUNDED and op is not C.POSSESSIVE_REPEAT


def _children(op: Any, av: Any) -> list[list[Item]]:
    """The sequences directly inside an item."""
    if op is C.SUBPATTERN:
        return [list(av[-1].data)]
    if op is C.ATOMIC_GROUP:
        return [list(av.data)]
    if op is C.BRANCH:
        return [list(b.data) for b in av[1]]
    if op in (C.ASSERT, C.ASSERT_NOT):
        return [list(av[1].data)]
    if op is C.GROUPREF_EXISTS:
        return [list(b.data) for b in av[1:] if b is not None]
    r = _repeat(op, av)
    return [r[2]] if r else []


def chars(seq: list[Item], ctx: _Ctx) -> frozenset[str]:
    """Every character a match of ``seq`` can contain."""
    out: set[str] = set()
    for op, av in seq:
        single = _single(op, av, ctx)
        if single is not None:
            out |= single
        elif op not in (C.ASSERT, C.ASSERT_NOT):
            for child in _children(op, av):
                out |= chars(child, ctx)
    return frozenset(out)


def nullable(seq: list[Item]) -> bool:
    """Can ``seq`` match the empty string?"""
    return all(_nullable_item(op, av) for op, av in seq)


def _nullable_item(op: Any, av: Any) -> bool:
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return True
    r = _repeat(op, av)
    if r is not None:
        return r[0] == 0 or nullable(r[2])
    if op in (C.SUBPATTERN, C.ATOMIC_GROUP):
        return nullable(_children(op, av)[0])
    if op is C.BRANCH:
        return any(nullable(b) for b in _children(op, av))
    if op is C.GROUPREF_EXISTS:
        return True
    return op is C.GROUPREF


def first(seq: list[Item], ctx: _Ctx) -> frozenset[str]:
    """Characters a match of ``seq`` can start with."""
    out: set[str] = set()
    for op, av in seq:
        single = _single(op, av, ctx)
        if single is not None:
            return frozenset(out | single)
        if op not in (C.AT, C.ASSERT, C.ASSERT_NOT):
            for child in _children(op, av):
                out |= first(child, ctx)
        if not _nullable_item(op, av):
            break
    return frozenset(out)


def last(seq: list[Item], ctx: _Ctx) -> frozenset[str]:
    """Characters a match of ``seq`` can end with."""
    out: set[str] = set()
    for op, av in reversed(seq):
        single = _single(op, av, ctx)
        if single is not None:
            return frozenset(out | single)
        if op not in (C.AT, C.ASSERT, C.ASSERT_NOT):
            for child in _children(op, av):
                out |= last(child, ctx)
        if not _nullable_item(op, av):
            break
    return frozenset(out)


def _walk(seq: list[Item], ctx: _Ctx, out: list[Finding], *, inside_repeat: bool) -> None:
    _adjacent(seq, ctx, out)
    for op, av in seq:
        r = _repeat(op, av)
        if r is not None and _unbounded(op, av):
            _nested(r[2], ctx, out)
        if op is C.BRANCH and inside_repeat:
            _overlapping_branches(_children(op, av), ctx, out)
        for child in _children(op, av):
            _walk(child, ctx, out, inside_repeat=inside_repeat or _unbounded(op, av))


def _inner_repeats(seq: list[Item]) -> list[tuple[Any, Any]]:
    found = []
    for op, av in seq:
        if _unbounded(op, av):
            found.append((op, av))
        for child in _children(op, av):
            if op not in (C.ASSERT, C.ASSERT_NOT):
                found += _inner_repeats(child)
    return found


def _nested(body: list[Item], ctx: _Ctx, out: list[Finding]) -> None:
    """An unbounded repeat whose body holds another one, with nothing required in the body
    that the inner one cannot also match."""
    while len(body) == 1 and body[0][0] in (C.SUBPATTERN, C.ATOMIC_GROUP):
        body = _children(*body[0])[0]  # (/x+)+: the group's own items are what repeats
    required = [chars([(op, av)], ctx) for op, av in body if not _nullable_item(op, av)]
    for op, av in _inner_repeats(body):
        inner = chars(_children(op, av)[0], ctx)
        if not any(s.isdisjoint(inner) for s in required):
            out.append(Finding("nested", f"{_show(op, av, ctx)} inside an unbounded repeat"))


def _overlapping_branches(branches: list[list[Item]], ctx: _Ctx, out: list[Finding]) -> None:
    starts = [first(b, ctx) for b in branches]
    for i, a in enumerate(starts):
        for b in starts[i + 1 :]:
            if a & b:
                out.append(
                    Finding("nested", f"alternatives in a repeat both start with {min(a & b)!r}")
                )
                return


def _adjacent(seq: list[Item], ctx: _Ctx, out: list[Finding]) -> None:
    for i, (op, av) in enumerate(seq):
        if not _unbounded(op, av):
            continue
        mine = last(_children(op, av)[0], ctx)
        for op2, av2 in seq[i + 1 :]:
            # what the second repeat takes first is what the first one could have kept
            if _unbounded(op2, av2) and mine & first(_children(op2, av2)[0], ctx):
                overlap = min(mine & first(_children(op2, av2)[0], ctx))
                out.append(
                    Finding(
                        "adjacent",
                        f"{_show(op, av, ctx)} then {_show(op2, av2, ctx)} both match {overlap!r}",
                    )
                )
                break
            if not _nullable_item(op2, av2):
                break


def _leading(
    seq: list[Item], ctx: _Ctx, guard: frozenset[str] = frozenset(), then: bool = False
) -> list[Finding]:
    """Unbounded repeats a search can start with, not guarded by an anchor or lookbehind.

    ``guard``: characters a lookbehind before ``seq`` refuses right before a start (a
    start inside a run of the repeat's characters fails at once when it refuses them all);
    ``then``: something after ``seq`` can still fail (a repeat that ends the pattern takes
    its run and succeeds, without backtracking)."""
    for i, (op, av) in enumerate(seq):
        if op is C.AT:
            if av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
                return []
            continue
        behind = _lookbehind_guard(op, av, ctx)
        if behind is not None:
            guard |= behind
            continue
        if op is C.ASSERT:
            continue
        rest = then or can_fail(seq[i + 1 :])
        if _unbounded(op, av):
            mine = chars(_children(op, av)[0], ctx)
            if rest and not mine <= guard:
                return [Finding("leading", f"a search can start with {_show(op, av, ctx)}")]
            return []
        if op in (C.SUBPATTERN, C.ATOMIC_GROUP, C.BRANCH):
            found = [f for child in _children(op, av) for f in _leading(child, ctx, guard, rest)]
            if found:
                return found
        if not _nullable_item(op, av):
            return []
    return []


def _lookbehind_guard(op: Any, av: Any, ctx: _Ctx) -> frozenset[str] | None:
    """Characters a lookbehind (or a group of alternative lookbehinds) refuses right before
    the position it guards; ``None`` when the item is not such a lookbehind."""
    if op in (C.ASSERT, C.ASSERT_NOT) and av[0] == -1:
        body = list(av[1].data)
        if op is C.ASSERT:  # (?<=按): only right after what it ends with
            return ALPHABET - chars(body, ctx)
        single = _single(*body[0], ctx) if len(body) == 1 else None
        return single if single is not None else frozenset()  # (?<![\d.])
    if op in (C.SUBPATTERN, C.BRANCH):
        branches = _children(op, av) if op is C.BRANCH else [_children(op, av)[0]]
        guards = []
        for b in branches:
            if len(b) != 1 or (g := _lookbehind_guard(*b[0], ctx)) is None:
                return None
            guards.append(g)
        return frozenset.intersection(*guards) if guards else None
    return None


def can_fail(seq: list[Item]) -> bool:
    """Can matching ``seq`` fail wherever it is tried? (An optional repeat never does.)"""
    return any(_item_can_fail(op, av) for op, av in seq)


def _item_can_fail(op: Any, av: Any) -> bool:
    r = _repeat(op, av)
    if r is not None:
        return r[0] > 0
    if op in (C.SUBPATTERN, C.ATOMIC_GROUP):
        return can_fail(_children(op, av)[0])
    if op is C.BRANCH:
        return all(can_fail(b) for b in _children(op, av))
    return True


def _show(op: Any, av: Any, ctx: _Ctx) -> str:
    lo, hi, body = _repeat(op, av) or (0, 0, [])
    cs = chars(body, ctx)
    sample = "".join(sorted(cs))[:12]
    most = "" if hi == C.MAXREPEAT else str(hi)
    return f"a repeat{{{lo},{most}}} of [{sample}{'...' if len(cs) > 12 else ''}]"


SAMPLES = (
    "2026年12月6日 10:30 到 11:00，¥1,200.50，50%，13812345678，WiFi www.a.com a@b.cn v2.1 "
    "3:1 1/2 -5℃ 第3 C++ x=1+2 Mr. Smith 12.25 星期五 按#号键 A4 3-5 1-2年",
    '<speak><emotion category="happy">你好<break time="1s"/><say-as interpret-as="digits">123'
    '</say-as><phoneme ph="hang2">行</phoneme><sub alias="x">y</sub></emotion></speak>',
)


def collect() -> dict[str, list[Any]]:
    """Every pattern hanvoice compiles (at import, when its rules are built, and while the
    front end reads text and SSML), with the place that compiled it. Run in a fresh
    interpreter (``python -m support.redos``): patterns compiled before the hook is in place
    would be missed."""
    import importlib
    import pkgutil
    import traceback

    found: dict[str, list[Any]] = {}
    compile_ = re._compile  # type: ignore[attr-defined]

    def hook(pattern: Any, flags: Any) -> Any:
        if isinstance(pattern, str):
            # the first caller outside the re module: ours, or a library's (not checked)
            for frame in reversed(traceback.extract_stack()[:-1]):
                path = frame.filename
                if "/re/" in path or path.endswith("/re.py"):
                    continue
                if "/hanvoice/" in path and "site-packages" not in path:
                    key = f"{int(flags)}:{pattern}"
                    where = f"{path.split('/hanvoice/')[-1]}:{frame.lineno}"
                    found.setdefault(key, [pattern, int(flags), where])
                break
        return compile_(pattern, flags)

    re._compile = hook  # type: ignore[attr-defined]
    import hanvoice
    from hanvoice.text import Frontend
    from hanvoice.text.normalize import all_rules

    for mod in pkgutil.walk_packages(hanvoice.__path__, "hanvoice."):
        importlib.import_module(mod.name)
    all_rules()
    frontend = Frontend()
    for text in SAMPLES:
        frontend.analyze(text, ssml=text.startswith("<"))
    return found


if __name__ == "__main__":
    import json

    print(json.dumps(list(collect().values())))
