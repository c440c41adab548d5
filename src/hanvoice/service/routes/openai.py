"""OpenAI-compatible speech: ``POST /v1/audio/speech`` and ``GET /v1/models``.

Point an OpenAI client library at ``http://host:5000/v1`` (``base_url``) and any API key.
OpenAI's voice names map to our voices (``Settings.openai_voices``, else the default voice);
our own voice ids work too; any other name is a 404, never a silent fallback.

Speech streams by default, like OpenAI's (``with_streaming_response`` hears the first
sentence while the rest is made); ``instructions`` are read by :mod:`hanvoice.instructions`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response

from hanvoice import instructions
from hanvoice.config import OPENAI_VOICES, Settings
from hanvoice.errors import VoiceNotFound
from hanvoice.service.deps import CatalogDep, JsonBody, MetricsDep, SettingsDep, SynthesisDep
from hanvoice.service.errors import InvalidRequest, ModelNotFound
from hanvoice.service.routes._common import content_disposition, unless_disconnected
from hanvoice.service.schemas import SYNTH_ERRORS, Model, ModelList, SpeechRequest, _errors
from hanvoice.service.streaming import AudioStreamResponse
from hanvoice.service.synthesis import SynthesisRequest
from hanvoice.synth import SynthesisParams
from hanvoice.voices import VoiceCatalog

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai"])

MODELS = ("hanvoice", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")
"""Model names accepted; they all mean "the voice named in the request"."""
CREATED = 1767225600  # 2026-01-01, a fixed "created" stamp for /v1/models

SPEECH_TYPES: dict[str, Any] = {
    t: {}
    for t in (
        "audio/mpeg",
        "audio/ogg",
        "audio/aac",
        "audio/flac",
        "audio/wav",
        "audio/L16",
        "text/event-stream",
    )
}


def resolve_voice(name: str, settings: Settings, catalog: VoiceCatalog) -> str:
    """Our voice id for an OpenAI voice name or one of our ids."""
    if name in catalog.configs:
        return name
    key = name.strip().lower()
    if key in settings.openai_voices:
        return settings.openai_voices[key]
    if key in OPENAI_VOICES:  # the catalogue's pick among installed voices, else the default
        return catalog.openai_voices().get(key, settings.default_voice)
    raise VoiceNotFound(
        f"unknown voice {name!r}; use one of {', '.join(catalog.ids)} or an OpenAI voice name "
        f"({', '.join(OPENAI_VOICES)})"
    )


@router.post(
    "/audio/speech",
    response_class=Response,
    dependencies=[JsonBody],
    responses={
        200: {"description": "The audio", "content": SPEECH_TYPES},
        **SYNTH_ERRORS,
        **_errors(404),
    },
)
async def speech(
    body: SpeechRequest,
    request: Request,
    synthesis: SynthesisDep,
    settings: SettingsDep,
    catalog: CatalogDep,
    metrics: MetricsDep,
) -> Response:
    """OpenAI's ``audio.speech.create``; ``opus`` is Opus in Ogg, ``pcm`` raw 16-bit LE.

    The audio streams as it is made, as OpenAI's does (chunked, no Content-Length);
    ``"stream": false`` asks for the whole file instead, ``stream_format: "sse"`` for
    OpenAI's events. Every error that can be known before the first byte (voice, text,
    limits, the front end's reading) is a 4xx with a JSON body, streamed or not."""
    if body.model not in MODELS:
        raise ModelNotFound(f"unknown model {body.model!r}; use one of {', '.join(MODELS)}")
    if body.stream_format == "sse" and not body.stream:
        raise InvalidRequest('stream_format "sse" is a stream; leave out "stream": false')
    voice = resolve_voice(body.voice, settings, catalog)
    params, headers = _styled(body, voice, settings, catalog)
    req = SynthesisRequest(body.input, params, voice, body.response_format, body.sample_rate)
    if body.stream:
        start = time.perf_counter()
        stream = await synthesis.stream(req)
        sse = body.stream_format == "sse"
        if not sse:
            headers["Content-Disposition"] = content_disposition(stream.format.extension)
        return AudioStreamResponse(
            stream,
            headers=headers,
            on_first=metrics.first_audio_seconds.labels("/v1/audio/speech").observe,
            start=start,
            sse_characters=len(body.input) if sse else None,
        )
    result = await unless_disconnected(request, synthesis.synthesize(req))
    headers["Content-Disposition"] = content_disposition(result.format.extension)
    return Response(result.data, media_type=result.format.media_type, headers=headers)


def _styled(
    body: SpeechRequest, voice: str, settings: Settings, catalog: VoiceCatalog
) -> tuple[SynthesisParams, dict[str, str]]:
    """The request's controls with its ``instructions`` read on top, and the header that
    says what was read (``X-Instructions``); logged too (the cue words, not the text)."""
    params = body.params()
    if body.instructions is None:
        return params, {}
    reading = instructions.read(body.instructions)
    emotions = set(catalog.info(voice).emotions)
    if settings.allowed_emotions:
        emotions &= set(settings.allowed_emotions)
    keep = "emotion" in body.model_fields_set
    summary = reading.summary()
    if reading.emotion and keep:
        summary += " (the request's own emotion kept)"
    elif reading.emotion and reading.emotion not in emotions:
        summary += f" (voice {voice} has no {reading.emotion}: emotion unchanged)"
    styled = reading.apply(params, keep_emotion=keep, emotions=emotions)
    log.info(
        "instructions read",
        extra={"instructions": summary, "cues": list(reading.cues), "params": asdict(styled)},
    )
    return styled, {"X-Instructions": summary}


@router.get("/models", response_model=ModelList)
async def models() -> ModelList:
    """The model names ``/v1/audio/speech`` accepts."""
    return ModelList(data=[Model(id=m, created=CREATED, owned_by="hanvoice") for m in MODELS])
