"""The Mellotron voice set: 24 speakers of one Mellotron (Tacotron2) + MelGAN model, 22.05 kHz.

Per segment: split into clauses (an autoregressive decoder keeps its attention better on
short inputs, and the pauses between clauses become ours to scale) -> phoneme ids from our
own front end's pinyin -> encoder -> decoder steps until the stop gate -> vocoder. The
attention alignment says which symbol each frame voices: those are the per-character
timestamps. The model has no style or pitch input, so tempo, pitch, range and loudness
are left to the synthesizer's signal processing, exactly as for the bundled voice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hanvoice.engines.base import Audio, Controls, Rendered, VoiceConfig, VoiceInfo, join_parts
from hanvoice.engines.mellotron import assets
from hanvoice.engines.mellotron.runtime import (
    HOP,
    MAX_STEPS,
    SAMPLE_RATE,
    Decoded,
    MellotronModel,
)
from hanvoice.engines.mellotron.speakers import (
    ENGINE,
    Speaker,
    by_speaker,
    speaker_vector,
    unavailable_reason,
    voice_configs,
)
from hanvoice.engines.mellotron.symbols import PhonemeSequence, PhonemeTable
from hanvoice.errors import EngineError, VoiceAssetError, VoiceNotFound
from hanvoice.scheduler import INLINE, Runner
from hanvoice.text.types import Break, Segment, Token

log = logging.getLogger(__name__)

EMOTIONS = ("neutral", "happy", "sad", "angry", "fear", "surprise", "disgust")
MODEL_ID = f"ttskit-{assets.TTSKIT_VERSION}/mellotron.kuangdd-mspk+melgan.kuangdd"
MAX_CLAUSE_SYLLABLES = 30
"""Longer clauses are cut at a word break (ttskit's own limit is 30 characters)."""
CLAUSE_PAUSE = 0.20
"""Silence between clauses of a segment, seconds, before ``pause_scale``."""
TAIL_PAUSE = 0.15
"""Silence ending each segment (the bundled voice ends its segments with its own pause)."""
RETRIES = 2
"""Decodings with another seed when the attention loses its way (deterministic)."""
RUNTIME = "decode-v1"
"""Bump when decoding changes what comes out (window, clause split, pauses, trimming): it is
part of every voice's version, so caches keyed on it drop stale audio."""
_MARGIN_HEAD = 0.02
_MARGIN_TAIL = 0.05
_SILENCE_DB = -45.0


@dataclass(frozen=True, slots=True)
class _Clause:
    start: int
    tokens: tuple[Token, ...]


class _SharedModels:
    """One loaded model per (folder, threads), shared by the 24 voices that use it.

    The catalogue builds each voice on its own; without this, 24 voices would load the same
    graphs 24 times. Weak references: the model is freed when its last voice is closed.
    """

    def __init__(self) -> None:
        self._models: weakref.WeakValueDictionary[tuple[Path, int], MellotronModel] = (
            weakref.WeakValueDictionary()
        )
        self._lock = threading.Lock()

    def get(self, folder: Path | None, threads: int) -> MellotronModel:
        key = (assets.model_dir(folder).resolve(), threads)
        with self._lock:
            model = self._models.get(key)
            if model is None:
                model = MellotronModel(assets.load_files(folder), threads)
                _warm_up(model)  # once per model, not per speaker: fail at start-up
                self._models[key] = model
            return model


_SHARED = _SharedModels()


def _speaker(config: VoiceConfig) -> Speaker:
    name = str(config.options.get("speaker", ""))
    found = by_speaker(name)
    if found is None:
        raise VoiceNotFound(
            f"voice {config.id!r}: {name!r} is not one of the Mellotron set's 24 trained "
            "speakers (an untrained name would give an untested voice)"
        )
    return found


def describe(config: VoiceConfig) -> VoiceInfo:
    """The voice's listing without loading the model (reads the small manifest only)."""
    speaker = _speaker(config)
    manifest = assets.read_manifest(assets.model_dir(config.path))
    if manifest is None:
        raise VoiceAssetError(
            f"no exported Mellotron voice set in {assets.model_dir(config.path)}: "
            f"{assets.SETUP_HINT}"
        )
    return _info(config, speaker, assets.graphs_digest(manifest))


def _info(config: VoiceConfig, speaker: Speaker, graphs_sha256: str) -> VoiceInfo:
    """The listing; its version covers the graphs, the speaker, its level and the decoding."""
    version = f"{graphs_sha256}:{speaker.speaker}:{speaker.gain_db}:{RUNTIME}"
    return VoiceInfo(
        id=config.id,
        name=str(config.options.get("name", speaker.name)),
        engine=ENGINE,
        sample_rate=SAMPLE_RATE,
        gender=speaker.gender,
        model_id=MODEL_ID,
        model_sha256=hashlib.sha256(version.encode()).hexdigest(),
        emotions=EMOTIONS,
        speed_class="medium",
        description=(
            f"Mellotron (Tacotron2) + MelGAN from the ttskit wheel, speaker {speaker.speaker}; "
            "emotions by signal processing" + (f"; {speaker.note}" if speaker.note else "")
        ),
    )


class MellotronEngine:
    native_controls = frozenset({"pause_scale"})
    describe = staticmethod(describe)
    offered_voices = staticmethod(voice_configs)
    unavailable_reason = staticmethod(unavailable_reason)

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        self.speaker = _speaker(config)
        threads = int(config.options.get("threads", 1))
        self.model = _SHARED.get(config.path, threads)
        self.table = PhonemeTable()
        self.info = _info(config, self.speaker, self.model.files.sha256)
        self._vector = speaker_vector(self.speaker.speaker)
        self._gain = np.float32(10.0 ** (self.speaker.gain_db / 20.0))

    def close(self) -> None:
        """Drop this voice's hold on the shared model (freed when no voice uses it)."""

    def render(self, segment: Segment, controls: Controls) -> Rendered:
        """The whole segment: its parts joined, so both ways give the same audio."""
        return join_parts(self.render_parts(segment, controls), len(segment.tokens), SAMPLE_RATE)

    def render_parts(
        self,
        segment: Segment,
        controls: Controls,
        *,
        lead: bool = False,
        alone: bool = False,
        flow: Runner = INLINE,
    ) -> Iterator[Rendered]:
        """One part per clause, each ending with the pause after it (so parts are cut in
        silence), in order.

        Each clause is a piece of its own, submitted to ``flow`` now: clauses decode
        independently (fixed seeds), so a lone request's clauses run on every core while
        the scheduler keeps several requests fair. ``lead`` and ``alone`` change nothing
        here: a clause is already a short part.
        """
        n = len(segment.tokens)
        work = [(c, self.table.encode(c.tokens)) for c in split_clauses(segment.tokens)]
        work = [(c, seq) for c, seq in work if seq.spoken]
        if not work:
            return iter([Rendered(np.zeros(0, np.float32), (None,) * n)])
        last = len(work) - 1
        futures = [
            flow.submit(self._part, clause, seq, n, controls, k == last)
            for k, (clause, seq) in enumerate(work)
        ]
        return _Clauses(futures)

    def _part(
        self, clause: _Clause, seq: PhonemeSequence, n: int, controls: Controls, last: bool
    ) -> Rendered:
        try:
            audio, clause_times = self._render_clause(seq, len(clause.tokens))
        except (EngineError, VoiceAssetError):
            raise
        except Exception as exc:  # an onnxruntime failure is ours, not the caller's
            raise EngineError(f"Mellotron inference failed: {exc}") from exc
        pause = (TAIL_PAUSE if last else CLAUSE_PAUSE) * controls.pause_scale
        times: list[tuple[float, float] | None] = [None] * n
        for i, t in enumerate(clause_times):
            times[clause.start + i] = t
        silence = np.zeros(round(pause * SAMPLE_RATE), np.float32)
        return Rendered(np.concatenate([audio, silence]), tuple(times), final=last)

    def _render_clause(
        self, seq: PhonemeSequence, n_tokens: int
    ) -> tuple[Audio, list[tuple[float, float] | None]]:
        decoded = self._decode(seq)
        audio = self.model.vocode(decoded.mel) * self._gain
        start, end = speech_bounds(audio)
        times = token_times(decoded.alignment, seq.owners, n_tokens)
        shift = start / SAMPLE_RATE
        limit = (end - start) / SAMPLE_RATE
        clipped = [
            None if t is None else (min(max(t[0] - shift, 0.0), limit), min(t[1] - shift, limit))
            for t in times
        ]
        return audio[start:end], clipped

    def _decode(self, seq: PhonemeSequence) -> Decoded:
        """Decode; if the attention gets lost (no stop, or never reaches the end), try the
        next seeds. The seeds are fixed, so the result is still the same every time."""
        max_steps = min(MAX_STEPS, 100 + 45 * max(seq.syllables, 1))
        end_from = max(i for i, o in enumerate(seq.owners) if o >= 0) + 1
        best: Decoded | None = None
        for seed in range(RETRIES + 1):
            decoded = self.model.decode(
                seq.ids, self._vector, seed=seed, max_steps=max_steps, end_from=end_from
            )
            if decoded.finished and reached_end(decoded.alignment, len(seq.ids)):
                return decoded
            log.info("Mellotron attention lost (seed %d, %s); retrying", seed, self.info.id)
            best = best or decoded
        assert best is not None
        return best


class _Clauses:
    """The clauses' parts in order as their pieces finish; ``close()`` drops the rest."""

    def __init__(self, futures: list[Future[Rendered]]) -> None:
        self._futures = futures
        self._next = 0

    def __iter__(self) -> Iterator[Rendered]:
        return self

    def __next__(self) -> Rendered:
        if self._next >= len(self._futures):
            raise StopIteration
        self._next += 1
        return self._futures[self._next - 1].result()

    def close(self) -> None:
        for f in self._futures[self._next :]:
            f.cancel()
        self._next = len(self._futures)


_WARMUP = (Token("你", "ni3"), Token("好", "hao3"), Token("。", None))


def _warm_up(model: MellotronModel) -> None:
    seq = PhonemeTable().encode(_WARMUP)
    model.vocode(model.decode(seq.ids, speaker_vector("Aiyue"), max_steps=60).mel)


def reached_end(alignment: npt.NDArray[np.float32], n_symbols: int) -> bool:
    """Did the attention get to the last spoken symbols (not stuck halfway)?"""
    if alignment.shape[0] == 0:
        return False
    return int(np.max(np.argmax(alignment, axis=1))) >= n_symbols - 4


def split_clauses(tokens: tuple[Token, ...]) -> list[_Clause]:
    """Cut after each clause or sentence break (punctuation stays with its clause), and cut
    clauses longer than ``MAX_CLAUSE_SYLLABLES`` at the word break nearest their middle.

    "你好，世界。" -> "你好，" + "世界。"
    """
    out: list[_Clause] = []
    start, broken = 0, False
    for i, tok in enumerate(tokens):
        if tok.spoken:
            broken = tok.boundary >= Break.CLAUSE
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None or (broken and nxt.spoken):
            out.extend(_cut_long(_Clause(start, tokens[start : i + 1])))
            start, broken = i + 1, False
    return out


def _syllables(tokens: tuple[Token, ...]) -> int:
    return sum(len(t.pinyin.split()) for t in tokens if t.pinyin and t.pinyin != "r")


def _cut_long(clause: _Clause) -> list[_Clause]:
    toks = clause.tokens
    if _syllables(toks) <= MAX_CLAUSE_SYLLABLES or len(toks) < 2:
        return [clause]
    mid = len(toks) / 2
    best, best_key = len(toks) // 2, (-1, 0.0)
    for i, t in enumerate(toks[:-1]):
        key = (int(min(t.boundary, Break.CLAUSE)), -abs(i + 1 - mid))
        if key > best_key:
            best, best_key = i + 1, key
    head = _Clause(clause.start, toks[:best])
    tail = _Clause(clause.start + best, toks[best:])
    return _cut_long(head) + _cut_long(tail)


def speech_bounds(audio: Audio) -> tuple[int, int]:
    """[start, end) of the audio with the model's leading and trailing silence cut off."""
    if audio.size == 0:
        return 0, 0
    n = audio.size // HOP
    if n == 0:
        return 0, audio.size
    frames = audio[: n * HOP].reshape(n, HOP).astype(np.float64)
    level = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(level > max(level.max() + _SILENCE_DB, -70.0))
    if loud.size == 0:
        return 0, 0
    start = max(0, int(loud[0]) * HOP - round(_MARGIN_HEAD * SAMPLE_RATE))
    end = min(audio.size, (int(loud[-1]) + 1) * HOP + round(_MARGIN_TAIL * SAMPLE_RATE))
    return start, end


def token_times(
    alignment: npt.NDArray[np.float32], owners: list[int], n_tokens: int
) -> list[tuple[float, float] | None]:
    """(start, end) seconds of each token from the attention: each frame voices the symbol
    it attends to most (never moving backwards), and a token spans its symbols' frames."""
    times: list[tuple[float, float] | None] = [None] * n_tokens
    if alignment.shape[0] == 0:
        return times
    position = np.maximum.accumulate(np.argmax(alignment, axis=1))
    frame = HOP / SAMPLE_RATE
    for t, p in enumerate(position):
        owner = owners[int(p)]
        if owner < 0:
            continue
        cur = times[owner]
        start, end = t * frame, (t + 1) * frame
        times[owner] = (start, end) if cur is None else (min(cur[0], start), max(cur[1], end))
    # a spoken token the attention skipped over gets a zero-length span where it belongs
    last = 0.0
    spoken = set(o for o in owners if o >= 0)
    for i in range(n_tokens):
        cur = times[i]
        if cur is not None:
            last = cur[1]
        elif i in spoken:
            times[i] = (last, last)
    return times
