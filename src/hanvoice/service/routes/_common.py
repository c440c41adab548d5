"""Small helpers shared by the synthesis routes."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Iterator
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hanvoice.config import Settings
from hanvoice.service.errors import ClientClosed

T = TypeVar("T")


async def _disconnected(request: Request) -> None:
    """Return when the client goes away (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``, cancelling it (and its queued inference) if the client leaves.

    Raises :class:`ClientClosed` (499) in that case: nobody is left to read the answer."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        raise ClientClosed("the client closed the connection before the audio was ready")
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()


B64_MEMO_MAX_BYTES = 1 << 20
"""Answers up to this size (about 20 s of 24 kHz WAV) are remembered: frequent phrases are
short, and eight long chapters held twice (bytes and base64) would cost hundreds of MB."""


def b64(data: bytes) -> str:
    """Base64 of the audio. The last few short answers are remembered: a cache hit from the
    memory tier hands back the same bytes object (its hash is kept, the lookup is an
    identity check), so a frequent phrase is not re-encoded every time (~0.3 ms for 4 s of
    WAV)."""
    return _b64_memo(data) if len(data) <= B64_MEMO_MAX_BYTES else _b64(data)


@lru_cache(maxsize=8)
def _b64_memo(data: bytes) -> str:
    return _b64(data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def link_owner(request: Request, settings: Settings) -> str | None:
    """Whom an audio link made or fetched by this request belongs to: the key or token
    subject with ``audio_url_owner_only`` (``None`` without auth: links are for anyone)."""
    principal = getattr(request.state, "principal", None)
    key = getattr(principal, "rate_key", None)
    return key if settings.audio_url_owner_only and isinstance(key, str) else None


def content_disposition(extension: str, inline: bool = True) -> str:
    return f'{"inline" if inline else "attachment"}; filename="hanvoice.{extension}"'


B64_SLICE = 3 << 20
"""Bytes of audio base64-encoded at a time in a streamed JSON answer (a multiple of 3, so
the slices' base64 joins into the base64 of the whole)."""


def json_with_audio(model: BaseModel, data: bytes) -> Response:
    """``model`` as JSON with ``"audio"``: the base64 of ``data`` (the model's own ``audio``
    field left out).

    A long answer is sent as it is encoded, slice by slice, so the base64 text and the JSON
    around it (each a third larger than the audio) are never held whole: a 10-minute
    chapter's answer costs its WAV bytes, not three copies of them. pydantic-core writes the
    rest of the JSON in one pass (FastAPI's own path would validate the model again).
    """
    rest = model.model_dump_json(exclude_none=True, exclude={"audio"})
    if len(data) <= B64_MEMO_MAX_BYTES:
        head = '{"audio":"' + b64(data) + '"' + ("," + rest[1:] if rest != "{}" else "}")
        return Response(head, media_type="application/json")

    def body() -> Iterator[bytes]:
        view = memoryview(data)  # slices of a view are not copies
        yield b'{"audio":"'
        for i in range(0, len(data), B64_SLICE):
            yield base64.b64encode(view[i : i + B64_SLICE])
        yield b'"' + (b"," + rest[1:].encode() if rest != "{}" else b"}")

    return StreamingResponse(body(), media_type="application/json")
