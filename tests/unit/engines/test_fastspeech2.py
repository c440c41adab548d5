from __future__ import annotations

import numpy as np
import pytest

from hanvoice.engines.base import Controls
from hanvoice.engines.fastspeech2.engine import MAX_FRAMES, SAMPLE_RATE, FastSpeech2Engine
from hanvoice.synth import Synthesizer
from hanvoice.text.types import Break, Segment, Token
from support.audio import assert_speech


def _seg(*pairs: tuple[str, str | None, Break]) -> Segment:
    return Segment(tuple(Token(c, p, (i, i + 1), b) for i, (c, p, b) in enumerate(pairs)), 0)


def _names(engine: FastSpeech2Engine, ids: list[int]) -> list[str]:
    inv = {v: k for k, v in engine.table.symbol_to_id.items()}
    return [inv[i] for i in ids]


N, W, C, S = Break.NONE, Break.WORD, Break.CLAUSE, Break.SENTENCE


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        # one word, then a new word: #0 inside, #1 between
        (
            [("银", "yin2", N), ("行", "hang2", W), ("好", "hao3", S)],
            "sil ^ in2 #0 h ang2 #1 h ao3 sil eos",
        ),
        # a comma makes #3; punctuation itself has no symbol
        (
            [("好", "hao3", C), ("，", None, W), ("走", "zou3", S)],
            "sil h ao3 #3 z ou3 sil eos",
        ),
        # erhua glues er5 to the syllable before it
        ([("花", "hua1", N), ("儿", "r", S)], "sil h ua1 er5 sil eos"),
        # a letter read as two syllables
        ([("F", "ai2 fu5", S)], "sil ^ ai2 #0 f u5 sil eos"),
        # syllables the table lacks map to the nearest
        ([("嗯", "n2", S)], "sil ^ en2 sil eos"),
        ([("呣", "m2", S)], "sil m u2 sil eos"),
        ([("噷", "hm1", S)], "sil h en1 sil eos"),
        # ü spelled with v or ü
        ([("绿", "lü4", S)], "sil l v4 sil eos"),
        # nothing speakable
        ([("，", None, N)], "sil sil eos"),
    ],
)
def test_symbols(
    voice: Synthesizer, tokens: list[tuple[str, str | None, Break]], expected: str
) -> None:
    engine = voice.engine
    assert isinstance(engine, FastSpeech2Engine)
    seq = engine.table.encode(_seg(*tokens).tokens)
    assert " ".join(_names(engine, seq.ids)) == expected
    assert len(seq.ids) == len(seq.owners) == len(seq.pauses)


def test_unknown_syllable_is_skipped_not_raised(voice: Synthesizer) -> None:
    engine = voice.engine
    assert isinstance(engine, FastSpeech2Engine)
    seq = engine.table.encode(_seg(("x", "qwzz3", N), ("好", "hao3", S)).tokens)
    assert seq.skipped == ["qwzz3"]
    assert _names(engine, seq.ids) == ["sil", "h", "ao3", "sil", "eos"]


def test_same_input_same_audio(voice: Synthesizer) -> None:
    seg = voice.analyze("银行行长昨天来了。").segments[0]
    a = voice.engine.render(seg, Controls()).audio
    b = voice.engine.render(seg, Controls()).audio
    assert np.array_equal(a, b)
    assert_speech(a, SAMPLE_RATE, text_chars=8)


def test_timestamps_cover_every_spoken_char_in_order(voice: Synthesizer) -> None:
    seg = voice.analyze("今天天气很好，我们去公园散步吧。").segments[0]
    r = voice.engine.render(seg, Controls())
    spoken = [t for t, tok in zip(r.times, seg.tokens, strict=True) if tok.spoken]
    assert all(t is not None for t in spoken)
    starts = [t[0] for t in spoken if t]
    assert starts == sorted(starts)
    assert all(t[1] > t[0] for t in spoken if t)
    assert spoken[-1] is not None and spoken[-1][1] <= r.audio.size / SAMPLE_RATE + 1e-6


@pytest.mark.parametrize("tempo", [0.5, 1.0, 2.0])
def test_tempo_is_realised_by_durations(voice: Synthesizer, tempo: float) -> None:
    seg = voice.analyze("请注意，列车即将进站。").segments[0]
    base = voice.engine.render(seg, Controls()).audio.size
    out = voice.engine.render(seg, Controls(tempo=tempo)).audio.size
    assert out / base == pytest.approx(1 / tempo, rel=0.15)


def test_segment_over_frame_limit_is_split_not_failed(voice: Synthesizer) -> None:
    text = "，".join(["我们今天一起去公园散步"] * 12) + "。"
    utt = voice.analyze(text)
    tokens = tuple(t for s in utt.segments for t in s.tokens)
    seg = Segment(tokens, 0)  # deliberately longer than the front end would allow
    r = voice.engine.render(seg, Controls(tempo=0.5))
    assert r.audio.size / SAMPLE_RATE > MAX_FRAMES * 300 / SAMPLE_RATE
    assert_speech(r.audio, SAMPLE_RATE)
