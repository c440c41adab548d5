"""The one place where errors become HTTP: ``HanvoiceError.code`` -> status + JSON body.

Every error response has the body ``{"error": {"code": "...", "message": "..."}}``; the
client's mistakes get a 4xx, never a 500. Features add their codes to :data:`STATUS` (auth:
401, rate limits: 429, ...) and may put response headers on an error instance
(``exc.headers``, e.g. ``WWW-Authenticate``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hanvoice.errors import HanvoiceError, Overloaded
from hanvoice.text.hygiene import first_invalid

log = logging.getLogger(__name__)

STATUS: dict[str, int] = {
    "empty_text": 400,
    "invalid_text": 400,
    "invalid_ssml": 400,
    "invalid_character": 400,
    "text_too_long": 413,
    "audio_too_long": 413,
    "answer_too_large": 413,
    "body_too_large": 413,
    "body_timeout": 408,
    "invalid_parameter": 400,
    "unknown_emotion": 400,
    "voice_not_found": 404,  # issue 8: an unknown voice is a 404, never a fallback
    "invalid_request": 400,
    "invalid_json": 400,
    "unsupported_media_type": 415,
    "not_found": 404,
    "model_not_found": 404,
    "method_not_allowed": 405,
    "overloaded": 503,
    "degraded": 503,
    "content_rejected": 422,
    "invalid_audio": 400,
    "asr_unavailable": 503,
    "unauthorized": 401,
    "forbidden": 403,
    "rate_limited": 429,
    "not_ready": 503,
    "client_closed": 499,
    "timeout": 504,
    "voice_assets": 500,
    "engine_error": 500,
    "internal_error": 500,
}
"""Status per error code. Unlisted codes: 400 for client errors, else 500."""


class ServiceError(HanvoiceError):
    """An error that exists only at the HTTP layer (routing, content type, timeouts)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.client_error = STATUS.get(self.code, 500) < 500


class InvalidRequest(ServiceError):
    code = "invalid_request"
    client_error = True


class UnsupportedMediaType(ServiceError):
    code = "unsupported_media_type"
    client_error = True


class NotFound(ServiceError):
    code = "not_found"
    client_error = True


class ModelNotFound(ServiceError):
    code = "model_not_found"
    client_error = True


class ClientClosed(ServiceError):
    """The client hung up before the answer was ready (nginx's 499); nobody reads the body,
    but logs and metrics see the request end."""

    code = "client_closed"
    client_error = True


class RequestTimeout(ServiceError):
    code = "timeout"


class NotReady(ServiceError):
    code = "not_ready"


def status_for(exc: HanvoiceError) -> int:
    return STATUS.get(exc.code, 400 if exc.client_error else 500)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(exc: HanvoiceError) -> JSONResponse:
    headers: dict[str, str] = dict(getattr(exc, "headers", None) or {})
    if isinstance(exc, Overloaded):
        headers.setdefault("Retry-After", str(max(1, math.ceil(exc.retry_after))))
    return JSONResponse(error_body(exc.code, exc.message), status_for(exc), headers=headers)


def validation_message(exc: RequestValidationError | ValidationError) -> tuple[str, str]:
    """(code, message) for a request's validation errors (HTTP or a WebSocket message),
    naming each bad field."""
    parts = []
    code = "invalid_request"
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return "invalid_json", f"the request body is not valid JSON: {err.get('msg', '')}"
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc)
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif err.get("type") == "missing":
            msg = "field required"
        elif err.get("type") == "invalid_character":
            code = "invalid_character"
        elif err.get("type") == "string_unicode":  # strict JSON: a lone surrogate escape
            code = "invalid_character"
            bad = first_invalid(err["input"]) if isinstance(err.get("input"), str) else None
            where = f"character {bad[0]} ({bad[1]})" if bad else "a lone surrogate"
            msg = f"{where} is not allowed; send valid Unicode text"
        elif err.get("type") == "string_too_short" and field in ("text", "input"):
            code = "empty_text"  # the schema's minLength, the service's own code
            parts.append(f"{field} is empty")
            continue
        parts.append(f"{field}: {msg}" if field else msg)
    return code, "; ".join(parts) or "invalid request"


async def _hanvoice(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HanvoiceError)
    # a refusal under load is the service working as designed: the access log and
    # hanvoice_rejected_total count it; an error line per 503 would flood the log in a storm
    if not exc.client_error and not isinstance(exc, Overloaded):
        log.error("request failed: %s: %s", exc.code, exc.message)
    return error_response(exc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    code, message = validation_message(exc)
    return JSONResponse(error_body(code, message), STATUS[code])


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first matching
    route's: ``/tts`` has a GET route and a POST route)."""
    routes = request.app.router.routes
    allowed = [
        m
        for m in METHODS
        if any(r.matches({**request.scope, "method": m})[0] is Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # FastAPI's own 400 is "There was an error parsing the body" (e.g. invalid UTF-8)
    code = {
        400: "invalid_json",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
    }.get(exc.status_code, "invalid_request" if exc.status_code < 500 else "internal_error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = "no such resource"
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
        message = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
    return JSONResponse(error_body(code, message), exc.status_code, headers=headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal server error"), 500)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app`` (called by ``create_app``)."""
    app.add_exception_handler(HanvoiceError, _hanvoice)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
