"""OpenAI-compatible speech: ``POST /v1/audio/speech`` and ``GET /v1/models``.

Point an OpenAI client library at ``http://host:5000/v1`` (``base_url``) and any API key.
OpenAI's voice names map to our voices (``Settings.openai_voices``, else the default voice);
our own voice ids work too; any other name is a 404, never a silent fallback.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response

from hanvoice.config import OPENAI_VOICES, Settings
from hanvoice.errors import VoiceNotFound
from hanvoice.service.deps import CatalogDep, JsonBody, MetricsDep, SettingsDep, SynthesisDep
from hanvoice.service.errors import ModelNotFound
from hanvoice.service.routes._common import content_disposition, unless_disconnected
from hanvoice.service.schemas import SYNTH_ERRORS, Model, ModelList, SpeechRequest, _errors
from hanvoice.service.streaming import AudioStreamResponse
from hanvoice.service.synthesis import SynthesisRequest
from hanvoice.voices import VoiceCatalog

router = APIRouter(prefix="/v1", tags=["openai"])

MODELS = ("hanvoice", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")
"""Model names accepted; they all mean "the voice named in the request"."""
CREATED = 1767225600  # 2026-01-01, a fixed "created" stamp for /v1/models

SPEECH_TYPES: dict[str, Any] = {
    t: {} for t in ("audio/mpeg", "audio/ogg", "audio/aac", "audio/flac", "audio/wav", "audio/L16")
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
    """OpenAI's ``audio.speech.create``; ``opus`` is Opus in Ogg, ``pcm`` raw 16-bit LE."""
    if body.model not in MODELS:
        raise ModelNotFound(f"unknown model {body.model!r}; use one of {', '.join(MODELS)}")
    voice = resolve_voice(body.voice, settings, catalog)
    req = SynthesisRequest(body.input, body.params(), voice, body.response_format, body.sample_rate)
    if body.stream:
        start = time.perf_counter()
        stream = await synthesis.stream(req)
        return AudioStreamResponse(
            stream,
            on_first=metrics.first_audio_seconds.labels("/v1/audio/speech").observe,
            start=start,
        )
    result = await unless_disconnected(request, synthesis.synthesize(req))
    return Response(
        result.data,
        media_type=result.format.media_type,
        headers={"Content-Disposition": content_disposition(result.format.extension)},
    )


@router.get("/models", response_model=ModelList)
async def models() -> ModelList:
    """The model names ``/v1/audio/speech`` accepts."""
    return ModelList(data=[Model(id=m, created=CREATED, owned_by="hanvoice") for m in MODELS])
