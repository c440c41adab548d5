"""Requests through one scheduler: a short one is never queued behind a long one, a lone one
fans out, and the bytes never depend on what else runs.

The fairness tests use an engine stub whose pieces burn real CPU and record the order they
start in; the assertions are about that order only. The byte tests use the real voice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

from hanvoice.engines.base import Controls, Rendered, VoiceInfo
from hanvoice.scheduler import INLINE, Runner, Scheduler
from hanvoice.synth import SynthesisParams, Synthesizer
from hanvoice.text import Segment
from support.texts import PARAGRAPH

PIECES_PER_SEGMENT = 3
CPU_PER_PIECE = 0.004


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class RecordingEngine:
    """A partial engine whose segments are a few CPU-burning pieces that log their start."""

    native_controls = frozenset({"tempo", "pause_scale"})

    def __init__(self) -> None:
        self.info = VoiceInfo("stub", "stub", "stub", 8000, "female", "stub", "0" * 64)
        self.log: list[tuple[str, threading.Thread]] = []
        self._lock = threading.Lock()

    def _piece(self, label: str) -> np.ndarray:
        with self._lock:
            self.log.append((label, threading.current_thread()))
        burn(CPU_PER_PIECE)
        return np.full(80, 0.1, np.float32)

    def render(self, segment: Segment, controls: Controls) -> Rendered:
        parts = list(self.render_parts(segment, controls))
        return Rendered(np.concatenate([p.audio for p in parts]), parts[-1].times)

    def render_parts(
        self,
        segment: Segment,
        controls: Controls,
        *,
        lead: bool = False,
        alone: bool = False,
        flow: Runner = INLINE,
    ) -> Iterator[Rendered]:
        label = segment.tokens[0].char  # the request's text starts with its label
        futures = [flow.submit(self._piece, label) for _ in range(PIECES_PER_SEGMENT)]
        return _parts(futures, len(segment.tokens))

    def close(self) -> None:
        pass


def _parts(futures: list[Future[np.ndarray]], n: int) -> Iterator[Rendered]:
    for k, f in enumerate(futures):
        last = k == len(futures) - 1
        yield Rendered(f.result(), (None,) * n if not last else ((0.0, 0.01),) * n, final=last)


@pytest.fixture
def stub() -> Iterator[tuple[Synthesizer, RecordingEngine]]:
    engine = RecordingEngine()
    scheduler = Scheduler(2)
    yield Synthesizer(engine, scheduler=scheduler), engine
    scheduler.close()


def test_a_short_request_is_not_queued_behind_a_long_ones_remaining_pieces(
    stub: tuple[Synthesizer, RecordingEngine],
) -> None:
    synth, engine = stub
    long_text = "长" + "今天天气很好，我们去公园散步吧。" * 40
    with ThreadPoolExecutor(2) as pool:
        longs = [pool.submit(synth.synthesize, long_text) for _ in range(2)]
        while len(engine.log) < 40:  # both long requests are well under way
            time.sleep(0.005)
        mark = len(engine.log)
        short = synth.synthesize("短句。你好。")
        after = [label for label, _ in engine.log[mark:]]
        for f in longs:
            f.result(timeout=120)
    mine = [k for k, label in enumerate(after) if label == "短"]
    assert mine, "the short request ran"
    before = sum(1 for label in after[: mine[-1]] if label == "长")
    # the short request's 6 pieces waited only for pieces already running or about to
    # start (one per core), never for the long requests' queued ones
    assert before <= 2 * 2, after[: mine[-1] + 1]
    assert short.duration > 0


def test_a_lone_request_uses_every_core(stub: tuple[Synthesizer, RecordingEngine]) -> None:
    synth, engine = stub
    synth.synthesize("长" + "今天天气很好，我们去公园散步吧。" * 10)
    assert len({thread.name for _, thread in engine.log}) == 2


def test_the_same_request_gives_the_same_bytes_alone_and_under_load(
    voice: Synthesizer,
) -> None:
    text = "您好，欢迎致电客服中心，请按一号键查询账单。"
    params = SynthesisParams(emotion="happy")
    alone = voice.synthesize(text, params).audio
    stop = threading.Event()

    def load() -> int:
        n = 0
        while not stop.is_set():
            for _ in voice.stream(PARAGRAPH, early=True):
                n += 1
                if stop.is_set():
                    break
        return n

    with ThreadPoolExecutor(2) as pool:
        loads = [pool.submit(load) for _ in range(2)]
        time.sleep(0.3)
        loaded = [voice.synthesize(text, params).audio for _ in range(2)]
        streamed = np.concatenate([c.audio for c in voice.stream(text, params, early=True)])
        stop.set()
        assert all(f.result(timeout=120) > 0 for f in loads)
    for audio in (*loaded, streamed):
        assert np.array_equal(audio, alone)
    assert voice.scheduler.active == 0 and voice.scheduler.queued == 0
