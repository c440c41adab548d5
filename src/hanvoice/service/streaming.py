"""Streamed audio responses that always clean up: the request's flow is closed however
the response ends."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

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
    ) -> None:
        t0 = time.perf_counter() if start is None else start
        super().__init__(
            audio_bytes(stream, on_first, t0),
            media_type=stream.format.media_type,
            headers=headers,
        )
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stream.aclose()
