"""The Mellotron voice set: its exported graphs, loading, speakers and rendering.

Needs the set up (``scripts/setup.sh --voices``, which CI runs): these tests fail, rather
than skip, when it is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hanvoice.engines import describe_voice, load_engine
from hanvoice.engines.base import Controls, PartialEngine, VoiceConfig
from hanvoice.engines.mellotron import assets
from hanvoice.engines.mellotron.engine import (
    CLAUSE_PAUSE,
    TAIL_PAUSE,
    MellotronEngine,
    speech_bounds,
    split_clauses,
    token_times,
)
from hanvoice.engines.mellotron.runtime import HOP, SAMPLE_RATE, window_bias
from hanvoice.engines.mellotron.speakers import by_id, speaker_vector, speakers, voice_configs
from hanvoice.errors import VoiceAssetError, VoiceNotFound
from hanvoice.text.types import Break, Segment, Token

TRAINED = [
    "Aibao",
    "Aicheng",
    "Aida",
    "Aijia",
    "Aijing",
    "Aimei",
    "Aina",
    "Aiqi",
    "Aitong",
    "Aiwei",
    "Aixia",
    "Aiya",
    "Aiyu",
    "Aiyue",
    "Siyue",
    "Xiaobei",
    "Xiaogang",
    "Xiaomei",
    "Xiaomeng",
    "Xiaowei",
    "Xiaoxue",
    "Xiaoyun",
    "Yina",
    "biaobei",
]


@pytest.fixture(scope="module")
def installed() -> Path:
    folder = assets.model_dir()
    if not assets.installed():
        pytest.fail(
            f"the Mellotron voice set is not exported in {folder}: scripts/setup.sh --voices"
        )
    return folder


@pytest.fixture(scope="module")
def aiyue(installed: Path) -> MellotronEngine:
    engine = load_engine(VoiceConfig("aiyue", "mellotron", None, {"speaker": "Aiyue"}))
    assert isinstance(engine, MellotronEngine)
    return engine


def _segment(pairs: str) -> Segment:
    """ "ni3:你 hao3:好 ，" -> tokens; a bare character is silent punctuation."""
    tokens = []
    for item in pairs.split():
        if ":" in item:
            py, ch = item.split(":")
            tokens.append(Token(ch, py, boundary=Break.WORD))
        else:
            tokens.append(Token(item, None))
    for i, t in enumerate(tokens):  # punctuation strengthens the break before it
        if not t.spoken and i > 0 and tokens[i - 1].spoken:
            level = Break.SENTENCE if t.char in "。！？" else Break.CLAUSE
            prev = tokens[i - 1]
            tokens[i - 1] = Token(prev.char, prev.pinyin, prev.source, level)
    return Segment(tuple(tokens), 0)


TWO_CLAUSES = _segment(
    "jin1:今 tian1:天 tian1:天 qi4:气 hen3:很 hao3:好 ， wo3:我 men5:们 qu4:去 gong1:公 yuan2:园 。"
)


def test_the_catalogue_data_names_exactly_the_trained_speakers() -> None:
    assert sorted(s.speaker for s in speakers()) == sorted(TRAINED)
    assert len({s.id for s in speakers()}) == 24
    assert all(s.gender in ("female", "male") for s in speakers())
    assert {s.speaker for s in speakers() if s.gender == "male"} == {
        "Aicheng", "Aida", "Xiaoyun", "Xiaogang",
    }  # fmt: skip


def test_speaker_vector_is_ttskits_md5_encoding() -> None:
    v = speaker_vector("Aiyue")
    assert v.shape == (32,) and v.dtype == np.float32
    assert v.min() >= -0.7 and v.max() <= 0.8 + 1e-6
    assert not np.array_equal(v, speaker_vector("aiyue"))  # the hash is case-sensitive


def test_manifest_and_graphs_are_verified(installed: Path) -> None:
    files = assets.load_files()
    assert files.manifest["source_sha256"]
    assert files.manifest["check"]["audio_max_abs_diff"] < 2e-3
    assert len(files.sha256) == 64


def test_a_changed_graph_is_refused(installed: Path, tmp_path: Path) -> None:
    copy = tmp_path / "set"
    shutil.copytree(installed, copy)
    graph = copy / "encoder.onnx"
    data = bytearray(graph.read_bytes())
    data[-1] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(VoiceAssetError, match="SHA-256"):
        assets.load_files(copy)


def test_a_missing_set_says_how_to_set_it_up(tmp_path: Path) -> None:
    assert not assets.installed(tmp_path)
    assert voice_configs(tmp_path) == []
    with pytest.raises(VoiceAssetError, match=r"setup\.sh --voices"):
        assets.load_files(tmp_path)


@pytest.mark.parametrize("name", ["Bob", "aiyue", "AIYUE", ""])
def test_untrained_speaker_names_are_refused(installed: Path, name: str) -> None:
    config = VoiceConfig("x", "mellotron", None, {"speaker": name})
    with pytest.raises(VoiceNotFound, match="trained"):
        load_engine(config)


def test_voices_share_one_model(aiyue: MellotronEngine) -> None:
    other = load_engine(VoiceConfig("xiaogang", "mellotron", None, {"speaker": "Xiaogang"}))
    assert isinstance(other, MellotronEngine)
    assert other.model is aiyue.model
    # one model, but each voice's version (for caches) is its own
    assert other.info.model_sha256 != aiyue.info.model_sha256
    assert len(aiyue.info.model_sha256) == 64
    assert other.info.gender == "male" and other.info.sample_rate == SAMPLE_RATE


def test_described_without_loading_as_loaded(aiyue: MellotronEngine) -> None:
    assert describe_voice(aiyue.config) == aiyue.info
    info = aiyue.info
    assert info.name == "艾悦 Àiyuè"
    assert info.engine == "mellotron" and info.speed_class == "medium"
    assert "happy" in info.emotions


def test_render_is_speech_with_timestamps(aiyue: MellotronEngine) -> None:
    out = aiyue.render(TWO_CLAUSES, Controls())
    seconds = out.audio.size / SAMPLE_RATE
    assert 1.5 < seconds < 5.0
    assert float(np.max(np.abs(out.audio))) < 1.0
    spoken = [t for tok, t in zip(TWO_CLAUSES.tokens, out.times, strict=True) if tok.spoken]
    assert all(t is not None for t in spoken)
    starts = [t[0] for t in spoken if t is not None]
    assert starts == sorted(starts)
    assert all(t is not None and 0 <= t[0] <= t[1] <= seconds for t in spoken)
    assert [t for tok, t in zip(TWO_CLAUSES.tokens, out.times, strict=True) if not tok.spoken] == [
        None,
        None,
    ]


def test_same_input_same_audio(aiyue: MellotronEngine) -> None:
    a = aiyue.render(TWO_CLAUSES, Controls())
    b = aiyue.render(TWO_CLAUSES, Controls())
    assert np.array_equal(a.audio, b.audio) and a.times == b.times


def test_threads_share_the_model_and_get_the_same_audio(aiyue: MellotronEngine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    male = load_engine(VoiceConfig("aicheng", "mellotron", None, {"speaker": "Aicheng"}))
    alone = [
        aiyue.render(TWO_CLAUSES, Controls()).audio,
        male.render(TWO_CLAUSES, Controls()).audio,
    ]
    with ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(e.render, TWO_CLAUSES, Controls()) for e in (aiyue, male) * 2]
        together = [j.result().audio for j in jobs]
    for k, audio in enumerate(together):
        assert np.array_equal(audio, alone[k % 2])


def test_pause_scale_stretches_the_pauses_only(aiyue: MellotronEngine) -> None:
    one = aiyue.render(TWO_CLAUSES, Controls())
    two = aiyue.render(TWO_CLAUSES, Controls(pause_scale=2.0))
    extra = (two.audio.size - one.audio.size) / SAMPLE_RATE
    assert extra == pytest.approx(CLAUSE_PAUSE + TAIL_PAUSE, abs=2 / SAMPLE_RATE)


def test_parts_are_clauses_that_join_into_the_whole(aiyue: MellotronEngine) -> None:
    assert isinstance(aiyue, PartialEngine)
    parts = list(aiyue.render_parts(TWO_CLAUSES, Controls(), lead=True))
    assert [p.final for p in parts] == [False, True]
    whole = aiyue.render(TWO_CLAUSES, Controls())
    assert np.array_equal(np.concatenate([p.audio for p in parts]), whole.audio)
    first = {i for i, t in enumerate(parts[0].times) if t is not None}
    second = {i for i, t in enumerate(parts[1].times) if t is not None}
    assert first == {0, 1, 2, 3, 4, 5} and second == {7, 8, 9, 10, 11}
    # each part ends in the pause after its clause: cut in silence
    gap = round(CLAUSE_PAUSE * SAMPLE_RATE)
    assert not parts[0].audio[-gap:].any()


def test_nothing_to_say_is_silence(aiyue: MellotronEngine) -> None:
    out = aiyue.render(_segment("。 ！"), Controls())
    assert out.audio.size == 0 and out.times == (None, None)


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("ni3:你 hao3:好 ， shi4:世 jie4:界 。", ["你好，", "世界。"]),
        ("ni3:你 hao3:好 。", ["你好。"]),
        ("ni3:你 hao3:好", ["你好"]),
        ("ni3:你 ， ， hao3:好 ！ ？", ["你，，", "好！？"]),
    ],
)
def test_split_clauses(text: str, clauses: list[str]) -> None:
    seg = _segment(text)
    parts = split_clauses(seg.tokens)
    assert ["".join(t.char for t in c.tokens) for c in parts] == clauses
    assert [c.start for c in parts] == [
        sum(len(p) for p in clauses[:i]) for i in range(len(clauses))
    ]


def test_long_clauses_are_cut_at_a_word_break() -> None:
    seg = _segment(" ".join(f"{'ba1'}:八" for _ in range(70)))
    parts = split_clauses(seg.tokens)
    assert len(parts) == 4
    assert sum(len(c.tokens) for c in parts) == 70
    assert all(len(c.tokens) <= 30 for c in parts)


def test_speech_bounds_cut_leading_and_trailing_silence() -> None:
    audio = np.zeros(SAMPLE_RATE, np.float32)
    audio[5000:15000] = 0.3 * np.sin(np.arange(10000) * 0.1)
    start, end = speech_bounds(audio)
    assert 5000 - 0.03 * SAMPLE_RATE <= start <= 5000
    assert 15000 <= end <= 15000 + 0.06 * SAMPLE_RATE + HOP
    assert speech_bounds(np.zeros(1000, np.float32)) == (0, 0)


def test_token_times_follow_the_attention() -> None:
    # 6 symbols: token 0 owns 0-1, token 1 owns 2-3, then two end symbols
    owners = [0, 0, 1, 1, -1, -1]
    positions = [0, 0, 1, 2, 2, 3, 1, 4, 5]  # the step back to 1 is ignored (monotonic)
    alignment = np.zeros((len(positions), 6), np.float32)
    alignment[np.arange(len(positions)), positions] = 1.0
    frame = HOP / SAMPLE_RATE
    times = token_times(alignment, owners, 3)
    assert times[0] == pytest.approx((0.0, 3 * frame))
    assert times[1] == pytest.approx((3 * frame, 7 * frame))
    assert times[2] is None


def test_window_bias_keeps_the_attention_near_where_it_was() -> None:
    bias = window_bias(10, 4, (1, 2))[0]
    assert list(np.flatnonzero(bias == 0)) == [3, 4, 5, 6]
    assert bias[0] < -1000 and bias[9] < -1000
    assert list(np.flatnonzero(window_bias(5, 0, (1, 4))[0] == 0)) == [0, 1, 2, 3, 4]


def test_withheld_voices_are_not_offered(installed: Path) -> None:
    offered = {c.id for c in voice_configs()}
    for s in speakers():
        assert (s.id in offered) == (not s.withheld)
        assert by_id(s.id) == s
