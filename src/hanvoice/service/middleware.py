"""Plain ASGI middleware (no BaseHTTPMiddleware: it would buffer streamed audio).

:class:`RequestMetrics` counts every HTTP request by route template and status;
:class:`Bounds` bounds every request's body (bytes, time) and every send (time).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hanvoice.service.errors import error_body
from hanvoice.service.metrics import Metrics
from hanvoice.service.protocol import ABORT

log = logging.getLogger(__name__)


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_of(scope)
            m = self.metrics
            entry = scope.get("state", {}).get("request_log")  # filled by the synthesis
            emotion = getattr(entry, "emotion", None) or ""
            m.requests.labels(route, scope.get("method", ""), str(status), emotion).inc()
            m.request_seconds.labels(route).observe(time.perf_counter() - start)


SEND_SLICE = 256 * 1024
"""Bytes sent at a time: a large answer goes out in slices, each under ``send_timeout``, so a
slow reader progresses and a stalled one is cut off, whatever the answer's size."""


UPLOAD_LIMITS = {"/v1/audio/transcriptions": "max_upload_bytes"}
"""Paths whose body is an upload, with the setting that bounds it."""


class SlowClient(Exception):
    """A client stopped reading for ``send_timeout`` (or past ``request_timeout``)."""

    def __init__(self, message: str, since: float) -> None:
        super().__init__(message)
        self.since = since
        """Wall-clock time the send that never finished began (the client's stall)."""


class Bounds:
    """Every request bounded in bytes and time, at the door (the innermost middleware, so
    a refused credential or a rate limit costs no body read).

    - The body: counted as it arrives, chunked or not; beyond ``max_body_bytes`` 413 (a
      ``Content-Length`` over it: at once); not all in within ``body_timeout``: 408. It is
      read whole before the route (JSON routes read it whole anyway), then handed on.
    - Sending: every send of an answer or a WebSocket frame may wait ``send_timeout`` for a
      client that does not read, and an HTTP answer must be sent by its ``request_timeout``
      (counted from its start); then the connection is dropped (``hanvoice.abort``) and the
      route's work is cancelled with it: a stream's slot and queued pieces are freed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.settings
        deadline = time.monotonic() + settings.request_timeout
        if scope["type"] == "http":
            try:
                receive = await _read_body(scope, receive, settings)
            except _Refused as refused:
                await _refuse(send, refused.status, refused.code, refused.message)
                return
        else:
            deadline = float("inf")  # a socket serves many requests: each has its own

        async def bounded_send(message: Message) -> None:
            for part in _slices(message):
                left = min(settings.send_timeout, deadline - time.monotonic())
                since = time.time()
                try:
                    async with asyncio.timeout(max(left, 0.0)):
                        await send(part)
                except TimeoutError:
                    abort = scope.get("extensions", {}).get(ABORT)
                    if abort is not None:
                        abort()
                    raise SlowClient(f"the client read nothing for {left:.1f} s", since) from None

        try:
            await self.app(scope, receive, bounded_send)
        except SlowClient as exc:
            log.info(
                "connection dropped: %s",
                exc,
                extra={"path": scope.get("path", ""), "stalled_since": round(exc.since, 3)},
            )


def _slices(message: Message) -> list[Message]:
    body = message.get("body") if message["type"] == "http.response.body" else None
    if body is None or len(body) <= SEND_SLICE:
        return [message]
    view = memoryview(body)
    more = bool(message.get("more_body", False))
    n = len(body)
    return [
        {"type": "http.response.body", "body": view[i : i + SEND_SLICE],
         "more_body": more or i + SEND_SLICE < n}
        for i in range(0, n, SEND_SLICE)
    ]  # fmt: skip


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def _read_body(scope: Scope, receive: Receive, settings: Any) -> Receive:
    """The body read whole (bounded in bytes and time) and a ``receive`` that replays it,
    then passes on (a route waits on it to see the client leave)."""
    headers = dict(scope.get("headers", ()))
    limit = int(getattr(settings, UPLOAD_LIMITS.get(scope.get("path", ""), "max_body_bytes")))
    length = headers.get(b"content-length", b"")
    if length.isdigit() and int(length) > limit:
        raise _Refused(
            413, "body_too_large", f"request body has {int(length)} bytes; the limit is {limit}"
        )
    if not length and b"transfer-encoding" not in headers:
        return receive  # no body
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(settings.body_timeout):
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break  # the client left: the route sees it on its first receive
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise _Refused(
                        413, "body_too_large", f"request body is over {limit} bytes (the limit)"
                    )
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise _Refused(
            408, "body_timeout", f"the body did not arrive within {settings.body_timeout:g} s"
        ) from None
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
