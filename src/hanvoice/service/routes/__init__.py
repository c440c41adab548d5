"""One router per resource, collected here. Features attach dependencies (auth, rate limits)
with :func:`api_router`'s ``synthesis_dependencies`` or by including their own routers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from hanvoice.service.routes import (
    audio,
    health,
    metrics,
    openai,
    transcriptions,
    tts,
    voices,
    web,
    ws,
)


def api_router(*, synthesis_dependencies: Sequence[Any] = (), web_page: bool = True) -> APIRouter:
    """All routes; ``synthesis_dependencies`` run before every synthesis route."""
    root = APIRouter()
    for r in (health.router, metrics.router):
        root.include_router(r)
    deps = list(synthesis_dependencies)
    for r in (tts.router, openai.router, ws.router, transcriptions.router):
        root.include_router(r, dependencies=deps)
    root.include_router(audio.router)
    root.include_router(voices.router)
    if web_page:
        root.include_router(web.router)
    return root
