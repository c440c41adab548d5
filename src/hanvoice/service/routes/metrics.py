"""``GET /metrics``: Prometheus text for this app's registry."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hanvoice.service.deps import MetricsDep
from hanvoice.service.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["probes"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus exposition"}},
)
async def metrics(m: MetricsDep) -> Response:
    return Response(m.render(), media_type=CONTENT_TYPE_LATEST)
