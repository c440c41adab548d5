"""Window plans: what they cover, where parts are cut, and that they never change a sample."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanvoice.engines.base import Controls
from hanvoice.engines.fastspeech2 import onnx_vocoder, windows
from hanvoice.engines.fastspeech2.engine import FastSpeech2Engine, clean_pauses
from hanvoice.engines.fastspeech2.parts import Parts, Piece
from hanvoice.scheduler import Scheduler
from hanvoice.synth import Synthesizer

BEFORE, AFTER = windows.BEFORE, windows.AFTER


def _old_clean_pauses(
    audio: npt.NDArray[np.float32], frames: npt.NDArray[np.int32], pauses: list[bool]
) -> npt.NDArray[np.float32]:
    """The engine's pause cleaning as the lead wrote it, kept as the reference."""
    ramp = int(0.015 * 24000)
    ends = np.cumsum(frames) * 300
    out = audio.copy()
    for i, is_pause in enumerate(pauses):
        start, end = int(ends[i] - frames[i] * 300), min(int(ends[i]), out.size)
        if not is_pause or end - start < 3 * ramp:
            continue
        env = np.zeros(end - start, np.float32)
        down = np.cos(np.linspace(0.0, np.pi / 2, ramp, dtype=np.float32)) ** 2
        if start > 0:
            env[:ramp] = down
        if end < out.size:
            env[-ramp:] = down[::-1]
        out[start:end] *= env
    return out


@pytest.mark.parametrize(
    ("frames", "pauses"),
    [
        ([20, 5, 7, 12, 30, 2], [True, False, False, True, True, True]),  # sil .. #3 .. sil eos
        ([2, 9, 1, 9, 3], [True, False, True, False, True]),  # pauses too short to clean
        ([0, 10, 0], [True, False, True]),  # zero-length pauses
        ([40], [True]),  # nothing but a pause
    ],
)
def test_envelope_is_the_old_pause_cleaning(frames: list[int], pauses: list[bool]) -> None:
    f = np.array(frames, np.int32)
    audio = np.random.default_rng(0).standard_normal(int(f.sum()) * 300).astype(np.float32)
    assert np.array_equal(clean_pauses(audio, f, pauses), _old_clean_pauses(audio, f, pauses))


def _mask(spec: str) -> npt.NDArray[np.bool_]:
    """'20s 100v 10s': 20 silent frames, 100 voiced, 10 silent."""
    out: list[bool] = []
    for item in spec.split():
        out += [item[-1] == "s"] * int(item[:-1])
    return np.array(out, bool)


# (mask, first, ways, expected windows as (start, stop), expected parts)
CASES: list[tuple[str, int, int, list[tuple[int, int]], list[tuple[int, int]]]] = [
    ("30s", 0, 1, [], [(0, 30)]),
    ("10s 100v 20s", 0, 1, [(10, 110)], [(0, 130)]),
    # a lead part: the silence before the sound and 24 frames of it
    ("10s 100v 20s", 24, 1, [(10, 34), (34, 110)], [(0, 34), (34, 130)]),
    ("10s 300v 20s", 24, 1, [(10, 34), (34, 184), (184, 310)], [(0, 34), (34, 330)]),
    # two ways; with a lead, the window after it is longer by the lead's frames; a sound
    # shared by two workers and no longer than a window gets no lead: it is done as soon
    ("10s 100v 20s", 0, 2, [(10, 60), (60, 110)], [(0, 130)]),
    ("10s 100v 20s", 24, 2, [(10, 60), (60, 110)], [(0, 130)]),
    ("10s 300v 20s", 24, 2, [(10, 34), (34, 184), (184, 310)], [(0, 34), (34, 330)]),
    # a silence shorter than CONTEXT is vocoded through; a longer one cuts a part
    ("5s 50v 20s 50v 5s", 0, 1, [(5, 125)], [(0, 130)]),
    ("5s 50v 60s 50v 5s", 0, 1, [(5, 55), (115, 165)], [(0, 85), (85, 170)]),
    # too short to cut
    ("5s 40v 5s", 24, 2, [(5, 45)], [(0, 50)]),
    # a first sentence no longer than the lead is a window of its own (发。好 crashed: the
    # lead window ran past the sound and the next one ended before it began)
    ("23v 6s", 24, 1, [(0, 23)], [(0, 29)]),
    ("24v 5s", 24, 1, [(0, 24)], [(0, 29)]),
    ("2s 10v 40s 30v", 24, 1, [(2, 12), (52, 82)], [(0, 32), (32, 82)]),
    # longer than LONGEST: cut, in the middle of a nearby silence when there is one
    ("700v", 0, 1, [(0, 233), (233, 467), (467, 700)], [(0, 700)]),
    ("5s 180v 10s 220v 5s", 0, 1, [(5, 190), (190, 415)], [(0, 420)]),
    ("5s 100v 10s 100v 5s", 0, 2, [(5, 110), (110, 215)], [(0, 220)]),
]


