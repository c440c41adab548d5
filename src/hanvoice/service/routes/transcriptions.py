"""OpenAI-compatible speech to text: ``POST /v1/audio/transcriptions``.

OpenAI's client (``client.audio.transcriptions.create(file=..., model="whisper-1")``) works
unchanged: a multipart form with ``file``, ``model``, and optionally ``language``,
``prompt``, ``response_format`` (``json``, ``text`` or ``verbose_json`` with segments) and
``temperature``. Any model name OpenAI has for transcription means our one recognizer
(Whisper base); ``srt``, ``vtt`` and word timestamps are refused with 400, never ignored.

The form is parsed here with bounds (one file, a few fields, each part within the body
limit); the upload's duration limit, admission and the work are
:class:`~hanvoice.service.transcription.TranscriptionService`'s.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from hanvoice.asr.engine import RecognitionOptions, Transcript
from hanvoice.errors import InvalidParameter
from hanvoice.service.deps import SettingsDep
from hanvoice.service.errors import InvalidRequest, ModelNotFound, NotReady, UnsupportedMediaType
from hanvoice.service.schemas import _errors
from hanvoice.service.transcription import TranscriptionService

router = APIRouter(prefix="/v1", tags=["openai"])

MODELS = ("whisper-1", "whisper-base", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "hanvoice")
FORMATS = ("json", "text", "verbose_json")
FIELDS = frozenset(
    {"file", "model", "language", "prompt", "response_format", "temperature"}
    | {"timestamp_granularities[]", "stream"}
)
MAX_PROMPT_CHARS = 1000
"""Whisper reads at most 224 prompt tokens; a longer prompt is a mistake, not a request."""

_FORM = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file", "model"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "model": {"type": "string", "enum": list(MODELS)},
                "language": {"type": "string", "example": "zh"},
                "prompt": {"type": "string", "maxLength": MAX_PROMPT_CHARS},
                "response_format": {"type": "string", "enum": list(FORMATS)},
                "temperature": {"type": "number", "minimum": 0, "maximum": 1},
            },
        }
    }
}


def _service(request: Request) -> TranscriptionService:
    service = getattr(request.app.state, "transcription", None)
    if not isinstance(service, TranscriptionService):
        raise NotReady("the service is still starting")
    return service


@router.post(
    "/audio/transcriptions",
    response_class=Response,
    openapi_extra={"requestBody": {"required": True, "content": _FORM}},
    responses={
        200: {
            "description": "The transcript (JSON, or plain text with response_format=text)",
            "content": {"application/json": {}, "text/plain": {}},
        },
        **_errors(400, 404, 413, 415, 503, 504),
    },
)
async def transcriptions(request: Request, settings: SettingsDep) -> Response:
    """OpenAI's ``audio.transcriptions.create``."""
    service = _service(request)
    service.require()  # 503 before the body is read when recognition is not installed
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise UnsupportedMediaType(
            f"send the audio as multipart/form-data with a file field (got {ctype or 'none'!r})"
        )
    form = await _form(request, settings.max_upload_bytes)
    try:
        data, fmt, options = await _request(form)
    finally:
        await form.close()
    transcript = await service.transcribe(data, options, settings)
    return _answer(transcript, fmt)


async def _form(request: Request, max_bytes: int) -> FormData:
    try:
        return await request.form(max_files=1, max_fields=len(FIELDS), max_part_size=max_bytes)
    except HTTPException as exc:  # Starlette's 400 for a malformed or over-full form
        raise InvalidRequest(f"invalid multipart form: {exc.detail}") from None


async def _request(form: FormData) -> tuple[bytes, str, RecognitionOptions]:
    """The upload, the answer's format and the recognition options; 400/404 naming the
    field that is wrong."""
    unknown = sorted(set(form.keys()) - FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidRequest("file: field required (the audio, as a file part)")
    model = _text(form, "model")
    if not model:
        raise InvalidRequest("model: field required (e.g. whisper-1)")
    if model not in MODELS:
        raise ModelNotFound(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
    fmt = _text(form, "response_format") or "json"
    if fmt not in FORMATS:
        raise InvalidParameter(f"response_format must be one of {', '.join(FORMATS)}")
    prompt = _text(form, "prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidParameter(f"prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS}")
    if form.getlist("timestamp_granularities[]") not in ([], ["segment"]):
        raise InvalidParameter("only segment timestamps are available (no word timestamps)")
    if _text(form, "stream").lower() not in ("", "false"):
        raise InvalidParameter("streamed transcription is not available; leave stream unset")
    try:
        temperature = float(_text(form, "temperature") or 0.0)
    except ValueError:
        raise InvalidParameter("temperature must be a number between 0 and 1") from None
    options = RecognitionOptions(
        language=_text(form, "language").lower() or None,
        prompt=prompt or None,
        temperature=temperature,
        timestamps=fmt == "verbose_json",
    )
    data = await upload.read()
    if not data:
        raise InvalidRequest("file: the upload is empty")
    return data, fmt, options


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise InvalidRequest(f"{name}: expected a plain field, got a file")
    return (value or "").strip()


def _answer(t: Transcript, fmt: str) -> Response:
    if fmt == "text":
        return Response(t.text + "\n", media_type="text/plain; charset=utf-8")
    body: dict[str, Any] = {"text": t.text}
    if fmt == "verbose_json":
        body = {
            "task": "transcribe",
            "language": t.language,
            "duration": t.duration,
            "text": t.text,
            "segments": [
                {
                    "id": s.id,
                    "seek": s.seek,
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "tokens": list(s.tokens),
                    "temperature": s.temperature,
                    "avg_logprob": s.avg_logprob,
                    "compression_ratio": s.compression_ratio,
                    "no_speech_prob": s.no_speech_prob,
                }
                for s in t.segments
            ],
        }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")
