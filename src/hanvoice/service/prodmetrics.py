"""Prometheus series of the production parts, registered beside :mod:`.metrics`' own.

Cache hits and misses (by tier), Redis health, rate-limited and filtered requests, auth
refusals, config reloads and source health, the active config version and degrade mode.
The object doubles as the cache's and the reloader's observer, so neither imports
Prometheus.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ProductionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.cache_hits = Counter(
            "hanvoice_cache_hits", "Synthesis requests answered from the cache, by tier.",
            ["tier"], registry=r,
        )  # fmt: skip
        self.cache_misses = Counter(
            "hanvoice_cache_misses", "Synthesis requests the cache could not answer.", registry=r
        )
        self.cache_errors = Counter(
            "hanvoice_cache_errors", "Failed cache backend calls (timeouts, refused), by op.",
            ["tier", "op"], registry=r,
        )  # fmt: skip
        self.cache_bypassed = Counter(
            "hanvoice_cache_bypassed",
            "Cache backend calls skipped because the backend is down (circuit open).",
            ["tier", "op"], registry=r,
        )  # fmt: skip
        self.backend_up = Gauge(
            "hanvoice_backend_up", "1 when an optional backend answers (redis cache, "
            "rate-limit store).", ["backend"], registry=r,
        )  # fmt: skip
        self.cache_memory_bytes = Gauge(
            "hanvoice_cache_memory_bytes", "Bytes held by the in-process cache tier.", registry=r
        )
        self.cache_memory_entries = Gauge(
            "hanvoice_cache_memory_entries", "Entries in the in-process cache tier.", registry=r
        )
        self.rate_limited = Counter(
            "hanvoice_rate_limited", "Requests refused with 429, by route.", ["route"], registry=r
        )
        self.filtered = Counter(
            "hanvoice_filtered", "Requests that matched the content filter, by category and "
            "action (reject or mask).", ["category", "action"], registry=r,
        )  # fmt: skip
        self.auth_failures = Counter(
            "hanvoice_auth_failures", "Requests refused by authentication (401) or scope (403).",
            ["code"], registry=r,
        )  # fmt: skip
        self.degraded_refusals = Counter(
            "hanvoice_degraded_refusals", "Cache misses refused with 503 in degrade mode.",
            registry=r,
        )  # fmt: skip
        self.config_reloads = Counter(
            "hanvoice_config_reloads", "Configuration changes seen, by source and result "
            "(applied or refused).", ["source", "result"], registry=r,
        )  # fmt: skip
        self.config_source_up = Gauge(
            "hanvoice_config_source_up", "1 when a config source (file, etcd) can be read; 0 "
            "means the last good config is in use.", ["source"], registry=r,
        )  # fmt: skip
        self.config_info = Gauge(
            "hanvoice_config_info", "The active config version (value is always 1).",
            ["version"], registry=r,
        )  # fmt: skip
        self.config_last_reload = Gauge(
            "hanvoice_config_last_reload_timestamp_seconds",
            "Unix time the active config was applied.", registry=r,
        )  # fmt: skip
        self.degraded = Gauge(
            "hanvoice_degraded", "1 while degrade (read-only) mode is on.", registry=r
        )
        self._version: str | None = None

    # --- cache observer --------------------------------------------------------------------
    def count_filtered(self, categories: tuple[str, ...], action: str) -> None:
        for category in categories:
            self.filtered.labels(category, action).inc()

    def hit(self, tier: str) -> None:
        self.cache_hits.labels(tier).inc()

    def miss(self) -> None:
        self.cache_misses.inc()

    def error(self, tier: str, op: str) -> None:
        self.cache_errors.labels(tier, op).inc()

    def bypass(self, tier: str, op: str) -> None:
        self.cache_bypassed.labels(tier, op).inc()

    def health(self, tier: str, up: bool) -> None:
        self.backend_up.labels(f"{tier}_cache").set(1 if up else 0)

    # --- reload observer -------------------------------------------------------------------
    def reload(self, source: str, ok: bool) -> None:
        self.config_reloads.labels(source, "applied" if ok else "refused").inc()
        if ok:
            self.config_last_reload.set_to_current_time()

    def source_health(self, source: str, up: bool) -> None:
        self.config_source_up.labels(source).set(1 if up else 0)

    def version(self, version: str) -> None:
        if version == self._version:
            return
        if self._version is not None:
            self.config_info.remove(self._version)
        self.config_info.labels(version).set(1)
        self._version = version
