"""The app factory: ``create_app(settings)`` builds a FastAPI app; nothing happens at import.

Components (voice catalogue, worker pool, synthesis service, audio store) are made in the
lifespan and live on ``app.state``; routes reach them through :mod:`hanvoice.service.deps`.
Features plug in without editing the routes:

- wrap or replace ``app.state.synthesis`` (a cache) in their own lifespan step, passed as
  ``create_app(settings, extensions=[...])``; each extension is an async context manager
  factory ``ext(app)`` entered after the core components exist and exited before them;
- add middleware with ``app.add_middleware`` (pure ASGI, so streams stay streams);
- add error codes to :data:`hanvoice.service.errors.STATUS`.

Run it with ``hanvoice serve`` (graceful drain on SIGTERM) or
``uvicorn --factory hanvoice.service.app:create_app``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware

from hanvoice import __version__
from hanvoice.config import Settings
from hanvoice.errors import ConfigError
from hanvoice.scheduler import Scheduler
from hanvoice.service import errors, memory, production, transcription
from hanvoice.service.audio_store import AudioStore
from hanvoice.service.lifecycle import Lifecycle, Phase
from hanvoice.service.metrics import Metrics
from hanvoice.service.middleware import Bounds, RequestMetrics
from hanvoice.service.routes import api_router
from hanvoice.service.routes.web import web_dir
from hanvoice.service.synthesis import SynthesisRequest, SynthesisService
from hanvoice.service.workers import WorkerPool
from hanvoice.synth import SynthesisParams
from hanvoice.voices import VoiceCatalog, builtin_voices, voices_from_file

log = logging.getLogger(__name__)

Extension = Callable[[FastAPI], AbstractAsyncContextManager[Any]]

DESCRIPTION = """\
Mandarin Chinese text-to-speech with emotions.

* `POST /tts` — the original JSON API (base64 audio or a download URL; `stream` for chunks)
* `GET /tts` — the audio itself, cacheable at the edge (`ETag`, `Cache-Control`)
* `POST /v1/audio/speech` — OpenAI-compatible
* `/ws/tts` — WebSocket: JSON in, audio frames out, then timestamps
* `POST /v1/audio/transcriptions` — OpenAI-compatible speech to text (with the `asr` extra)

Errors are `{"error": {"code", "message"}}` with a 4xx status for the caller's mistakes.
"""


def load_catalog(settings: Settings, scheduler: Scheduler | None = None) -> VoiceCatalog:
    """The voice catalogue the settings describe (not loaded yet); ConfigError when the
    voices file or a voice named in the settings is wrong."""
    configs = builtin_voices()
    if settings.voices_file:
        try:
            configs += voices_from_file(settings.voices_file)
        except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
            raise ConfigError(f"voices_file {settings.voices_file}: cannot use it ({exc})") from exc
    catalog = VoiceCatalog(configs, scheduler=scheduler)
    named = {"default_voice": settings.default_voice}
    named.update({f"openai_voices.{k}": v for k, v in settings.openai_voices.items()})
    for key, vid in named.items():
        if vid not in catalog.configs:
            raise ConfigError(
                f"invalid setting {key}: no voice {vid!r} (voices: {', '.join(catalog.ids)})"
            )
    return catalog


def create_app(settings: Settings | None = None, extensions: Sequence[Extension] = ()) -> FastAPI:
    settings = settings or Settings.load()
    metrics = Metrics()
    exts = list(extensions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await _start(app, settings, metrics, stack)
            for ext in exts:
                await stack.enter_async_context(ext(app))
            warm = asyncio.create_task(_warm_up(app))
            trim = asyncio.create_task(memory.trim_periodically())
            try:
                yield
            finally:
                app.state.lifecycle.drain()
                warm.cancel()
                trim.cancel()

    app = FastAPI(
        title="hanvoice",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.lifecycle = Lifecycle()
    errors.install(app)
    _accurate_openapi(app)
    app.include_router(api_router(web_page=settings.web_page))
    if settings.web_page:
        app.mount("/static", StaticFiles(directory=web_dir()), name="static")
    app.add_middleware(RequestMetrics, metrics=metrics)
    # cache, auth, rate limits, filter, JSON access log, hot reload (issue 5)
    exts.append(production.install(app, settings))
    exts.append(transcription.extension)  # speech to text, when the asr extra is installed
    # innermost, after the guard: a refused credential or rate limit costs no body read
    app.user_middleware.append(Middleware(Bounds))
    return app


def _accurate_openapi(app: FastAPI) -> None:
    """Drop FastAPI's automatic 422 responses: validation errors are answered with 400 and
    the ErrorBody shape (see ``service.errors``), and the document should say so."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = default()
        for item in doc.get("paths", {}).values():
            for op in item.values():
                resp = op.get("responses", {}) if isinstance(op, dict) else {}
                ref = str(resp.get("422", {}).get("content", {}).get("application/json", {}))
                if "HTTPValidationError" in ref:
                    del resp["422"]
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


