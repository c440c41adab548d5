"""``/ws/tts``: JSON request in, binary audio frames out, then a JSON end message.

Protocol, per request (several may follow on one connection)::

    -> {"text": "...", "emotion": "happy", "format": "pcm", ...}   (as POST /tts)
    <- {"type": "start", "format": "pcm", "sample_rate": 24000, "voice": "baker", ...}
    <- binary frame, binary frame, ...                             (audio as it is made)
    <- {"type": "end", "duration": 3.2, "timestamps": [{"char": "你", ...}, ...]}

Every message gets an answer: a bad one (not JSON, JSON nested too deep, a wrong field,
text the service refuses, one over the rate limit: each message counts as a request) gets
``{"type": "error", "error": {"code": ..., "message": ...}}`` and the connection stays open
for the next one. A message larger than ``max_body_bytes`` closes the connection with 1009
as soon as its header says so (it is never read). The connection ends (an error frame, then
close 1008) when its token expires or after ``ws_max_lifetime`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from hanvoice.errors import HanvoiceError, RateLimited
from hanvoice.service.deps import MetricsDep, SettingsDep, SynthesisDep
from hanvoice.service.errors import validation_message
from hanvoice.service.guard import ConnectionOver, Gate
from hanvoice.service.middleware import SlowClient
from hanvoice.service.schemas import TtsRequest
from hanvoice.service.synthesis import SynthesisRequest

log = logging.getLogger(__name__)
router = APIRouter(tags=["tts"])


def _error(code: str, message: str, retry_after: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "error": {"code": code, "message": message}}
    if retry_after is not None:
        out["retry_after"] = int(retry_after)
    return out


def _parse(raw: str | bytes) -> TtsRequest:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("send one JSON object per request")
    data.setdefault("format", "pcm")
    return TtsRequest.model_validate(data)


@router.websocket("/ws/tts")
async def ws_tts(
    ws: WebSocket, synthesis: SynthesisDep, metrics: MetricsDep, settings: SettingsDep
) -> None:
    gate = Gate.of(ws.scope, settings.ws_max_lifetime)
    await ws.accept()
    try:
        while True:
            try:
                async with asyncio.timeout(max(gate.left, 0.0)):
                    message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await gate.admit()  # each message is a request for the limits
            except (TimeoutError, ConnectionOver) as exc:
                over = exc if isinstance(exc, ConnectionOver) else gate.ending()
                await ws.send_json(_error(over.code, over.message))
                await ws.close(1008, over.code)
                return
            except RateLimited as exc:
                await ws.send_json(_error(exc.code, exc.message, exc.headers.get("Retry-After")))
                continue
            raw = message.get("text") or message.get("bytes") or b""
            try:
                body = _parse(raw)
            except (ValueError, ValidationError, RecursionError) as exc:
                await ws.send_json(_error(*_describe(exc)))
                continue
            try:
                await _one(ws, body, synthesis, metrics)
            except (WebSocketDisconnect, SlowClient):
                raise
            except Exception:  # never a dropped connection: the client hears what failed
                log.exception("websocket request failed")
                await ws.send_json(_error("internal_error", "internal server error"))
    except WebSocketDisconnect:
        return


async def _one(ws: WebSocket, body: TtsRequest, synthesis: Any, metrics: Any) -> None:
    start = time.perf_counter()
    req = SynthesisRequest(
        body.text, body.params(), body.voice, body.format, body.sample_rate, body.ssml
    )
    try:
        stream = await synthesis.stream(req)
    except HanvoiceError as exc:
        await ws.send_json(_error(exc.code, exc.message))
        return
    stamps: list[dict[str, Any]] = []
    duration = 0.0
    first = True
    try:
        await ws.send_json(
            {
                "type": "start",
                "format": stream.format.name,
                "media_type": stream.format.media_type,
                "sample_rate": stream.sample_rate,
                "voice": stream.voice,
                "emotion": stream.emotion,
            }
        )
        async for piece in stream:
            if piece.data:
                if first:
                    metrics.first_audio_seconds.labels("/ws/tts").observe(
                        time.perf_counter() - start
                    )
                    first = False
                await ws.send_bytes(piece.data)
            duration += piece.duration
            stamps.extend(t.as_dict() for t in piece.timestamps)
    except HanvoiceError as exc:
        await ws.send_json(_error(exc.code, exc.message))
        return
    finally:
        await stream.aclose()
    await ws.send_json({"type": "end", "duration": round(duration, 3), "timestamps": stamps})


def _describe(exc: Exception) -> tuple[str, str]:
    """(code, message) for a message that is not a request, as HTTP would say it."""
    if isinstance(exc, RecursionError):
        return "invalid_json", "the message is not valid JSON: nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return "invalid_json", f"the message is not valid JSON: {exc.msg}"
    if isinstance(exc, ValidationError):
        return validation_message(exc)
    return "invalid_request", str(exc)
