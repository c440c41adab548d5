"""The one way every route synthesizes: a validated request in, audio bytes or a stream out.

``POST /tts``, ``GET /tts``, ``POST /v1/audio/speech`` and ``/ws/tts`` all call
:class:`SynthesisService` (found on ``app.state.synthesis``). A cache wraps it by providing
the same two methods (``synthesize`` and ``stream``) and replacing ``app.state.synthesis``;
:meth:`SynthesisRequest.key` is a stable identity of the output for such a cache.

Cheap checks (length, ranges, emotion, voice, format) run on the event loop before the
request is admitted, so bad input gets its 4xx even when the node is overloaded. Admission
is by work (:class:`WorkerPool`); an admitted request gets a :class:`~hanvoice.scheduler.Flow`
and everything that costs CPU (text analysis, inference, signal processing, encoding) runs
as pieces of it on the node's scheduler. A timeout or a client that leaves cancels the flow:
every queued piece of the request is dropped at once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from hanvoice.audio.codecs import StreamEncoder, WholeEncoder, output_cost, resolve_format
from hanvoice.audio.encode import Format, Resampler, check_sample_rate, default_rate
from hanvoice.config import Settings
from hanvoice.errors import AnswerTooLarge, AudioTooLong, ContentRejected, EmptyText, TextTooLong
from hanvoice.scheduler import Flow
from hanvoice.service import logging as hvlog
from hanvoice.service.errors import RequestTimeout
from hanvoice.service.metrics import Metrics
from hanvoice.service.workers import WorkerPool
from hanvoice.synth import CharTime, Chunk, SynthesisParams, Synthesizer
from hanvoice.text import Utterance
from hanvoice.text.filter import ContentFilter
from hanvoice.text.sentences import split_first_clause
from hanvoice.voices import VoiceCatalog

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SynthesisRequest:
    """What to say and how, after the route has parsed its own request shape."""

    text: str
    params: SynthesisParams = field(default_factory=SynthesisParams)
    voice: str | None = None
    """``None`` = the configured default voice."""
    format: str = "wav"
    sample_rate: int | None = None
    """``None`` = the voice's own rate."""
    ssml: bool = False

    def key(self, model_sha256: str) -> str:
        """Hex SHA-256 identifying the audio this request produces with that model."""
        data = asdict(self)
        data["params"] = asdict(self.params)
        data["model"] = model_sha256
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True, slots=True)
class AudioResult:
    data: bytes
    format: Format
    sample_rate: int
    duration: float
    voice: str
    emotion: str
    timestamps: tuple[CharTime, ...] = ()
    normalized: str = ""
    model_sha256: str = ""


@dataclass(frozen=True, slots=True)
class StreamPiece:
    """Encoded bytes for one stretch of audio (maybe empty while an encoder buffers)."""

    data: bytes
    duration: float = 0.0
    timestamps: tuple[CharTime, ...] = ()


