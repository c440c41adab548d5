"""Splitting the first clause off a stream's first segment."""

from __future__ import annotations

import pytest

from hanvoice.text import Frontend, Segment
from hanvoice.text.sentences import split_first_clause


def spoken(seg: Segment) -> str:
    return "".join(t.char for t in seg.tokens if t.spoken)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("在一个阳光明媚的早晨，小明背着书包走进了学校。他很开心。", "在一个阳光明媚的早晨"),
        ("你好，世界。", "你好世界"),  # first clause too short to stand alone
        ("今天天气很好。", "今天天气很好"),  # no clause break
        ("我们出发吧，马上就到了，", "我们出发吧"),
    ],
)
def test_split(text: str, first: str) -> None:
    utt = Frontend().analyze(text)
    out = split_first_clause(utt)
    assert spoken(out.segments[0]) == first
    if len(out.segments) > len(utt.segments):  # split: the comma stays with its clause
        assert not out.segments[0].tokens[-1].spoken and out.segments[1].tokens[0].spoken
    # nothing lost, nothing reordered, token indices consistent
    assert [t for s in out.segments for t in s.tokens] == [
        t for s in utt.segments for t in s.tokens
    ]
    for seg in out.segments:
        if seg.tokens:
            assert out.tokens[seg.start] == seg.tokens[0]
    assert out.segments[-1].pause_after == utt.segments[-1].pause_after
