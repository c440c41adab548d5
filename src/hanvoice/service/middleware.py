"""Plain ASGI middleware (no BaseHTTPMiddleware: it would buffer streamed audio).

:class:`RequestMetrics` counts every HTTP request by route template and status;
:class:`BodyLimit` refuses bodies over ``max_body_bytes`` with 413 before they are read.
"""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hanvoice.service.errors import error_body
from hanvoice.service.metrics import Metrics


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


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    body = json.dumps(
                        error_body(
                            "body_too_large",
                            f"request body has {int(value)} bytes; the limit is {self.max_bytes}",
                        )
                    ).encode()
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 413,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close"),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)
