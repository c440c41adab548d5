"""Any Unicode text: never an exception, every symbol in the voice's table, no segment over
the limit, tokens that spell the normalized text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hanvoice.engines.fastspeech2.symbols import SymbolTable
from hanvoice.text import Frontend, FrontendConfig

FRONTEND = Frontend(FrontendConfig(max_syllables=20))
PIECES = st.sampled_from(
    ["2026-11-24", "10:30", "-5℃", "¥1,200.50", "3-5", "1/2", "50%", "第3", "v2.1", "3:1",
     "13812345678", "WiFi", "CPU", "www.a.com", "a@b.cn", "长", "行", "一", "不", "儿", "呣",
     "，", "。", "\n", " ", "<", "&", "#", "😀", "\u200b", "２", "軟體", ".", "-", "+", "=",
     "km", "GB", "℃", "°", "%", "‰", "$", "€", "～", "…", "、"]
)  # fmt: skip
TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=25).map("".join),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x9FFF), max_size=80),
)


def check(text: str, table: SymbolTable) -> None:
    utt = FRONTEND.analyze(text)
    assert "".join(t.char for t in utt.tokens) == utt.normalized
    for seg in utt.segments:
        assert seg.syllables <= 20
        assert table.encode(seg.tokens).skipped == []
        for t in seg.tokens:
            assert 0 <= t.source[0] <= t.source[1] <= len(text)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(TEXT)
def test_any_text(table: SymbolTable, text: str) -> None:
    check(text, table)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=12).map("".join))
def test_any_ssml_text_or_clear_error(table: SymbolTable, body: str) -> None:
    from hanvoice.errors import SSMLError

    ssml = f'<speak><emotion category="happy">{body}</emotion><break time="1s"/></speak>'
    try:
        utt = FRONTEND.analyze(ssml, ssml=True)
    except SSMLError as exc:
        assert "line" in exc.message
        return
    for seg in utt.segments:
        assert table.encode(seg.tokens).skipped == []
