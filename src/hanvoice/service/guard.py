"""Authentication and rate limits in front of every route, as one pure ASGI middleware.

Runs before routing and before the body is read, so a request without a valid credential or
over its limit costs neither parsing nor a worker. Works for HTTP and WebSockets alike
(a refused WebSocket is closed with 1008 before it is accepted). The parts live on
``app.state.production`` (made in the lifespan); until they exist requests pass through.

Also puts ``X-RateLimit-*`` on answers that were counted, and ``X-Cache`` on synthesis
answers (from this request's access-log record, filled by the synthesis).
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hanvoice.errors import Forbidden, HanvoiceError, Unauthorized
from hanvoice.service.auth import Authenticator, credential_from
from hanvoice.service.errors import error_response
from hanvoice.service.prodmetrics import ProductionMetrics
from hanvoice.service.ratelimit import Limiter


class Guarded(Protocol):
    """What the guard needs of ``app.state.production`` (:class:`~hanvoice.service.
    production.Production` has it); named here, so the two modules do not import each
    other."""

    auth: Authenticator
    limiter: Limiter
    metrics: ProductionMetrics


def _group(path: str) -> str:
    """A bounded label for metrics: the first path segment (``/tts``, ``/v1``, ``/audio``)."""
    return "/" + path.lstrip("/").split("/", 1)[0]


class GuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        prod: Guarded | None = getattr(scope["app"].state, "production", None)
        if prod is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = None
        if scope["type"] == "websocket":
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        state: dict[str, Any] = scope.setdefault("state", {})
        try:
            principal = prod.auth.authorize(path, credential_from(headers, query))
        except (Unauthorized, Forbidden) as exc:
            prod.metrics.auth_failures.labels(exc.code).inc()
            await self._refuse(scope, receive, send, exc)
            return
        state["principal"] = principal
        log_entry = state.get("request_log")
        if log_entry is not None and principal.rate_key:
            log_entry.principal = principal.rate_key
        extra: list[tuple[bytes, bytes]] = []
        # API routes only: probes, metrics and the admin routes are never limited
        if prod.limiter.enabled and prod.auth.required_scope(path) == prod.auth.scope_synthesize:
            identity = principal.rate_key or f"ip:{state.get('client_ip', 'unknown')}"
            decision = await prod.limiter.hit(identity)
            if decision is not None:
                if not decision.allowed:
                    prod.metrics.rate_limited.labels(_group(path)).inc()
                    await self._refuse(scope, receive, send, decision.error())
                    return
                extra = [(k.lower().encode(), v.encode()) for k, v in decision.headers().items()]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                added = list(extra)
                cache = getattr(log_entry, "cache", None)
                if cache:
                    added.append((b"x-cache", cache.encode()))
                if added:
                    message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: HanvoiceError) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": exc.code})
            return
        await error_response(exc)(scope, receive, send)
