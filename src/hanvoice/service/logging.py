"""Structured logs: every log record as one JSON line, and one access line per request.

The access line carries the original design's fields (``timestamp``, ``client_ip``,
``text_length``, ``emotion``, ``infer_time``, ``status``) plus ``request_id`` (also sent back
as ``X-Request-ID``), ``region``, ``cache``, ``format`` and the error ``code``. Routes fill
the synthesis fields through :func:`current` (a context variable holding this request's
:class:`RequestLog`); the middleware times the request, reads the status and, for error
answers, the ``code`` from the JSON body, then writes the line when the last byte has left.

Never logged: the text itself (unless ``log_text`` is on), credentials, query strings.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hanvoice.service.clientip import Network, client_ip

ACCESS_LOGGER = "hanvoice.access"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


@dataclass(slots=True)
class RequestLog:
    """What the access line says about one request; routes fill the synthesis part."""

    request_id: str
    client_ip: str
    method: str
    path: str
    region: str
    route: str = ""
    status: int = 0
    duration: float = 0.0
    """Seconds from the first byte in to the last byte out."""
    text_length: int | None = None
    emotion: str | None = None
    voice: str | None = None
    format: str | None = None
    cache: str | None = None
    """``hit`` or ``miss`` for synthesis requests."""
    infer_time: float | None = None
    """Seconds spent synthesizing (0 on a cache hit)."""
    first_audio: float | None = None
    """Seconds from the request to the first audio byte, for streamed answers."""
    error: str | None = None
    """The error ``code`` of a 4xx/5xx answer."""
    principal: str | None = None
    """``api_key:<name>`` or ``jwt:<sub>``; never the credential."""
    filtered: list[str] = field(default_factory=list)
    """Content-filter categories that matched (masked or rejected)."""
    text: str | None = None
    """The raw text, only when ``log_text`` is on."""
    started: float = field(default_factory=time.perf_counter, repr=False)

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("started")
        out["duration"] = round(self.duration, 4)
        if self.infer_time is not None:
            out["infer_time"] = round(self.infer_time, 4)
        if self.first_audio is not None:
            out["first_audio"] = round(self.first_audio, 4)
        return {k: v for k, v in out.items() if v is not None and v != []}


SECRET_NAMES = frozenset(
    {"token", "access_token", "id_token", "refresh_token", "api_key", "apikey", "api-key",
     "x-api-key", "key", "authorization", "auth", "jwt", "password", "passwd", "secret",
     "client_secret", "signature", "sig", "session"}
)  # fmt: skip
"""Parameter and header names whose values are credentials, compared after percent-decoding
and case folding."""
_PARAM = re.compile(r"(?<=[?&;])([^=&;\s?#]{1,64})=([^&;\s\"'#]*)")
"""``name=value`` right after ``?``, ``&`` or ``;`` (a bounded name: linear on any text)."""
_HEADER = re.compile(r"(?i)\b(authorization|x-api-key)([:=]\s{0,4})([^\r\n\"',]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s{1,8}|%20|\+)([^\s\"',&]+)")
_JWT = re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
"""Anything shaped like a JWT, wherever it stands."""


def _name(raw: str) -> str:
    """A parameter name as a server would read it: percent-decoded (twice over, for a
    name encoded twice), case-folded."""
    name = raw
    for _ in range(3):
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return name.strip().casefold()


def scrub(text: str) -> str:
    """Credentials that other libraries may log (uvicorn logs WebSocket URLs with their
    query strings) replaced by ``***``: secret parameters however their names are spelled
    (``?%74oken=``, ``&API_KEY=``), authorization headers, bearer tokens and anything shaped
    like a JWT."""
    text = _PARAM.sub(
        lambda m: f"{m.group(1)}=***" if _name(m.group(1)) in SECRET_NAMES else m.group(0), text
    )
    text = _HEADER.sub(r"\1\2***", text)
    text = _BEARER.sub(r"\1\2***", text)
    return _JWT.sub("***", text)


class ScrubSecrets(logging.Filter):
    """Applied to every record on our handler, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_current: ContextVar[RequestLog | None] = ContextVar("hanvoice_request_log", default=None)


def current() -> RequestLog | None:
    """This request's log record, for routes to fill (``None`` outside a request)."""
    return _current.get()


def _timestamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """``{"timestamp", "level", "logger", "message", ...extra fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STD_ATTRS and not k.startswith("_"):
                out[k] = scrub(v) if isinstance(v, str) else v
        if record.exc_info:
            out["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Route every logger to stderr as JSON lines (or plain text for a person at a terminal).

    Replaces the root handlers, so uvicorn's own loggers follow too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ScrubSecrets())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # uvicorn's own access line would duplicate ours without the fields that matter
    logging.getLogger("uvicorn.access").disabled = True
    logging.captureWarnings(True)  # Python warnings become JSON lines too, not raw stderr
    set_level(level)


def set_level(level: str) -> None:
    """Change the level at run time (a dynamic setting): the root logger and ``hanvoice``,
    which the app sets at start-up."""
    for name in ("", "hanvoice"):
        logging.getLogger(name).setLevel(level.upper())


class AccessLogMiddleware:
    """Pure ASGI middleware (works for streamed bodies and WebSockets alike)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        region: str = "",
        trusted_proxies: tuple[Network, ...] = (),
        log_text: Callable[[], bool] = lambda: False,
        on_finish: Callable[[RequestLog], None] | None = None,
    ) -> None:
        self.app = app
        self.region = region
        self.trusted = trusted_proxies
        self.log_text = log_text
        self.on_finish = on_finish
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        if not _REQUEST_ID.match(rid):
            rid = uuid.uuid4().hex
        peer = scope.get("client")
        entry = RequestLog(
            request_id=rid,
            client_ip=client_ip(
                peer[0] if peer else None, headers.get("x-forwarded-for"), self.trusted
            ),
            method=scope.get("method", "WS"),
            path=scope["path"],
            region=self.region,
        )
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_log"] = entry
        state["client_ip"] = entry.client_ip
        token = _current.set(entry)
        error_body = bytearray()

        async def send_wrapper(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                entry.status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", rid.encode("latin-1")),
                ]
            elif kind == "http.response.body" and entry.status >= 400 and len(error_body) < 4096:
                error_body.extend(message.get("body", b""))
            elif kind == "websocket.accept":
                entry.status = 101
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            elif kind == "websocket.close" and not entry.status:
                entry.status = 403
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            entry.status = entry.status or 500
            entry.error = entry.error or "internal_error"
            raise
        finally:
            _current.reset(token)
            entry.duration = time.perf_counter() - entry.started
            route = scope.get("route")
            entry.route = getattr(route, "path", "") or ""
            if error_body and entry.error is None:
                entry.error = _error_code(bytes(error_body))
            if not self.log_text():
                entry.text = None
            self.log.info("request", extra=entry.record())
            if self.on_finish is not None:
                self.on_finish(entry)


def _error_code(body: bytes) -> str | None:
    try:
        data = json.loads(body)
        code = data["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(code) if code else None
