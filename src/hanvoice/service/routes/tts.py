"""The original design's API: ``POST /tts`` (JSON) and ``GET /tts`` (audio, cacheable)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hanvoice.service.deps import (
    CatalogDep,
    JsonBody,
    MetricsDep,
    SettingsDep,
    StoreDep,
    SynthesisDep,
)
from hanvoice.service.routes._common import (
    content_disposition,
    json_with_audio,
    link_owner,
    unless_disconnected,
)
from hanvoice.service.schemas import (
    SYNTH_ERRORS,
    CharTimeModel,
    TtsQuery,
    TtsRequest,
    TtsResponse,
)
from hanvoice.service.streaming import AudioStreamResponse
from hanvoice.service.synthesis import SynthesisRequest

router = APIRouter(tags=["tts"])

AUDIO_TYPES: dict[str, Any] = {
    t: {} for t in ("audio/wav", "audio/mpeg", "audio/ogg", "audio/flac", "audio/L16", "audio/aac")
}


@router.post(
    "/tts",
    response_model=TtsResponse,
    response_model_exclude_none=True,
    dependencies=[JsonBody],
    responses={
        200: {
            "description": "JSON, or the audio itself when `stream` is true",
            "content": {"application/json": {}, **AUDIO_TYPES},
        },
        **SYNTH_ERRORS,
    },
)
async def post_tts(
    body: TtsRequest,
    request: Request,
    synthesis: SynthesisDep,
    store: StoreDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Any:
    """Synthesize ``text``; answer base64 audio, a download URL, or (``stream``) the audio.

    ``curl -X POST localhost:5000/tts -H "Content-Type: application/json"
    -d '{"text": "欢迎使用多地域语音合成服务", "emotion": "happy"}'``
    """
    req = SynthesisRequest(
        body.text, body.params(), body.voice, body.format, body.sample_rate, body.ssml
    )
    if body.stream:
        start = time.perf_counter()
        stream = await synthesis.stream(req)
        return AudioStreamResponse(
            stream,
            headers={"Content-Disposition": content_disposition(stream.format.extension)},
            on_first=metrics.first_audio_seconds.labels("/tts").observe,
            start=start,
        )
    result = await unless_disconnected(request, synthesis.synthesize(req))
    out = TtsResponse(
        audio=None,
        url=None,
        expires_in=None,
        format=result.format.name,
        sample_rate=result.sample_rate,
        duration=round(result.duration, 3),
        emotion=result.emotion,
        voice=result.voice,
    )
    if body.timestamps:
        out.timestamps = [CharTimeModel(**t.as_dict()) for t in result.timestamps]
    if body.return_ == "url":
        owner = link_owner(request, settings)
        name = store.put(result.data, result.format.extension, result.format.media_type, owner)
        out.url = f"/audio/{name}"
        out.expires_in = settings.audio_url_ttl
        return Response(out.model_dump_json(exclude_none=True), media_type="application/json")
    return json_with_audio(out, result.data)


@router.get(
    "/tts",
    response_class=Response,
    responses={
        200: {
            "description": "The audio, with ETag and Cache-Control for edge caches",
            "content": AUDIO_TYPES,
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **SYNTH_ERRORS,
    },
)
async def get_tts(
    query: Annotated[TtsQuery, Query()],
    request: Request,
    synthesis: SynthesisDep,
    catalog: CatalogDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Response:
    """The audio itself, for ``<audio src>``, links, and CDNs that cache frequent phrases.

    The same request always gives the same bytes (the model is deterministic), so the
    ``ETag`` is a hash of the request, the model and the config version (a changed word
    filter or emotion list changes it), and ``If-None-Match`` is answered with 304 without
    synthesizing.
    """
    req = SynthesisRequest(
        query.text, query.params(), query.voice, query.format, query.sample_rate, query.ssml
    )
    vid = query.voice or settings.default_voice
    etag = None
    if vid in catalog.configs:
        config = getattr(request.app.state, "config_version", None)
        version = f"{catalog.get(vid).info.model_sha256}/{config or settings.active_config_version}"
        etag = f'"{req.key(version)[:32]}"'
    shared = settings.edge_keys_on_credential or not _authenticated(request)
    scope = "public" if shared else "private"  # an edge must not give it to everyone
    headers = {"Cache-Control": f"{scope}, max-age={settings.http_max_age}"}
    if etag:
        headers["ETag"] = etag
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
    if query.stream:
        start = time.perf_counter()
        stream = await synthesis.stream(req)
        headers["Content-Disposition"] = content_disposition(stream.format.extension)
        return AudioStreamResponse(
            stream,
            headers=headers,
            on_first=metrics.first_audio_seconds.labels("/tts").observe,
            start=start,
        )
    result = await unless_disconnected(request, synthesis.synthesize(req))
    headers["Content-Disposition"] = content_disposition(result.format.extension)
    headers["X-Audio-Duration"] = f"{result.duration:.3f}"
    return Response(result.data, media_type=result.format.media_type, headers=headers)


def _authenticated(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    return getattr(principal, "kind", "anonymous") != "anonymous"


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
