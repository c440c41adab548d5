"""``GET /audio/<id>.<ext>``: results of ``"return": "url"``, for a limited time."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response

from hanvoice.service.deps import SettingsDep, StoreDep
from hanvoice.service.errors import NotFound
from hanvoice.service.routes._common import content_disposition, link_owner
from hanvoice.service.schemas import _errors

router = APIRouter(tags=["tts"])


@router.get(
    "/audio/{name}",
    response_class=Response,
    responses={200: {"description": "The audio", "content": {"audio/*": {}}}, **_errors(404)},
)
async def get_audio(
    name: str, request: Request, store: StoreDep, settings: SettingsDep
) -> Response:
    """Audio made by ``POST /tts`` with ``"return": "url"``; 404 once expired or unknown, or
    when it belongs to another identity."""
    item = store.get(name, link_owner(request, settings))
    if item is None:
        raise NotFound("no such audio (unknown id, or expired)")
    left = max(0, int(item.expires - time.time()))
    return Response(
        item.data,
        media_type=item.media_type,
        headers={
            "Cache-Control": f"private, max-age={left}",
            "Content-Disposition": content_disposition(name.rsplit(".", 1)[1], inline=False),
        },
    )
