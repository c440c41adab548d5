"""Hypothesis strategies for what clients send: Unicode text of every kind, SSML documents
from a grammar (valid and not), and parameter combinations (in range, out of range, of the
wrong type). Shared by the property tests (a few hundred examples in CI) and
``bench/fuzz.py`` (thousands).

The property everywhere: audio, or a clean client error; never anything else.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

PIECES = st.sampled_from(
    ["2026-11-24", "10:30", "-5℃", "¥1,200.50", "3-5", "1/2", "50%", "第3", "v2.1", "3:1",
     "13812345678", "WiFi", "CPU", "www.a.com", "a@b.cn", "长", "行", "一", "不", "儿", "呣",
     "，", "。", "！", "？", "\n", " ", "<", "&", "#", "😀", "\u200b", "２", "軟體", ".", "-",
     "+", "=", "km", "GB", "℃", "°", "%", "‰", "$", "€", "～", "…", "、", "发", "了", "好",
     "的", "呢", "a1aaaa.1", "\x00", "\x1b", "\u202e", "\ufeff", "ᄀ", "ж", "ё", "\u3164",
     "iPhone 15 Pro", "Facebook", "A4", "3.14159", "1" * 30, " " * 40, "年 " * 8]
)  # fmt: skip
"""Fragments that exercise each normalizer, sentence ends, and odd characters."""

CHARS = st.characters(
    blacklist_categories=("Cs",),  # lone surrogates are refused at the door (a 400)
)

TEXT = st.one_of(
    st.text(CHARS, max_size=60),
    st.lists(st.one_of(PIECES, st.text(CHARS, max_size=4)), max_size=25).map("".join),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x9FFF), max_size=80),
    st.lists(st.sampled_from("的一是了不在有人这中大为上个国我以要他时来用们生到作地于出就分对成会可发好呢。！？，"),
             min_size=1, max_size=40).map("".join),
)  # fmt: skip
"""Any text, biased toward what the front end and the engines have to cope with."""

EMOTIONS = ["neutral", "happy", "sad", "angry", "fear", "surprise", "disgust", "hate", "HAPPY"]


def _rarely(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``bad`` about one time in twenty: one invalid value refuses the whole request, and
    most of what is generated should reach the engine. (A one_of of both would be drawn
    near half and half: Hypothesis favours the first and last branches.)"""
    return st.integers(1, 20).flatmap(lambda i: bad if i == 7 else good)


def _mostly(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """Valid values but about one time in twenty."""
    return _rarely(st.sampled_from(good), st.sampled_from(bad))


def _attr(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), values.map(lambda v: f' {name}="{v}"'))


BREAK = st.one_of(
    _attr("time", _mostly(["0ms", "200ms", "1s", "1.5s", "10s", "3s"], ["11s", "x", "-1s", ""])),
    _attr("strength", _mostly(["weak", "strong", "none", "x-strong"], ["loud"])),
).map(lambda a: f"<break{a}/>")

PROSODY = st.tuples(
    _attr("rate", _mostly(["slow", "x-fast", "+20%", "50%", "0.1", "3"], ["nan", "zz"])),
    _attr("pitch", _mostly(["+2st", "high", "-10%", "+100Hz", "+99st"], ["x"])),
    _attr("volume", _mostly(["loud", "-6dB", "+50dB", "silent"], ["?"])),
).map(lambda t: "".join(t))

SAY_AS = _mostly(
    ["digits", "cardinal", "telephone", "date", "time", "characters", "spell-out", "ordinal",
     "name", "address"], ["nonsense"]
)  # fmt: skip
SPOKEN = TEXT.filter(lambda t: any(c.isalnum() for c in t))
"""Text with something to say (an element around nothing is refused)."""
_SYLLABLES = st.lists(
    st.sampled_from([("行", "hang2"), ("长", "zhang3"), ("好", "hao3"), ("绿", "lv4")]),
    min_size=1,
    max_size=3,
)
PHONEME = _rarely(
    _SYLLABLES.map(lambda xs: ("".join(c for c, _ in xs), " ".join(p for _, p in xs))),
    st.tuples(st.text("行长好", min_size=1, max_size=3), st.sampled_from(["xx9", "hang2 hang2"])),
)
"""Characters with their pinyin, or (rarely) a wrong count or a non-syllable."""


