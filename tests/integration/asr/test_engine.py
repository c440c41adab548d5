"""Whisper base on the node's scheduler: long audio in windows over every core, in order;
a cancelled request drops its windows; options checked before any work."""

from __future__ import annotations

from concurrent.futures import CancelledError

import numpy as np
import pytest

from hanvoice.asr.audio import RATE, from_array
from hanvoice.asr.check import flags_for
from hanvoice.asr.compare import Tolerance
from hanvoice.asr.engine import RecognitionOptions, Recognizer
from hanvoice.errors import InvalidParameter
from hanvoice.scheduler import Scheduler
from hanvoice.synth import Synthesizer

PARAGRAPH = (
    "欢迎收听今天的节目。今天我们要讲一个关于森林的故事。很久以前，森林里住着一只聪明的小狐狸，"
    "它每天早上都会去河边喝水。有一天，它在河边遇到了一只迷路的小兔子。小兔子说，它找不到回家的路了。"
    "小狐狸想了想，决定带着小兔子一起去找它的家。它们走过了一片草地，又穿过了一座小桥。"
    "太阳快要下山的时候，它们终于看到了小兔子的家。兔妈妈非常感谢小狐狸。"
)


def test_long_audio_in_windows_on_every_core(recognizer: Recognizer, voice: Synthesizer) -> None:
    result = voice.synthesize(PARAGRAPH)
    audio = from_array(result.audio, result.sample_rate)
    assert audio.size > 31 * RATE  # two windows at least
    scheduler = Scheduler(2)
    try:
        with scheduler.flow(10.0, "long") as flow:
            pending = recognizer.submit(audio, RecognitionOptions(timestamps=True), flow)
            assert len(pending.futures) >= 2
            t = pending.result()
    finally:
        scheduler.close()
    assert t.language == "zh" and abs(t.duration - audio.size / RATE) < 0.01
    starts = [s.start for s in t.segments]
    assert starts == sorted(starts) and t.segments[-1].end <= t.duration + 0.01
    assert [s.id for s in t.segments] == list(range(len(t.segments)))
    assert t.segments[-1].start > 20.0  # the second window's times are offset
    flags = flags_for(PARAGRAPH, t.text, voice.frontend, Tolerance())
    assert len(flags) <= 1, [f.as_dict() for f in flags]  # Whisper base may slip once


def test_cancelled_flow_drops_its_windows(recognizer: Recognizer) -> None:
    noise = (0.01 * np.random.default_rng(1).standard_normal(RATE * 95)).astype(np.float32)
    scheduler = Scheduler(1)
    try:
        flow = scheduler.flow(10.0, "gone")
        pending = recognizer.submit(noise, RecognitionOptions(), flow)
        flow.close()  # the client left: windows not started never run
        with pytest.raises(CancelledError):
            pending.result()
        assert sum(f.cancelled() for f in pending.futures) >= 2
    finally:
        scheduler.close()


@pytest.mark.parametrize(
    "options",
    [RecognitionOptions(language="xx"), RecognitionOptions(temperature=1.5)],
)
def test_options_checked_first(recognizer: Recognizer, options: RecognitionOptions) -> None:
    with pytest.raises(InvalidParameter):
        recognizer.submit(np.zeros(RATE, np.float32), options, Scheduler(1).flow())


def test_cost_follows_what_it_learns(recognizer: Recognizer) -> None:
    r = Recognizer(recognizer.model, 1)
    before = r.cost(10.0)
    for _ in range(40):
        r.learn(10.0, before * 2)
    assert 1.8 * before < r.cost(10.0) < 2.1 * before
    assert r.cost(61.0) > r.cost(29.0)  # three windows against one