class AudioStream:
    """Audio arriving piece by piece. Iterate it once; always ``aclose()`` it (releases the
    worker slot even if it was never iterated)."""

    def __init__(
        self,
        fmt: Format,
        sample_rate: int,
        voice: str,
        emotion: str,
        pieces: AsyncIterator[StreamPiece],
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.format = fmt
        self.sample_rate = sample_rate
        self.voice = voice
        self.emotion = emotion
        self._pieces = pieces
        self._on_close = on_close

    @classmethod
    def of(cls, result: AudioResult) -> AudioStream:
        """A stream of audio that already exists (a cache hit)."""

        async def one() -> AsyncIterator[StreamPiece]:
            yield StreamPiece(result.data, result.duration, result.timestamps)

        return cls(result.format, result.sample_rate, result.voice, result.emotion, one())

    def __aiter__(self) -> AsyncIterator[StreamPiece]:
        return self._pieces

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._pieces, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            if self._on_close is not None:
                self._on_close()
                self._on_close = None


@dataclass(frozen=True, slots=True)
class _Plan:
    voice: Synthesizer
    params: SynthesisParams
    fmt: Format
    rate: int
    text: str
    ssml: bool
    seconds: float
    """Audio it will make, estimated from the text (before the front end)."""
    cpu_per_second: float
    """Encoding (and resampling) CPU per second of audio."""
    bytes_per_second: float
    whole: bool
    """A whole answer (its bytes are held until sent), not a stream."""

    @property
    def cost(self) -> float:
        return self.voice.cost(len(self.text)) + self.seconds * self.cpu_per_second

    @property
    def bytes(self) -> int:
        """Bytes the request holds while it is made: a whole answer's size, a stream's 0
        (its bytes leave as they are made, and a client that stops reading is cut off)."""
        return int(self.seconds * self.bytes_per_second) if self.whole else 0


class SynthesisService:
    def __init__(
        self, catalog: VoiceCatalog, pool: WorkerPool, settings: Settings, metrics: Metrics
    ) -> None:
        self.catalog = catalog
        self.pool = pool
        self.settings = settings
        """Read on every call: replace it to change limits without a restart."""
        self.metrics = metrics
        self.content_filter: Callable[[], ContentFilter] | None = None
        """The word filter in force (set, and swapped on reload, by the production parts):
        it reads the front end's output, so it hears what the voice will say."""
        self.on_filtered: Callable[[tuple[str, ...], str], object] = lambda cats, action: None
        """Told the categories that matched and ``reject`` or ``mask`` (metrics)."""

    # --- checks on the event loop -------------------------------------------------------
    def voice(self, voice_id: str | None) -> Synthesizer:
        vid = voice_id or self.settings.default_voice
        self.catalog.require(vid)  # VoiceNotFound before anything loads on the event loop
        return self.catalog.get(vid)

    def plan(self, req: SynthesisRequest, *, stream: bool = False) -> _Plan:
        """Validate everything that needs no CPU and estimate what the request will make;
        raise the client's error (a text, audio or answer over its limit included)."""
        limit = self.settings.max_text_chars
        if len(req.text) > limit:
            raise TextTooLong(f"text has {len(req.text)} characters; the limit is {limit}")
        if not req.text.strip():
            raise EmptyText("text is empty")
        voice = self.voice(req.voice)
        params = req.params.validated(voice.presets, self.settings.allowed_emotions or None)
        native = default_rate(req.format, voice.sample_rate)  # Opus has no 22.05 kHz
        rate = check_sample_rate(req.sample_rate) if req.sample_rate else native
        fmt = resolve_format(req.format, rate)
        cpu, size = output_cost(fmt, rate)
        seconds = voice.estimate_seconds(req.text, params, ssml=req.ssml)
        plan = _Plan(voice, params, fmt, rate, req.text, req.ssml, seconds, cpu, size, not stream)
        self._check_output(plan, seconds)
        return plan

    def _check_output(self, plan: _Plan, seconds: float) -> None:
        """AudioTooLong / AnswerTooLarge when ``seconds`` of audio would be too much."""
        s = self.settings
        if seconds > s.max_audio_seconds:
            raise AudioTooLong(
                f"this request would make about {seconds:.0f} s of audio (its text, pauses "
                f"and speed); the limit is {s.max_audio_seconds:g} s: split it into parts"
            )
        size = int(seconds * plan.bytes_per_second)
        if plan.whole and size > s.max_answer_bytes:
            raise AnswerTooLarge(
                f"the answer would be about {size / 2**20:.0f} MB of {plan.fmt.name} at "
                f"{plan.rate} Hz; whole answers are limited to "
                f"{s.max_answer_bytes / 2**20:.0f} MB: stream it, or ask for a compressed "
                "format or a lower sample rate"
            )

    def _analyzed(self, plan: _Plan, flow: Flow, entry: hvlog.RequestLog | None) -> Utterance:
        """The front end's reading (a piece of the flow), checked: the content filter on
        what will be spoken, what the whole text will make now that its syllables and
        pauses are known, and every emotion its SSML asks for. Runs before the first byte,
        so a stream is refused with its 4xx too."""
        analyze = functools.partial(plan.voice.analyze, plan.text, ssml=plan.ssml)
        utt = flow.submit(analyze).result()
        utt = self._filtered(utt, entry)
        seconds = plan.voice.audio_seconds(utt, plan.params)
        self._check_output(plan, seconds)
        plan.voice.check(utt, plan.params, self.settings.allowed_emotions or None)
        flow.reestimate(
            plan.voice.cost(len(plan.text)) + seconds * plan.cpu_per_second,
            int(seconds * plan.bytes_per_second) if plan.whole else 0,
        )
        return utt

    def _filtered(self, utt: Utterance, entry: hvlog.RequestLog | None) -> Utterance:
        filt = self.content_filter() if self.content_filter is not None else None
        if filt is None or not filt.active:
            return utt
        try:
            out = filt.apply(utt)
        except ContentRejected as exc:
            self.on_filtered(exc.categories, "reject")
            if entry is not None:
                entry.filtered = list(exc.categories)
            raise
        if out.categories:
            self.on_filtered(out.categories, "mask")
            if entry is not None:
                entry.filtered = list(out.categories)
        return out.utterance

    # --- whole responses ----------------------------------------------------------------
    def admit(self, plan: _Plan) -> Flow:
        voice = plan.voice.info.id
        return self.pool.admit(plan.cost, voice, key=(voice, plan.text), memory=plan.bytes)

    async def synthesize(self, req: SynthesisRequest) -> AudioResult:
        plan = self.plan(req)
        start = time.perf_counter()
        flow = self.admit(plan)
        entry = hvlog.current()  # request threads do not see this task's context
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                result = await self.pool.run(lambda: self._whole(plan, flow, entry))
        except TimeoutError:
            raise RequestTimeout(
                f"synthesis took longer than {self.settings.request_timeout:g} s"
            ) from None
        finally:
            flow.close()  # whatever happened: drop what is still queued
        plan.voice.learn(len(plan.text), flow.attained)
        self._count(plan, result.duration, time.perf_counter() - start)
        return result

    def _whole(self, plan: _Plan, flow: Flow, entry: hvlog.RequestLog | None) -> AudioResult:
        """Chunk by chunk: resampled (a stream that keeps the filter's state) and encoded
        as they come, each encoding a piece of the flow. Only the encoded bytes are ever
        held whole, whatever the format, rate and length."""
        utt = self._analyzed(plan, flow, entry)
        resampler = Resampler(plan.voice.sample_rate, plan.rate)
        encoder = WholeEncoder(plan.fmt, plan.rate)

        def encode(audio: np.ndarray) -> None:
            encoder.write(resampler.write(audio))

        stamps: list[CharTime] = []
        steps = _Steps(self._chunks(plan, utt, flow, split=False))
        try:
            while (chunk := steps.next()) is not None:
                flow.submit(encode, chunk.audio).result()
                stamps.extend(chunk.timestamps)
        finally:
            steps.abandon()
        encoded = flow.submit(_finish, encoder, resampler).result()
        return AudioResult(
            data=encoded,
            format=plan.fmt,
            sample_rate=plan.rate,
            duration=encoder.samples / plan.rate,
            voice=plan.voice.info.id,
            emotion=plan.params.emotion,
            timestamps=tuple(stamps),
            normalized=utt.normalized,
            model_sha256=plan.voice.info.model_sha256,
        )

    def _chunks(self, plan: _Plan, utt: Utterance, flow: Flow, *, split: bool) -> Iterator[Chunk]:
        if split and self.settings.stream_first_clause:
            utt = split_first_clause(utt)
        return plan.voice.stream(  # early: streams get a segment's parts as they come
            utt,
            plan.params,
            allowed_emotions=self.settings.allowed_emotions or None,
            early=split,
            flow=flow,
        )

    # --- streams ------------------------------------------------------------------------
    async def stream(self, req: SynthesisRequest) -> AudioStream:
        """Validate, admit and analyze the text; the audio comes on iteration.

        Errors in the input surface here (before any response header is sent)."""
        plan = self.plan(req, stream=True)
        flow = self.admit(plan)
        entry = hvlog.current()
        try:
            utt = await self.pool.run(lambda: self._analyzed(plan, flow, entry))
        except BaseException:
            flow.close()
            raise

        def done() -> None:
            flow.close()
            plan.voice.learn(len(plan.text), flow.attained)

        return AudioStream(
            plan.fmt,
            plan.rate,
            plan.voice.info.id,
            plan.params.emotion,
            self._pieces(plan, utt, flow),
            on_close=done,
        )

    async def _pieces(self, plan: _Plan, utt: Utterance, flow: Flow) -> AsyncIterator[StreamPiece]:
        start = time.perf_counter()
        deadline = start + self.settings.request_timeout
        encoder = StreamEncoder(plan.fmt, plan.rate)
        resampler = Resampler(plan.voice.sample_rate, plan.rate)
        steps = _Steps(self._chunks(plan, utt, flow, split=True))
        seconds = 0.0

        def step() -> StreamPiece | None:
            chunk = steps.next()
            if chunk is None:
                return None
            # in this request thread, not as a piece: a part's encoding is ~1 ms, and as a
            # piece it waited for a core behind the segment's own vocoder windows (a sad
            # paragraph's first audio came 20 ms after its first part was ready)
            data = encoder.write(resampler.write(chunk.audio))
            return StreamPiece(data, chunk.duration, chunk.timestamps)

        try:
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    limit = self.settings.request_timeout
                    raise RequestTimeout(f"synthesis took longer than {limit:g} s")
                try:
                    async with asyncio.timeout(left):
                        piece = await self.pool.run(step)
                except TimeoutError:
                    flow.cancel()
                    limit = self.settings.request_timeout
                    raise RequestTimeout(f"synthesis took longer than {limit:g} s") from None
                if piece is None:
                    break
                seconds += piece.duration
                yield piece
        except BaseException:
            flow.cancel()  # client gone, timeout: every queued piece goes at once
            raise
        finally:
            steps.abandon()
        tail = await self.pool.run(lambda: _finish(encoder, resampler))
        if tail:
            yield StreamPiece(tail)
        self._count(plan, seconds, time.perf_counter() - start)

    def _count(self, plan: _Plan, audio_seconds: float, elapsed: float) -> None:
        m = self.metrics
        vid = plan.voice.info.id
        m.synthesis_seconds.labels(vid, plan.fmt.name).observe(elapsed)
        m.audio_seconds.labels(vid).inc(audio_seconds)
        m.characters.labels(vid).inc(len(plan.text))
        m.syntheses.labels(plan.params.emotion, plan.fmt.name).inc()


def _finish(encoder: WholeEncoder | StreamEncoder, resampler: Resampler) -> bytes:
    """The resampler's tail through the encoder, then the encoder's last bytes."""
    tail = resampler.finish()
    head = b""
    if isinstance(encoder, StreamEncoder):
        head = encoder.write(tail) if tail.size else b""
    else:
        encoder.write(tail)
    return head + encoder.finish()


class _Steps:
    """A chunk generator advanced one step at a time on worker threads, and closed when the
    stream ends for any reason (client gone, timeout): closing it stops the engine's
    look-ahead work. A generator cannot be closed while another thread runs it, so the
    step that is running when the stream is abandoned closes it when it returns."""

    def __init__(self, chunks: Iterator[Chunk]) -> None:
        self._chunks = chunks
        self._lock = threading.Lock()
        self._busy = False
        self._abandoned = False
        self._closed = False

    def next(self) -> Chunk | None:
        with self._lock:
            if self._abandoned:
                return None
            self._busy = True
        try:
            return next(self._chunks, None)
        finally:
            with self._lock:
                self._busy = False
                close = self._abandoned
            if close:
                self._close()

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            busy = self._busy
        if not busy:
            self._close()

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class Synthesis(Protocol):
    """What routes need; :class:`SynthesisService` and any cache wrapping it provide it."""

    async def synthesize(self, req: SynthesisRequest) -> AudioResult: ...

    async def stream(self, req: SynthesisRequest) -> AudioStream: ...
