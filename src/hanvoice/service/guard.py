"""Authentication and rate limits in front of every route, as one pure ASGI middleware.

Runs before routing and before the body is read, so a request without a valid credential or
over its limit costs neither parsing nor a worker. Works for HTTP and WebSockets alike
(a refused WebSocket is closed with 1008 before it is accepted). The parts live on
``app.state.production`` (made in the lifespan); until they exist requests pass through.

- Failed credentials are limited per client address (``auth_failure_limit``): past it the
  address gets 429 for any credential until the window has room, so keys cannot be guessed
  at the speed of the network.
- A WebSocket carries many requests: :class:`Gate` counts each message against the same
  limits, and ends the connection when its token expires or its lifetime
  (``ws_max_lifetime``) is over.
- Metric labels come from a fixed set (:func:`route_group`), never from the raw path.

Also puts ``X-RateLimit-*`` on answers that were counted, and ``X-Cache`` on synthesis
answers (from this request's access-log record, filled by the synthesis).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hanvoice.errors import Forbidden, HanvoiceError, RateLimited, Unauthorized
from hanvoice.service.auth import ANONYMOUS, Authenticator, Principal, credential_from
from hanvoice.service.errors import error_response
from hanvoice.service.prodmetrics import ProductionMetrics
from hanvoice.service.ratelimit import Decision, Limiter


class Guarded(Protocol):
    """What the guard needs of ``app.state.production`` (:class:`~hanvoice.service.
    production.Production` has it); named here, so the two modules do not import each
    other."""

    auth: Authenticator
    limiter: Limiter
    auth_limiter: Limiter
    metrics: ProductionMetrics


ROUTE_GROUPS = ("/tts", "/v1", "/ws", "/audio", "/admin", "/voices", "/metrics", "/version")


def route_group(path: str) -> str:
    """A label from a fixed set: the first path segment when it is one of ours, else
    ``other`` (random paths must not make new metric series)."""
    first = "/" + path.lstrip("/").split("/", 1)[0]
    return first if first in ROUTE_GROUPS else "other"


def _too_many_failures(decision: Decision) -> RateLimited:
    retry = decision.headers().get("Retry-After", "1")
    return RateLimited(
        f"too many failed credentials from this address; retry in {retry} s",
        {"Retry-After": retry},
    )


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
        state: dict[str, Any] = scope.setdefault("state", {})
        address = str(state.get("client_ip", "unknown"))
        try:
            principal = await self._authorize(prod, scope, path, address)
        except (Unauthorized, Forbidden, RateLimited) as exc:
            if not isinstance(exc, RateLimited):
                prod.metrics.auth_failures.labels(exc.code).inc()
            else:
                prod.metrics.rate_limited.labels(route_group(path)).inc()
            await self._refuse(scope, receive, send, exc)
            return
        state["principal"] = principal
        log_entry = state.get("request_log")
        if log_entry is not None and principal.rate_key:
            log_entry.principal = principal.rate_key
        extra: list[tuple[bytes, bytes]] = []
        # API routes only: probes, metrics and the admin routes are never limited
        if scope["type"] == "http" and limited(prod, path):
            decision = await prod.limiter.hit(identity(principal, address))
            if decision is not None:
                if not decision.allowed:
                    prod.metrics.rate_limited.labels(route_group(path)).inc()
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

    async def _authorize(self, prod: Guarded, scope: Scope, path: str, address: str) -> Principal:
        """Who is calling; 401/403, or 429 for an address with too many failed credentials
        (checked before its credential, so a right guess is not told apart)."""
        if not prod.auth.enabled or prod.auth.required_scope(path) is None:
            return ANONYMOUS
        failures = f"authfail:{address}"
        blocked = await prod.auth_limiter.peek(failures)
        if blocked is not None and not blocked.allowed:
            raise _too_many_failures(blocked)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = None
        if scope["type"] == "websocket":
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            return prod.auth.authorize(path, credential_from(headers, query))
        except Unauthorized:
            decision = await prod.auth_limiter.hit(failures)
            if decision is not None and not decision.allowed:
                raise _too_many_failures(decision) from None
            raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: HanvoiceError) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": exc.code})
            return
        await error_response(exc)(scope, receive, send)


def limited(prod: Guarded, path: str) -> bool:
    """Synthesis routes are rate limited; probes, metrics and admin routes are not."""
    return prod.limiter.enabled and prod.auth.required_scope(path) == prod.auth.scope_synthesize


def identity(principal: Principal, address: str) -> str:
    """What limits count against: the key or token subject, else the client address."""
    return principal.rate_key or f"ip:{address}"


class ConnectionOver(HanvoiceError):
    """The WebSocket's token expired or its lifetime is over: the connection ends."""

    code = "connection_over"
    client_error = True


@dataclass
class Gate:
    """One WebSocket connection's limits: every message is a request for the rate limiter,
    and the connection ends when its credential expires or it has lived
    ``ws_max_lifetime`` seconds."""

    prod: Guarded | None
    principal: Principal
    address: str
    path: str
    ends: float
    """``time.time()`` at which the connection must close."""

    @classmethod
    def of(cls, scope: Scope, lifetime: float) -> Gate:
        state = scope.get("state", {})
        principal: Principal = state.get("principal", ANONYMOUS)
        ends = time.time() + lifetime
        if principal.expires is not None:
            ends = min(ends, principal.expires)
        prod = getattr(scope["app"].state, "production", None)
        return cls(prod, principal, str(state.get("client_ip", "unknown")), scope["path"], ends)

    @property
    def left(self) -> float:
        """Seconds until the connection must close."""
        return self.ends - time.time()

    def over(self) -> ConnectionOver | None:
        return self.ending() if self.left <= 0 else None

    def ending(self) -> ConnectionOver:
        """Why the connection ends at :attr:`ends`."""
        if self.principal.expires is not None and self.ends >= self.principal.expires:
            return ConnectionOver("the token has expired: connect again with a fresh one")
        return ConnectionOver("the connection reached its maximum lifetime: connect again")

    async def admit(self) -> None:
        """Before each message: ConnectionOver, or RateLimited when its identity is over."""
        over = self.over()
        if over is not None:
            raise over
        prod = self.prod
        if prod is None or not limited(prod, self.path):
            return
        decision = await prod.limiter.hit(identity(self.principal, self.address))
        if decision is not None and not decision.allowed:
            prod.metrics.rate_limited.labels(route_group(self.path)).inc()
            raise decision.error()