async def _start(app: FastAPI, settings: Settings, metrics: Metrics, stack: AsyncExitStack) -> None:
    """Load the voices (off the loop), make the pool and the services."""
    logging.getLogger("hanvoice").setLevel(settings.log_level.upper())
    # the node's one scheduler: every core, below the event loop's priority
    scheduler = Scheduler(
        settings.worker_count, nice=WORKER_NICE, express=EXPRESS_LANE, express_nice=EXPRESS_NICE
    )
    stack.callback(scheduler.close)
    scheduler.on_first_start = lambda f: metrics.queue_wait.observe(f.queue_wait or 0.0)
    catalog = load_catalog(settings, scheduler)
    stack.callback(catalog.close)
    # Load every voice now: fail at start-up, not on a user's request.
    await asyncio.to_thread(lambda: [catalog.get(v) for v in catalog.ids])
    pool = WorkerPool(
        scheduler,
        max_backlog=settings.max_backlog,
        max_requests=settings.worker_count + settings.queue_size,
        max_memory=settings.max_buffered_bytes,
    )
    stack.callback(pool.shutdown)
    state = app.state
    state.catalog = catalog
    state.pool = pool
    state.audio_store = AudioStore(settings.audio_store_bytes, settings.audio_url_ttl)
    state.synthesis = SynthesisService(catalog, pool, settings, metrics)
    lifecycle: Lifecycle = state.lifecycle
    lifecycle.loaded()
    pool.probe_cost = catalog.get(settings.default_voice).cost(READY_PROBE_CHARS)
    info = catalog.get(settings.default_voice).info
    metrics.workers.set(pool.workers)
    metrics.build_info.labels(
        __version__,
        settings.build,
        settings.commit,
        settings.region,
        info.engine,
        info.model_id,
        info.model_sha256,
    ).set(1)
    metrics.bind(
        inflight=lambda: pool.admitted,
        queued=lambda: pool.queued,
        running=lambda: pool.running,
        backlog=pool.backlog,
        ready=lambda: float(lifecycle.phase is Phase.READY and not pool.full),
    )
    log.info(
        "hanvoice %s: voices %s, %d cores, backlog limit %g s, %d requests at most",
        __version__,
        ", ".join(catalog.ids),
        pool.workers,
        pool.max_backlog,
        pool.max_requests,
    )


WORKER_NICE = 5
"""Inference threads run 5 nice levels below the event loop: about 3:1 for the loop when
both want a core, so admission, 503s, cache hits and probes stay fast under full load."""
EXPRESS_LANE = 1
"""Threads that run short requests' pieces beside long ones' (``Scheduler``'s policy 4): a
prompt sent while audiobook chapters hold every core does not wait for their pieces."""
EXPRESS_NICE = 1
"""The express thread's nice levels below the event loop: above the workers (about 2.4:1
when it shares a core with one), just below the loop."""
READY_PROBE_CHARS = 50
"""``/ready`` is 503 while a request this long would be refused (a typical prompt)."""

WARM_UP_TEXT = (
    "欢迎使用多地域语音合成服务，今天是2026年1月1日，我们为您准备了丰富多彩的节目内容和"
    "贴心周到的服务，祝您生活愉快、工作顺利。"
)
"""A segment near the longest the front end makes: the interpreters size their buffers on
the first run of a shape, so without this the first real request pays ~80 ms extra."""


async def _warm_up(app: FastAPI) -> None:
    """Synthesize through the real path (long text, each encoder), then report ready."""
    service: SynthesisService = app.state.synthesis
    try:
        await service.synthesize(SynthesisRequest(WARM_UP_TEXT, SynthesisParams()))
        for fmt in ("mp3", "ogg", "flac", "aac"):
            await service.synthesize(SynthesisRequest("你好。", SynthesisParams(), format=fmt))
    except Exception:  # warm-up is an optimisation; a failure shows in the logs
        log.exception("warm-up failed")
    _freeze_heap()
    app.state.lifecycle.ready()


def _freeze_heap() -> None:
    """Move every object alive after start-up (voices, lexicons, the app) out of the
    garbage collector's sight.

    A full collection walks every tracked object with the GIL held. Under a storm of
    requests (each allocates a little) one ran every few seconds and stopped the event loop
    and the cores' pieces for tens of milliseconds each time: that was the tail of a 503's
    latency. What start-up made lives as long as the process; scanning it never frees
    anything.
    """
    gc.collect()
    gc.freeze()
