"""Speech to text in the service: one upload in, a transcript out, through the same
admission and scheduler as synthesis.

Order of work, cheapest refusal first: the route has already checked the form's fields;
then the upload is decoded on a request thread with its duration capped *while decoding*
(``max_transcription_seconds``: 413 before any model runs, however small the file); then the
request is admitted by the work its duration implies (:meth:`Recognizer.cost`; 503 with
``Retry-After`` when the node's backlog is full); then its 30-second windows run as pieces
of its flow, within ``request_timeout`` (504), and a timeout or a client that leaves drops
the windows not yet started.

The recognizer is loaded on the first transcription when the ``asr`` extra is installed and
``transcriptions`` is on (a node that only speaks never holds Whisper's ~290 MB); otherwise
every request gets 503 saying how to add it, before its body is read.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from hanvoice.asr.audio import RATE, decode
from hanvoice.asr.engine import RecognitionOptions, Recognizer, Transcript
from hanvoice.config import Settings
from hanvoice.errors import HanvoiceError, RecognizerUnavailable
from hanvoice.service.errors import RequestTimeout
from hanvoice.service.metrics import Metrics
from hanvoice.service.workers import WorkerPool

log = logging.getLogger(__name__)

NOT_INSTALLED = "speech recognition is not installed: pip install 'hanvoice[asr]'"


class TranscriptionService:
    def __init__(
        self, recognizer: Recognizer | None, pool: WorkerPool, metrics: Metrics, *,
        unavailable: str | None = None,
    ) -> None:  # fmt: skip
        self.recognizer = recognizer
        """``None`` until the first transcription loads it."""
        self.pool = pool
        self.metrics = metrics
        self.unavailable = unavailable
        """Why there can be no recognizer here (said in the 503), or ``None``."""
        self._loading = asyncio.Lock()

    def require(self) -> None:
        """503 at once when recognition cannot be had here (before a body is read)."""
        if self.unavailable is not None:
            raise RecognizerUnavailable(self.unavailable)

    async def _recognizer(self) -> Recognizer:
        self.require()
        async with self._loading:
            if self.recognizer is None:
                try:
                    self.recognizer = await asyncio.to_thread(Recognizer.load, self.pool.workers)
                except HanvoiceError as exc:  # weights that fail their check
                    self.unavailable = exc.message
                    log.warning("transcriptions unavailable: %s", exc.message)
                    raise RecognizerUnavailable(exc.message) from None
        return self.recognizer

    async def transcribe(
        self, data: bytes, options: RecognitionOptions, settings: Settings
    ) -> Transcript:
        """The transcript of the uploaded ``data``."""
        self.require()
        start = time.perf_counter()
        # decoded first: a file that is not audio, or too long, never loads the model
        audio = await self.pool.run(lambda: decode(data, settings.max_transcription_seconds))
        rec = await self._recognizer()
        options = options.validated(rec.languages)
        seconds = audio.size / RATE
        flow = self.pool.admit(rec.cost(seconds), "transcription")
        try:
            pending = rec.submit(audio, options, flow)
            async with asyncio.timeout(settings.request_timeout):
                transcript = await self.pool.run(pending.result)
        except TimeoutError:
            raise RequestTimeout(
                f"transcription took longer than {settings.request_timeout:g} s"
            ) from None
        finally:
            flow.close()  # whatever happened: the windows not started are dropped
        rec.learn(seconds, flow.attained)
        m = self.metrics
        m.transcriptions.inc()
        m.transcribed_seconds.inc(seconds)
        m.transcription_seconds.observe(time.perf_counter() - start)
        return transcript


def extension(app: FastAPI) -> AbstractAsyncContextManager[None]:
    """The lifespan step that loads the recognizer (after the pool exists)."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        settings: Settings = app.state.settings
        why = None
        if not settings.transcriptions:
            why = "speech recognition is turned off here (transcriptions: false)"
        elif importlib.util.find_spec("faster_whisper") is None:
            why = NOT_INSTALLED
        app.state.transcription = TranscriptionService(
            None, app.state.pool, app.state.metrics, unavailable=why
        )
        try:
            yield
        finally:
            app.state.transcription = None

    return run(app)
