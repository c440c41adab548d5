"""Probes and identity: /health (model loaded), /ready (accepting work), /version."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hanvoice import __version__
from hanvoice.service.deps import CatalogDep, LifecycleDep, PoolDep, SettingsDep
from hanvoice.service.lifecycle import Phase
from hanvoice.service.schemas import Health, Ready, Version

router = APIRouter(tags=["probes"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(lifecycle: LifecycleDep, catalog: CatalogDep) -> JSONResponse:
    """Liveness: 200 once the model is loaded."""
    ok = lifecycle.model_loaded
    body = Health(status="ok" if ok else "starting", model_loaded=ok, voices=catalog.ids)
    return JSONResponse(body.model_dump(), 200 if ok else 503)


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(lifecycle: LifecycleDep, pool: PoolDep) -> JSONResponse:
    """Readiness: 200 when warm and accepting work; 503 while starting, draining or full."""
    status = lifecycle.phase.value
    if lifecycle.phase is Phase.READY and pool.full:
        status = "overloaded"
    body = Ready(
        ready=status == "ready",
        status=status,  # type: ignore[arg-type]
        inflight=pool.admitted,
        running=pool.running,
        capacity=pool.max_requests,
        backlog_seconds=round(pool.backlog(), 3),
        max_backlog=pool.max_backlog,
    )
    return JSONResponse(body.model_dump(), 200 if body.ready else 503)


@router.get("/version", response_model=Version)
async def version(request: Request, settings: SettingsDep, catalog: CatalogDep) -> Version:
    """What this node runs: compared across regions by ``hanvoice fleet status``.

    ``config_version`` is ``app.state.config_version`` when a config source sets it, else
    ``HANVOICE_CONFIG_VERSION``, else a hash of the settings."""
    info = catalog.get(settings.default_voice).info
    voices = {vid: catalog.get(vid).info.model_sha256 for vid in catalog.ids}
    return Version(
        version=__version__,
        build=settings.build,
        commit=settings.commit,
        image=settings.image,
        image_digest=settings.image.rpartition("@")[2],
        engine=info.engine,
        model_id=info.model_id,
        model_sha256=info.model_sha256,
        region=settings.region,
        config_version=str(
            getattr(request.app.state, "config_version", None) or settings.active_config_version
        ),
        voices=voices,
    )
