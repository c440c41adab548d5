"""Small helpers shared by the synthesis routes."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable
from functools import lru_cache
from typing import TypeVar

from starlette.requests import Request

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


def content_disposition(extension: str, inline: bool = True) -> str:
    return f'{"inline" if inline else "attachment"}; filename="hanvoice.{extension}"'
