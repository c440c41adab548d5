"""``hanvoice cache warm FILE``: pre-synthesize frequent phrases so their first caller gets a hit.

It lives with the service, not with the cache tiers: warming here builds the service's own
synthesis stack (filter, cache key, encoders), and :mod:`hanvoice.cache` stays a library
of tiers that knows nothing of the layers above it.

FILE has one phrase per line (``#`` starts a comment). Each phrase is synthesized for every
``--emotion`` and ``--format`` given, either

- through a running service (``--url http://host:5000``): the requests go to ``POST /tts``
  and the service stores the answers in its own tiers (memory and the region's Redis), or
- here, into the region's Redis (``--redis-url`` or ``HANVOICE_REDIS_URL``), with the same
  code, settings and cache key the service uses, so every replica then answers from Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from hanvoice.errors import InvalidParameter


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("cache", help="audio cache tools")
    cmds = p.add_subparsers(dest="cache_command", required=True, parser_class=type(p))
    w = cmds.add_parser("warm", help="pre-synthesize phrases (one per line) into the cache")
    w.add_argument("file", help="text file, one phrase per line ('-' for stdin)")
    w.add_argument(
        "--emotion", action="append", default=None, help="emotion (repeatable; default neutral)"
    )
    w.add_argument(
        "--format", action="append", default=None, help="format (repeatable; default wav)"
    )
    w.add_argument("--voice", default=None, help="voice id (default: the configured default)")
    w.add_argument("--sample-rate", type=int, default=None, help="output sample rate")
    w.add_argument("--url", default=None, help="warm through this running service instead")
    w.add_argument("--api-key", default=None, help="credential for --url (or HANVOICE_API_KEY)")
    w.add_argument("--redis-url", default=None, help="Redis to fill (or HANVOICE_REDIS_URL)")
    w.add_argument("--config", default=None, help="YAML settings file (or HANVOICE_CONFIG)")
    w.set_defaults(func=cmd_warm)


def read_phrases(name: str) -> list[str]:
    try:
        raw = sys.stdin.read() if name == "-" else Path(name).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"cannot read {name}: {exc}") from exc
    phrases = [line.split("#", 1)[0].strip() for line in raw.splitlines()]
    phrases = [p for p in phrases if p]
    if not phrases:
        raise InvalidParameter(f"{name} has no phrases (one per line; '#' starts a comment)")
    return phrases


def cmd_warm(args: argparse.Namespace) -> int:
    phrases = read_phrases(args.file)
    emotions = args.emotion or ["neutral"]
    formats = args.format or ["wav"]
    jobs = [(p, e, f) for p in phrases for e in emotions for f in formats]
    start = time.perf_counter()
    cached = _warm_via_service(args, jobs) if args.url else asyncio.run(_warm_here(args, jobs))
    print(
        f"warmed {len(jobs)} entries ({cached} were already cached) "
        f"in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    return 0


def _warm_via_service(args: argparse.Namespace, jobs: list[tuple[str, str, str]]) -> int:
    import httpx

    key = args.api_key or os.environ.get("HANVOICE_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    cached = 0
    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=300) as client:
        for text, emotion, fmt in jobs:
            body: dict[str, Any] = {"text": text, "emotion": emotion, "format": fmt}
            if args.voice:
                body["voice"] = args.voice
            if args.sample_rate:
                body["sample_rate"] = args.sample_rate
            try:
                r = client.post("/tts", json=body)
            except httpx.HTTPError as exc:
                raise InvalidParameter(f"cannot reach {args.url}: {exc}") from None
            if r.status_code != 200:
                try:
                    message = r.json()["error"]["message"]
                except (ValueError, KeyError, TypeError):
                    message = r.text[:200]
                raise InvalidParameter(
                    f"{text[:20]!r} ({emotion}, {fmt}): {r.status_code} {message}"
                )
            cached += r.headers.get("x-cache") == "hit"
    return cached


async def _warm_here(args: argparse.Namespace, jobs: list[tuple[str, str, str]]) -> int:
    from prometheus_client import CollectorRegistry

    from hanvoice.cache.tiered import build_cache
    from hanvoice.config import Settings
    from hanvoice.scheduler import Scheduler
    from hanvoice.service.app import load_catalog
    from hanvoice.service.cachedsynthesis import CachedSynthesis
    from hanvoice.service.metrics import Metrics
    from hanvoice.service.prodmetrics import ProductionMetrics
    from hanvoice.service.production import build_filter
    from hanvoice.service.synthesis import SynthesisRequest, SynthesisService
    from hanvoice.service.workers import WorkerPool
    from hanvoice.synth import SynthesisParams

    settings = Settings.load(args.config, redis_url=args.redis_url)
    if not settings.redis_url:
        raise InvalidParameter(
            "nothing to warm into: give --url of a running service, or a Redis with "
            "--redis-url / HANVOICE_REDIS_URL"
        )
    cache = build_cache(
        memory_bytes=0,
        redis_url=settings.redis_url,
        ttl=float(settings.cache_ttl),
        redis_timeout=max(settings.redis_timeout, 2.0),
        max_entry_bytes=settings.cache_max_entry_bytes,
    )
    if cache.redis is None or not await cache.redis.ping():
        raise InvalidParameter(f"Redis at {settings.redis_url} does not answer")
    scheduler = Scheduler(settings.worker_count)
    catalog = load_catalog(settings, scheduler)
    pool = WorkerPool(scheduler, max_backlog=float("inf"), max_requests=len(jobs) or 1)
    service = SynthesisService(catalog, pool, settings, Metrics())
    content_filter = build_filter(settings)
    service.content_filter = lambda: content_filter
    synth = CachedSynthesis(
        service,
        cache,
        settings=lambda: settings,
        filter_version=lambda: content_filter.version,
        metrics=ProductionMetrics(CollectorRegistry()),
    )
    cached = 0
    try:
        for text, emotion, fmt in jobs:
            req = SynthesisRequest(
                text, SynthesisParams(emotion=emotion), args.voice, fmt, args.sample_rate
            )
            cached += await synth.fill(req)
    finally:
        await cache.close()
        pool.shutdown()
        catalog.close()
        scheduler.close()
    return cached