@pytest.mark.parametrize(("spec", "first", "ways", "expected", "parts"), CASES)
def test_plan(
    spec: str, first: int, ways: int, expected: list[tuple[int, int]], parts: list[tuple[int, int]]
) -> None:
    silent = _mask(spec)
    p = windows.plan(silent, first=first, ways=ways)
    assert [(w.start, w.stop) for w in p.windows] == expected
    assert list(p.parts) == parts
    assert p == windows.plan(silent, first=first, ways=ways)  # same input, same plan


@pytest.mark.parametrize(("spec", "first", "ways", "expected", "parts"), CASES)
def test_plan_invariants(spec: str, first: int, ways: int, expected: Any, parts: Any) -> None:
    check_plan(_mask(spec), first, ways)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(1, 300)), min_size=1, max_size=12),
    st.sampled_from([0, 1, 8, 24, 40]),
    st.integers(1, 3),
)
def test_any_mask_gives_a_valid_plan(runs: list[tuple[bool, int]], first: int, ways: int) -> None:
    """Any pattern of sound and silence, any lead and split: windows inside their parts,
    every sounding frame vocoded once, parts meeting in silence."""
    silent = np.array([s for s, n in runs for _ in range(n)], bool)
    check_plan(silent, first, ways)


def check_plan(silent: npt.NDArray[np.bool_], first: int, ways: int) -> None:
    n = silent.size
    p = windows.plan(silent, first=first, ways=ways)
    edges = [a for a, _ in p.parts] + [n]
    assert edges[0] == 0 and all(b == a2 for (_, b), (a2, _) in itertools.pairwise(p.parts))
    covered = np.zeros(n, int)
    for w in p.windows:
        covered[w.start : w.stop] += 1
        sounding = np.flatnonzero(~silent[w.start : w.stop]) + w.start
        assert (w.lo, w.hi) == (max(0, sounding[0] - BEFORE), min(n, sounding[-1] + 1 + AFTER))
        assert w.stop - w.start <= windows.LONGEST
        a, b = p.parts[w.part]
        assert a <= w.start < w.stop <= b
    assert (covered[~silent] == 1).all()  # every sounding frame exactly once
    lead = p.windows[0].stop if first and len(p.parts) > 1 and p.windows else None
    for cut in edges[1:-1]:
        assert cut == lead or (silent[cut - 1] and silent[cut])  # parts meet in silence


@pytest.fixture(scope="module")
def piece(voice: Synthesizer) -> Piece:
    engine = voice.engine
    assert isinstance(engine, FastSpeech2Engine)
    seg = voice.analyze("请注意，列车即将进站，请站在安全线以内等候，不要拥挤。").segments[0]
    with engine._session() as s:
        seq = engine.table.encode(seg.tokens)
        (p,) = engine._pieces(s, seg, seq, 0, Controls())
    return p


def _windowed(engine: FastSpeech2Engine, piece: Piece, first: int, ways: int) -> Any:
    scheduler = Scheduler(2)  # windows vocoded on two cores at once
    with scheduler.flow() as flow:
        parts = Parts.start(
            [piece], piece.n_tokens, flow.submit, engine._vocode, first=first, ways=ways
        )
        audio = [r.audio for r in parts]
    scheduler.close()
    assert len(audio) >= (2 if first else 1)
    return np.concatenate(audio)


@pytest.mark.parametrize(("first", "ways"), [(0, 1), (24, 1), (0, 2), (24, 2), (8, 3)])
def test_windows_give_the_whole_mels_samples(
    voice: Synthesizer, piece: Piece, first: int, ways: int
) -> None:
    """Equal up to float rounding, which at most flips one int8 step of a sub-band sample
    (the graph's own quantizer) here and there; and the same plan gives the same bytes."""
    engine = voice.engine
    assert isinstance(engine, FastSpeech2Engine)
    whole = clean_pauses(engine._vocode(piece.mel), piece.frames, piece.pauses)
    out = _windowed(engine, piece, first, ways)
    c = onnx_vocoder.compare(whole, out)
    assert c.max_abs <= onnx_vocoder.MAX_ABS and c.snr_db >= 60.0, c
    assert np.mean(out != whole) < 0.01
    assert np.array_equal(out, _windowed(engine, piece, first, ways))


def test_context_is_the_receptive_field(voice: Synthesizer, piece: Piece) -> None:
    """A change in input frame t moves output frames t-16..t+17 only: so output frame u
    needs inputs u-17..u+16, which is what BEFORE and AFTER give."""
    engine = voice.engine
    assert isinstance(engine, FastSpeech2Engine)
    mel = piece.mel.copy()
    base = engine._vocode(mel)
    mel[0, 200, :] += 1.0
    moved = np.flatnonzero(np.abs(engine._vocode(mel) - base) > 0)
    lo, hi = moved.min() // 300, moved.max() // 300
    assert lo >= 200 - AFTER and hi <= 200 + BEFORE
