"""Streamed audio responses that always clean up: the request's flow is closed however
the response ends."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from hanvoice.errors import HanvoiceError
from hanvoice.service.synthesis import AudioStream


async def audio_bytes(
    stream: AudioStream, on_first: Callable[[float], None] | None = None, start: float = 0.0
) -> AsyncIterator[bytes]:
    """The stream's bytes, skipping empty pieces; ``on_first(seconds)`` at the first bytes."""
    first = True
    async for piece in stream:
        if not piece.data:
            continue
        if first and on_first is not None:
            on_first(time.perf_counter() - start)
        first = False
        yield piece.data


async def speech_events(chunks: AsyncIterator[bytes], characters: int) -> AsyncIterator[bytes]:
    """OpenAI's server-sent events for speech: each chunk as ``speech.audio.delta`` (its
    base64 in ``audio``), then ``speech.audio.done`` with ``usage``. The deltas' decoded
    bytes joined are exactly the ``audio`` stream's bytes. ``usage`` counts the input's
    characters as its tokens (a voice like ours has no audio tokens). An error after the
    first event (a timeout) is an ``error`` event: the status line has been sent."""
    try:
        async for chunk in chunks:
            audio = base64.b64encode(chunk).decode("ascii")
            yield _event({"type": "speech.audio.delta", "audio": audio})
    except HanvoiceError as exc:
        yield _event({"type": "error", "error": {"code": exc.code, "message": exc.message}})
        return
    usage = {"input_tokens": characters, "output_tokens": 0, "total_tokens": characters}
    yield _event({"type": "speech.audio.done", "usage": usage})


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


class AudioStreamResponse(StreamingResponse):
    """A chunked audio response that closes its :class:`AudioStream` however it ends
    (finished, client gone, or cancelled before the first byte): the worker slot is always
    released and no synthesis continues for a client that left."""

    def __init__(
        self,
        stream: AudioStream,
        *,
        headers: dict[str, str] | None = None,
        on_first: Callable[[float], None] | None = None,
        start: float | None = None,
        sse_characters: int | None = None,
    ) -> None:
        """``sse_characters``: send :func:`speech_events` (for an input that long)."""
        t0 = time.perf_counter() if start is None else start
        body = audio_bytes(stream, on_first, t0)
        media_type = stream.format.media_type
        if sse_characters is not None:
            body = speech_events(body, sse_characters)
            media_type = "text/event-stream"
            headers = {**(headers or {}), "Cache-Control": "no-cache"}
        super().__init__(body, media_type=media_type, headers=headers)
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stream.aclose()
