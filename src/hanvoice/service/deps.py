"""Typed dependencies: routes ask for components by type; they live on ``app.state``.

Features add their own (an auth dependency, a rate limiter) beside these and attach them to
routers with ``dependencies=[...]`` in :mod:`hanvoice.service.routes`.

Every dependency is ``async def`` although none awaits: FastAPI runs a plain ``def``
dependency on a thread-pool thread, one hop (a queue, a wake-up, two GIL hand-overs) per
dependency per request. Under a flood of requests that are refused at once that was most of a
503's cost and it took the GIL from the cores' pieces.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from hanvoice.config import Settings
from hanvoice.service.audio_store import AudioStore
from hanvoice.service.errors import NotReady, UnsupportedMediaType
from hanvoice.service.lifecycle import Lifecycle
from hanvoice.service.metrics import Metrics
from hanvoice.service.synthesis import Synthesis
from hanvoice.service.workers import WorkerPool
from hanvoice.voices import VoiceCatalog


def _state(conn: HTTPConnection, name: str) -> object:
    value = getattr(conn.app.state, name, None)
    if value is None:
        raise NotReady("the service is still starting")
    return value


async def get_settings(conn: HTTPConnection) -> Settings:
    s = _state(conn, "settings")
    assert isinstance(s, Settings)
    return s


async def get_synthesis(conn: HTTPConnection) -> Synthesis:
    s = _state(conn, "synthesis")
    return s  # type: ignore[return-value]  # any object with the Synthesis methods


async def get_catalog(conn: HTTPConnection) -> VoiceCatalog:
    c = _state(conn, "catalog")
    assert isinstance(c, VoiceCatalog)
    return c


async def get_pool(conn: HTTPConnection) -> WorkerPool:
    p = _state(conn, "pool")
    assert isinstance(p, WorkerPool)
    return p


async def get_store(conn: HTTPConnection) -> AudioStore:
    s = _state(conn, "audio_store")
    assert isinstance(s, AudioStore)
    return s


async def get_metrics(conn: HTTPConnection) -> Metrics:
    m = _state(conn, "metrics")
    assert isinstance(m, Metrics)
    return m


async def get_lifecycle(conn: HTTPConnection) -> Lifecycle:
    lc = _state(conn, "lifecycle")
    assert isinstance(lc, Lifecycle)
    return lc


async def require_json(conn: HTTPConnection) -> None:
    """415 unless the body is declared JSON (before FastAPI tries to parse it)."""
    ctype = conn.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise UnsupportedMediaType(
            "send the request as JSON with Content-Type: application/json "
            f"(got {ctype or 'none'!r})"
        )


SettingsDep = Annotated[Settings, Depends(get_settings)]
SynthesisDep = Annotated[Synthesis, Depends(get_synthesis)]
CatalogDep = Annotated[VoiceCatalog, Depends(get_catalog)]
PoolDep = Annotated[WorkerPool, Depends(get_pool)]
StoreDep = Annotated[AudioStore, Depends(get_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
LifecycleDep = Annotated[Lifecycle, Depends(get_lifecycle)]
JsonBody = Depends(require_json)
