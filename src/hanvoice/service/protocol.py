"""uvicorn's HTTP and WebSocket protocols with the limits uvicorn leaves out.

uvicorn has no time limit for a request's headers and no bound on their size: a client that
opens connections and sends a header a byte at a time (slowloris), or megabytes of headers,
holds them as long as it likes. :func:`bounded_http` adds both, per connection:

- ``header_timeout``: from the connection's first byte (or the previous response's end)
  until its headers are complete; then ``408`` and the connection is closed;
- ``max_header_bytes``: request line and headers together; beyond it ``431`` and closed.

Both protocols also put ``hanvoice.abort`` in each scope's ``extensions``: the transport's
``abort()``. A response that cannot be sent (a client that stopped reading, see
:mod:`hanvoice.service.middleware`) is dropped with it at once; ``close()`` would wait,
forever, for a buffer the client never drains. What the edge adds on top is in
``docs/deploy.md`` (nginx's own header, body and send timeouts).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from hanvoice.config import Settings

ABORT = "hanvoice.abort"
"""The scope extension holding the connection's ``abort()``."""


def _refusal(status: bytes, code: str, message: str) -> bytes:
    """A whole HTTP answer with the service's error body, for a request refused before it
    reached the app."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % (
        status,
        len(body),
    )
    return head + b"connection: close\r\n\r\n" + body


def bounded_http(settings: Settings) -> type[asyncio.Protocol]:
    """The HTTP protocol class for ``uvicorn.Config(http=...)`` with these settings' limits."""

    class BoundedHttp(HttpToolsProtocol):
        header_timeout = settings.header_timeout
        max_header_bytes = settings.max_header_bytes

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._header_timer: asyncio.TimerHandle | None = None
            self._header_bytes = 0
            self._tail = b""
            self._in_headers = False

        def _start_headers(self) -> None:
            self._stop_headers()
            self._in_headers = True
            self._header_bytes = 0
            self._tail = b""
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

        def _stop_headers(self) -> None:
            self._in_headers = False
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _refuse(self, status: bytes, code: str, message: str) -> None:
            self._stop_headers()
            if not self.transport.is_closing():
                self.transport.write(_refusal(status, code, message))
                self.transport.close()

        def _too_slow(self) -> None:
            self._header_timer = None
            if self._in_headers:
                self._refuse(
                    b"408 Request Timeout",
                    "header_timeout",
                    f"the request's headers did not arrive within {self.header_timeout:g} s",
                )

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_headers()  # a connection that never sends is closed too

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_headers()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._in_headers:
                # bytes up to the blank line that ends the headers (which may arrive split
                # over two reads; body bytes in the same read do not count)
                probe = self._tail + data
                end = probe.find(b"\r\n\r\n")
                used = len(data) if end < 0 else end + 4 - len(self._tail)
                self._header_bytes += max(used, 0)
                self._tail = probe[-3:]
                if self._header_bytes > self.max_header_bytes:
                    self._refuse(
                        b"431 Request Header Fields Too Large",
                        "headers_too_large",
                        f"request line and headers are limited to {self.max_header_bytes} bytes",
                    )
                    return
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.scope["extensions"] = {ABORT: self.transport.abort}  # type: ignore[dict-item]
            if not self._in_headers:  # a later request on a kept-alive connection
                self._start_headers()

        def on_headers_complete(self) -> None:
            self._stop_headers()
            super().on_headers_complete()

    return BoundedHttp


class BoundedWebSocket(WebSocketsSansIOProtocol):
    """The WebSocket protocol with ``hanvoice.abort`` in its scope."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][ABORT] = self.transport.abort
