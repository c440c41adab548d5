"""The synthesis every route calls, with the production checks in front of it.

:class:`CachedSynthesis` wraps :class:`~hanvoice.service.synthesis.SynthesisService` (it
replaces ``app.state.synthesis``, so the routes do not change) and, per request:

1. validates as the service does (bad input gets its 4xx first, cache or not);
2. looks the response up in the cache (memory, then Redis); a hit costs no worker slot; the
   key holds the content filter's version, so a changed word list is a miss;
3. in degrade mode refuses a miss with 503 + ``Retry-After``;
4. otherwise synthesizes (the content filter reads the front end's output there, see
   :class:`~hanvoice.service.synthesis.SynthesisService`) and stores the result.

Streamed answers are cached too, under their own key (a streamed WAV has a "length unknown"
header, so its bytes differ from a whole response's), and only when the stream completed.
It also fills this request's access-log record (emotion, format, cache, infer time).
Calls made outside a request (the start-up warm-up) go straight to the service: a warm-up
answered from Redis would leave the engine cold.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from hanvoice.audio.codecs import resolve_format
from hanvoice.cache import AudioCache, CachedAudio, audio_cache_key
from hanvoice.config import Settings
from hanvoice.errors import Degraded
from hanvoice.service import logging as hvlog
from hanvoice.service.prodmetrics import ProductionMetrics
from hanvoice.service.synthesis import (
    AudioResult,
    AudioStream,
    StreamPiece,
    SynthesisRequest,
    SynthesisService,
)
from hanvoice.synth import CharTime


def _stamps_out(stamps: tuple[CharTime, ...]) -> list[list[Any]]:
    return [[t.char, t.start, t.end, list(t.source)] for t in stamps]


def _stamps_in(raw: Any) -> tuple[CharTime, ...]:
    return tuple(CharTime(str(c), float(s), float(e), (int(a), int(b))) for c, s, e, (a, b) in raw)


class CachedSynthesis:
    def __init__(
        self,
        inner: SynthesisService,
        cache: AudioCache,
        *,
        settings: Callable[[], Settings],
        filter_version: Callable[[], str],
        metrics: ProductionMetrics,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.settings = settings
        self.filter_version = filter_version
        self.metrics = metrics

    # --- the two methods routes call -----------------------------------------------------

    async def synthesize(self, req: SynthesisRequest) -> AudioResult:
        if hvlog.current() is None:  # not a request (the warm-up): it must reach the engine
            return await self.inner.synthesize(req)
        req, key, entry = self._prepare(req, stream=False)
        hit = await self.cache.get(key)
        if hit is not None:
            return self._hit(hit.entry, entry)
        self._refuse_in_degrade_mode()
        start = time.perf_counter()
        result = await self.inner.synthesize(req)
        if entry is not None:
            entry.cache, entry.infer_time = "miss", time.perf_counter() - start
        await self._store(key, result)
        return result

    async def fill(self, req: SynthesisRequest) -> bool:
        """Make sure the cache holds this request's answer (``hanvoice cache warm``); True
        when it already did. Same filter, key and bytes as a request to the service."""
        req, key, _ = self._prepare(req, stream=False)
        if await self.cache.get(key) is not None:
            return True
        await self._store(key, await self.inner.synthesize(req))
        return False

    async def _store(self, key: str, result: AudioResult) -> None:
        await self.cache.put(
            key,
            CachedAudio(
                result.data,
                result.format.name,
                result.format.media_type,
                result.sample_rate,
                result.duration,
                {
                    "voice": result.voice,
                    "emotion": result.emotion,
                    "normalized": result.normalized,
                    "model_sha256": result.model_sha256,
                    "timestamps": _stamps_out(result.timestamps),
                },
            ),
        )

    async def stream(self, req: SynthesisRequest) -> AudioStream:
        if hvlog.current() is None:
            return await self.inner.stream(req)
        req, key, entry = self._prepare(req, stream=True)
        hit = await self.cache.get(key)
        if hit is not None:
            return AudioStream.of(self._hit(hit.entry, entry))
        self._refuse_in_degrade_mode()
        start = time.perf_counter()
        inner = await self.inner.stream(req)
        if entry is not None:
            entry.cache = "miss"
        return AudioStream(
            inner.format,
            inner.sample_rate,
            inner.voice,
            inner.emotion,
            self._tee(inner, key, start, entry),
        )

    # --- steps -------------------------------------------------------------------------

    def _prepare(
        self, req: SynthesisRequest, *, stream: bool
    ) -> tuple[SynthesisRequest, str, hvlog.RequestLog | None]:
        plan = self.inner.plan(req, stream=stream)  # the client's 4xx before anything else
        entry = hvlog.current()
        if entry is not None:
            entry.text_length = len(req.text)
            entry.emotion = plan.params.emotion
            entry.voice = plan.voice.info.id
            entry.format = plan.fmt.name
            entry.text = req.text
        info = plan.voice.info
        key = audio_cache_key(
            model_id=info.model_id,
            model_sha256=info.model_sha256,
            voice=info.id,
            text=req.text,
            params=plan.params,
            fmt=plan.fmt.name,
            sample_rate=plan.rate,
            ssml=plan.ssml,
            extra={
                "stream": stream,
                "codec": plan.fmt.subtype or "",
                "filter": self.filter_version(),
            },
        )
        return req, key, entry

    def _hit(self, cached: CachedAudio, entry: hvlog.RequestLog | None) -> AudioResult:
        if entry is not None:
            entry.cache, entry.infer_time = "hit", 0.0
        meta = cached.meta
        return AudioResult(
            data=cached.audio,
            format=resolve_format(cached.format, cached.sample_rate),
            sample_rate=cached.sample_rate,
            duration=cached.duration,
            voice=str(meta.get("voice", "")),
            emotion=str(meta.get("emotion", "")),
            timestamps=_stamps_in(meta.get("timestamps", [])),
            normalized=str(meta.get("normalized", "")),
            model_sha256=str(meta.get("model_sha256", "")),
        )

    def _refuse_in_degrade_mode(self) -> None:
        settings = self.settings()
        if settings.degrade:
            self.metrics.degraded_refusals.inc()
            raise Degraded(
                "this node is in read-only (degrade) mode and serves cached audio only; "
                "this text is not cached, retry later",
                retry_after=settings.retry_after,
            )

    async def _tee(
        self,
        inner: AudioStream,
        key: str,
        start: float,
        entry: hvlog.RequestLog | None,
    ) -> AsyncIterator[StreamPiece]:
        """Pass the pieces on while keeping a copy; store it when the stream completed."""
        data = bytearray()
        stamps: list[CharTime] = []
        seconds = 0.0
        complete = False
        try:
            async for piece in inner:
                data += piece.data
                stamps.extend(piece.timestamps)
                seconds += piece.duration
                yield piece
            complete = True
        finally:
            await inner.aclose()
            if entry is not None:
                entry.infer_time = time.perf_counter() - start
        if complete:
            await self.cache.put(
                key,
                CachedAudio(
                    bytes(data),
                    inner.format.name,
                    inner.format.media_type,
                    inner.sample_rate,
                    seconds,
                    {
                        "voice": inner.voice,
                        "emotion": inner.emotion,
                        "timestamps": _stamps_out(tuple(stamps)),
                    },
                ),
            )