def _wrap(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(PROSODY, inner).map(lambda t: f"<prosody{t[0]}>{t[1]}</prosody>"),
        st.tuples(_mostly(EMOTIONS, ["nope", ""]), inner).map(
            lambda t: f'<emotion category="{t[0]}">{t[1]}</emotion>'
        ),
        inner.map(lambda x: f"<p>{x}</p>"),
        inner.map(lambda x: f"<s>{x}</s>"),
        st.tuples(SAY_AS, SPOKEN).map(
            lambda t: f'<say-as interpret-as="{t[0]}">{_escape(t[1])}</say-as>'
        ),
        PHONEME.map(lambda t: f'<phoneme alphabet="pinyin" ph="{t[1]}">{t[0]}</phoneme>'),
        st.tuples(TEXT, TEXT).map(lambda t: f'<sub alias="{_escape(t[0])}">{_escape(t[1])}</sub>'),
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


NODE = st.recursive(
    st.one_of(TEXT.map(_escape), BREAK, st.sampled_from(["&#31080;", "&amp;", "&#x1F600;"])),
    lambda inner: st.one_of(_wrap(inner), st.lists(inner, max_size=4).map("".join)),
    max_leaves=12,
)

SSML = _rarely(
    st.one_of(
        st.lists(NODE, min_size=1, max_size=5).map(lambda xs: "<speak>" + "".join(xs) + "</speak>"),
        st.lists(NODE, min_size=1, max_size=3).map("".join),  # a fragment (the parser wraps it)
    ),
    st.tuples(NODE, st.sampled_from(["<", "</speak>", "<speak>", "<!--", "&", "<x>", "<?x"])).map(
        lambda t: "<speak>" + t[0] + t[1] + "</speak>"
    ),  # broken on purpose
)
"""SSML documents from a grammar of every element we support, with valid and invalid
attribute values, nesting, entities, and broken documents."""


def _in_range(lo: float, hi: float, outside: st.SearchStrategy[float]) -> st.SearchStrategy[float]:
    return _rarely(st.floats(lo, hi), outside)


PARAMS: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "emotion": _mostly(EMOTIONS, ["joyful", ""]),
        "intensity": _in_range(0, 2, st.sampled_from([-1.0, 3.0, float("nan")])),
        "speed": _in_range(0.5, 2, st.sampled_from([0.3, 2.5, float("inf")])),
        "pitch": _in_range(-6, 6, st.sampled_from([-8.0, 8.0])),
        "volume": _in_range(-30, 12, st.sampled_from([-40.0, 15.0])),
    },
)
"""Synthesis parameters, about one in twenty out of range."""

HTTP_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
"""Values of any JSON type, for fields that expect another."""

TTS_BODY: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {"text": st.one_of(TEXT, SSML)},
    optional={
        "ssml": st.booleans(),
        "emotion": st.one_of(st.sampled_from([*EMOTIONS, "joyful"]), HTTP_VALUES),
        "intensity": st.one_of(st.floats(-1, 3), HTTP_VALUES),
        "speed": st.one_of(st.floats(0.3, 2.5), HTTP_VALUES),
        "pitch": st.floats(-8, 8),
        "volume": st.floats(-40, 15),
        "format": st.one_of(st.sampled_from(["wav", "mp3", "ogg", "opus", "flac", "pcm", "aac"]),
                            HTTP_VALUES),
        "sample_rate": st.one_of(st.sampled_from([8000, 16000, 22050, 44100, 48000, 11025]),
                                 HTTP_VALUES),
        "voice": st.one_of(st.sampled_from(["baker", "nobody"]), HTTP_VALUES),
        "timestamps": st.booleans(),
        "stream": st.booleans(),
        "return": st.sampled_from(["base64", "url", "file"]),
        "bogus": HTTP_VALUES,
    },
)  # fmt: skip
"""``POST /tts`` bodies: any text or SSML with any mix of fields, types and values."""


def attempt(voice: Any, text: str, *, ssml: bool = False, params: dict[str, Any] | None = None,
            early: bool = False) -> str:  # fmt: skip
    """Synthesize through the library's stream (as the service does) and say what came of
    it: ``"audio"`` (finite, within full scale) or ``"refused:<code>"`` for a client error.
    Anything else raises: that is the bug the properties look for."""
    import numpy as np

    from hanvoice.errors import HanvoiceError
    from hanvoice.synth import SynthesisParams

    try:
        p = SynthesisParams(**(params or {}))
        utt = voice.analyze(text, ssml=ssml)
        voice.check(utt, p.validated(voice.presets))
        chunks = list(voice.stream(utt, p, early=early))
    except HanvoiceError as exc:
        if not exc.client_error:
            raise
        return f"refused:{exc.code}"
    for c in chunks:
        assert np.isfinite(c.audio).all(), "audio is not finite"
        assert np.abs(c.audio).max(initial=0.0) <= 1.0, "audio over full scale"
    return "audio"
