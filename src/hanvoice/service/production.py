"""Wires the production parts into the app: config reload, cache, auth, rate limits,
content filter, JSON logs and their metrics.

``install(app, settings)`` is called by ``create_app``: it adds the two middlewares (the
access log outermost, so every answer is logged, 401/413/429 included; the guard innermost,
just before routing) and the admin routes, and returns the lifespan extension that builds
the parts once the core exists, wraps ``app.state.synthesis`` with the cache, and tears
everything down at shutdown. The parts live on ``app.state.production``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.middleware import Middleware

from hanvoice.cache import AudioCache, build_cache
from hanvoice.config import Settings
from hanvoice.errors import ConfigError, HanvoiceError
from hanvoice.service import logging as hvlog
from hanvoice.service.auth import ApiKeys, Authenticator, JwtVerifier
from hanvoice.service.cachedsynthesis import CachedSynthesis
from hanvoice.service.clientip import parse_networks
from hanvoice.service.configsource import read_file_state
from hanvoice.service.guard import GuardMiddleware
from hanvoice.service.prodmetrics import ProductionMetrics
from hanvoice.service.ratelimit import Limiter
from hanvoice.service.reload import ConfigManager
from hanvoice.text.filter import ContentFilter, WordList, load_word_list, merge_word_lists

log = logging.getLogger(__name__)


def build_authenticator(s: Settings) -> Authenticator:
    try:
        keys = ApiKeys.parse(
            s.api_keys.get_secret_value() if s.api_keys else None,
            s.api_keys_file,
            admin=s.admin_api_keys.get_secret_value() if s.admin_api_keys else None,
            admin_scopes=frozenset({s.scope_synthesize, s.scope_admin}),
        )
        verifier = JwtVerifier(
            secret=s.jwt_secret.get_secret_value() if s.jwt_secret else None,
            public_key=s.jwt_public_key,
            audience=s.jwt_audience,
            issuer=s.jwt_issuer,
            leeway=s.jwt_leeway,
        )
    except HanvoiceError as exc:
        raise ConfigError(exc.message) from None
    return Authenticator(
        keys,
        verifier,
        protect_metrics=s.metrics_auth,
        scope_synthesize=s.scope_synthesize,
        scope_admin=s.scope_admin,
    )


def build_filter(s: Settings) -> ContentFilter:
    words = WordList(dict(s.filter_words))
    if s.filter_words_file is not None:
        words = merge_word_lists(load_word_list(s.filter_words_file), words)
    sound = {c: s.filter_sound and words.sound.get(c, True) for c in words.words}
    return ContentFilter(words.words, s.filter_policy, sound=sound, allow=words.allow)


@dataclass
class Production:
    config: ConfigManager
    cache: AudioCache
    limiter: Limiter
    auth_limiter: Limiter
    """Failed credentials per client address."""
    auth: Authenticator
    filter: ContentFilter
    metrics: ProductionMetrics
    filter_digest: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.config.current


def _apply(app: FastAPI, prod: Production) -> Any:
    """The reload subscriber: push dynamic settings into the live parts."""

    def apply(old: Settings, new: Settings) -> None:
        if new.log_level != old.log_level:
            hvlog.set_level(new.log_level)
        prod.cache.configure(enabled=new.cache_enabled, ttl=float(new.cache_ttl))
        if new.rate_limit != old.rate_limit:
            prod.limiter.configure(new.rate_limit)
        if new.auth_failure_limit != old.auth_failure_limit:
            prod.auth_limiter.configure(new.auth_failure_limit)
        pool = getattr(app.state, "pool", None)
        sizing = ("workers", "queue_size", "max_backlog")
        if pool is not None and any(getattr(new, k) != getattr(old, k) for k in sizing):
            workers = new.worker_count
            pool.scheduler.resize(workers)
            pool.resize(workers + new.queue_size)
            pool.max_backlog = new.max_backlog
            app.state.metrics.workers.set(workers)
        if pool is not None:
            pool.max_memory = new.max_buffered_bytes
        digest = read_file_state(new.filter_words_file).digest if new.filter_words_file else ""
        if digest != prod.filter_digest or (
            new.filter_words,
            new.filter_policy,
            new.filter_sound,
        ) != (old.filter_words, old.filter_policy, old.filter_sound):
            prod.filter = build_filter(new)
            prod.filter_digest = digest
            log.info("content filter: %d words, policy %s", prod.filter.size, new.filter_policy)
        prod.metrics.degraded.set(1 if new.degrade else 0)
        if new.degrade != old.degrade:
            log.warning("degrade (read-only) mode %s", "ON" if new.degrade else "off")
        app.state.settings = new
        synthesis = getattr(app.state, "synthesis", None)
        inner = getattr(synthesis, "inner", None)
        if inner is not None:
            inner.settings = new
        # the word list is part of the answers: a changed list is a new version (ETags,
        # fleet drift) even when no setting changed
        filt = prod.filter.version
        app.state.config_version = prod.config.version + (f"+filter.{filt[-8:]}" if filt else "")

    return apply


def extension(app: FastAPI) -> Any:
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        settings: Settings = app.state.settings
        metrics = ProductionMetrics(app.state.metrics.registry)
        manager = ConfigManager(
            settings, observer=metrics, file_interval=settings.config_poll_interval
        )
        await manager.start()  # etcd values (if reachable) are in force before traffic
        s = manager.current
        cache = build_cache(
            memory_bytes=s.cache_memory_bytes,
            redis_url=s.redis_url,
            ttl=float(s.cache_ttl),
            enabled=s.cache_enabled,
            redis_timeout=s.redis_timeout,
            max_entry_bytes=s.cache_max_entry_bytes,
            observer=metrics,
        )
        limiter = Limiter(
            s.rate_limit,
            s.redis_url,
            strategy=s.rate_limit_strategy,
            timeout=s.redis_timeout,
            on_fallback=lambda down: metrics.backend_up.labels("ratelimit_redis").set(
                0 if down else 1
            ),
        )
        auth_limiter = Limiter(
            s.auth_failure_limit,
            s.redis_url,
            strategy="fixed-window",
            timeout=s.redis_timeout,
        )
        if s.redis_url:
            metrics.backend_up.labels("redis_cache").set(1)
            metrics.backend_up.labels("ratelimit_redis").set(1)
        if cache.memory is not None:
            mem = cache.memory
            metrics.cache_memory_bytes.set_function(lambda: mem.bytes_used)
            metrics.cache_memory_entries.set_function(lambda: len(mem))
        prod = Production(
            manager, cache, limiter, auth_limiter, build_authenticator(s), build_filter(s), metrics
        )
        if s.filter_words_file is not None:
            prod.filter_digest = read_file_state(s.filter_words_file).digest
        apply = _apply(app, prod)
        manager.subscribe(apply)
        inner = app.state.synthesis
        inner.content_filter = lambda: prod.filter  # what is spoken, on every route
        inner.on_filtered = metrics.count_filtered
        app.state.synthesis = CachedSynthesis(
            inner,
            cache,
            settings=lambda: manager.current,
            filter_version=lambda: prod.filter.version,
            metrics=metrics,
        )
        apply(settings, s)  # etcd may already have changed something at start
        app.state.production = prod
        log.info(
            "production parts: auth %s, rate limit %r, cache %s, filter %d words, "
            "etcd %s, config version %s",
            "on" if prod.auth.enabled else "off", s.rate_limit or "none",
            "on" if s.cache_enabled else "off", prod.filter.size,
            ",".join(s.etcd_endpoints) or "off", manager.version,
        )  # fmt: skip
        try:
            yield
        finally:
            app.state.production = None
            await manager.stop()
            await cache.close()
            await limiter.close()
            await auth_limiter.close()

    return run(app)


admin = APIRouter(prefix="/admin", tags=["admin"])


@admin.get("/config")
async def admin_config(request: Request) -> dict[str, Any]:
    """Active config version, its sources and their health, cache state (admin scope)."""
    prod: Production | None = getattr(request.app.state, "production", None)
    if prod is None:
        return {}
    return {
        **prod.config.status(),
        "settings": prod.settings.public(),
        "cache": prod.cache.status(),
        "rate_limit": {
            "spec": prod.limiter.spec,
            "shared_store_healthy": prod.limiter.shared_healthy,
        },
        "filter": {"words": prod.filter.size, "policy": prod.filter.policy},
        "auth": prod.auth.enabled,
    }


def install(app: FastAPI, settings: Settings) -> Any:
    """Add middleware and routes; return the lifespan extension (see module doc)."""
    trusted = parse_networks(settings.trusted_proxies)

    def log_text() -> bool:
        prod: Production | None = getattr(app.state, "production", None)
        return bool(prod and prod.settings.log_text)

    app.user_middleware.append(Middleware(GuardMiddleware))  # innermost
    app.add_middleware(
        hvlog.AccessLogMiddleware,
        region=settings.region,
        trusted_proxies=trusted,
        log_text=log_text,
    )  # outermost
    app.include_router(admin)
    return extension
