"""Hot reload: the settings that may change while the service runs, and who applies them.

Dynamic keys (:data:`DYNAMIC`) come, highest precedence first, from etcd (under
``etcd_prefix``, when ``etcd_endpoints`` is set), from code/command-line overrides and the
environment, then from the YAML config file. Every change — a file rewritten on disk, a key
put or deleted in etcd — is validated by building a whole new :class:`Settings` the usual
way, so a bad value gets the same message as at start-up and is refused as a whole: the last
good config stays active, the refusal is logged and counted. A config must also be whole:
a file that no longer sets a key it set (an empty file, a half-written one) would silently
put that key back to its default (the filter emptied, limits off, every emotion allowed),
so it is refused; so is a word list that became empty, and an empty value in etcd (delete
the key to fall back to the file). Other keys in the file are read
at start-up only; a change to them is logged as needing a restart, never half-applied.

Subscribers (``subscribe(fn)``) are called with ``(old, new)`` after each accepted change and
apply it to the live parts: log level, worker pool, cache, rate limiter, content filter.
Request handlers read :attr:`ConfigManager.current` for everything else (emotion whitelist,
degrade switch), so a flip in etcd is in force for the next request on every instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from hanvoice.config import Settings, read_yaml
from hanvoice.errors import ConfigError, HanvoiceError
from hanvoice.service.configsource import EtcdSource, FileSource, parse_value
from hanvoice.text.filter import load_word_list

log = logging.getLogger(__name__)

DYNAMIC = (
    "log_level",
    "workers",
    "queue_size",
    "max_backlog",
    "cache_enabled",
    "cache_ttl",
    "allowed_emotions",
    "rate_limit",
    "auth_failure_limit",
    "filter_words",
    "filter_policy",
    "filter_sound",
    "degrade",
)
"""Settings applied without a restart."""

Subscriber = Callable[[Settings, Settings], None]


class ReloadObserver(Protocol):
    def reload(self, source: str, ok: bool) -> None: ...

    def source_health(self, source: str, up: bool) -> None: ...

    def version(self, version: str) -> None: ...


class NullReloadObserver:
    def reload(self, source: str, ok: bool) -> None:
        pass

    def source_health(self, source: str, up: bool) -> None:
        pass

    def version(self, version: str) -> None:
        pass


class ConfigManager:
    def __init__(
        self,
        settings: Settings,
        *,
        overrides: dict[str, Any] | None = None,
        observer: ReloadObserver | None = None,
        file_interval: float = 1.0,
    ) -> None:
        self.current = settings
        # Dynamic values given in code (tests, command-line flags) must survive reloads, and
        # static values given there must not look like file changes: compare with what the
        # file and environment alone say.
        try:
            baseline = Settings.load(settings.config_file)
        except HanvoiceError:
            baseline = settings
        self.overrides = {
            k: getattr(settings, k) for k in DYNAMIC if getattr(settings, k) != getattr(baseline, k)
        }
        self.overrides.update({k: v for k, v in (overrides or {}).items() if v is not None})
        self._static = {k: getattr(baseline, k) for k in type(settings).model_fields
                        if k not in DYNAMIC}  # fmt: skip
        self.observer = observer or NullReloadObserver()
        self.etcd_values: dict[str, Any] = {}
        self.etcd_revision = 0
        self.last_reload = time.time()
        self.last_error: str | None = None
        self._subscribers: list[Subscriber] = []
        self._lock = asyncio.Lock()
        files = [p for p in (settings.config_file, settings.filter_words_file) if p is not None]
        self.files = FileSource(files, self._file_changed, interval=file_interval)
        self.etcd: EtcdSource | None = None
        if settings.etcd_endpoints:
            self.etcd = EtcdSource(
                settings.etcd_endpoints,
                settings.etcd_prefix,
                self._etcd_changed,
                timeout=settings.etcd_timeout,
                poll_interval=settings.etcd_poll_interval,
                on_health=lambda up: self.observer.source_health("etcd", up),
            )
        self._tasks: list[asyncio.Task[None]] = []
        self._file_keys = self._keys_in_file()
        """Keys the config file set at its last good read: a reload must set them all."""
        self._had_words = self._words_in_file()
        self.observer.version(self.version)

    # --- public ---------------------------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> None:
        self._subscribers.append(fn)

    @property
    def version(self) -> str:
        """The active config version: the settings' own (or their hash), plus the etcd
        revision it includes when etcd contributed."""
        base = self.current.active_config_version
        return f"{base}+etcd.{self.etcd_revision}" if self.etcd_values else base

    def status(self) -> dict[str, Any]:
        """For ``/version``: which version is active and how each source is doing."""
        sources: dict[str, Any] = {}
        if self.files.paths:
            sources["file"] = {
                "paths": [str(p) for p in self.files.paths],
                "healthy": self.files.healthy,
                "error": self.files.error,
            }
        if self.etcd is not None:
            sources["etcd"] = {
                "endpoints": self.etcd.endpoints,
                "prefix": self.etcd.prefix,
                "healthy": self.etcd.healthy,
                "revision": self.etcd_revision,
                "error": self.etcd.error,
                "keys": sorted(self.etcd_values),
            }
        return {
            "version": self.version,
            "last_reload": self.last_reload,
            "last_error": self.last_error,
            "degrade": self.current.degrade,
            "sources": sources,
        }

    async def start(self) -> None:
        if self.files.paths:
            self.observer.source_health("file", True)
        if self.etcd is not None:
            await self.etcd.start()
        if self.files.paths:
            self._tasks.append(asyncio.create_task(self.files.run(), name="config-files"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self.etcd is not None:
            await self.etcd.stop()

    # --- changes --------------------------------------------------------------------------

    async def _file_changed(self, path: Path) -> None:
        log.info("config file %s changed; reloading", path)
        await self._reload("file")
        self.observer.source_health("file", self.files.healthy)

    async def _etcd_changed(self, raw: dict[str, str], revision: int) -> None:
        values: dict[str, Any] = {}
        for name, text in raw.items():
            if not text.strip():
                self.last_error = f"etcd: key {name} is empty"
                log.error("config from etcd refused, keeping version %s: key %s is empty "
                          "(delete it to fall back to the file)", self.version, name)  # fmt: skip
                self.observer.reload("etcd", False)
                return
            if name not in DYNAMIC:
                log.warning(
                    "ignoring etcd key %s: not a dynamic setting (dynamic: %s)",
                    name,
                    ", ".join(DYNAMIC),
                )
                continue
            values[name] = parse_value(text)
        async with self._lock:
            old_values, old_rev = self.etcd_values, self.etcd_revision
            self.etcd_values, self.etcd_revision = values, revision
        if not await self._reload("etcd"):
            async with self._lock:  # refused: the values in force stay those of before
                self.etcd_values, self.etcd_revision = old_values, old_rev

    async def _reload(self, source: str) -> bool:
        async with self._lock:
            try:
                candidate = await asyncio.to_thread(self._build)
            except (HanvoiceError, ValueError) as exc:
                message = exc.message if isinstance(exc, HanvoiceError) else str(exc)
                self.last_error = f"{source}: {message}"
                log.error("config from %s refused, keeping version %s: %s",
                          source, self.version, message)  # fmt: skip
                self.observer.reload(source, False)
                return False
            old = self.current
            self._warn_static(candidate)
            new = old.model_copy(update={k: getattr(candidate, k) for k in DYNAMIC})
            self.current = new
            self._file_keys = self._keys_in_file()
            self._had_words = self._words_in_file()
            self.last_reload = time.time()
            self.last_error = None
            self.observer.reload(source, True)
            self.observer.version(self.version)
            changed = [k for k in DYNAMIC if getattr(old, k) != getattr(new, k)]
            log.info("config version %s active (from %s; changed: %s)",
                     self.version, source, ", ".join(changed) or "nothing")  # fmt: skip
        for fn in self._subscribers:
            try:
                fn(old, new)
            except Exception:
                log.exception("applying config version %s failed in %s", self.version, fn)
        return True

    def _build(self) -> Settings:
        """The settings from the file, environment, overrides and etcd, validated, and whole:
        every key the file set before is still set, the word list is not emptied."""
        path = self.current.config_file
        if path is not None and not path.exists():
            raise ConfigError(f"config file {path} is gone")
        settings = Settings.load(path, **{**self.overrides, **self.etcd_values})
        if self._had_words and _blank(settings.filter_words_file):
            raise ConfigError(
                f"filter word list {settings.filter_words_file} is empty (a file being "
                "written?); to drop every word, write an empty mapping: {}"
            )
        missing = sorted(self._file_keys - self._keys_in_file())
        if missing:
            raise ConfigError(
                f"config file {path} no longer sets {', '.join(missing)}: a config must be "
                "whole (a key left out would fall back to its default); write each key"
            )
        return settings

    def _keys_in_file(self) -> set[str]:
        path = self.current.config_file
        return set(read_yaml(path)) if path is not None and path.exists() else set()

    def _words_in_file(self) -> bool:
        path = self.current.filter_words_file
        try:
            return path is not None and any(load_word_list(path).words.values())
        except HanvoiceError:
            return False

    def _warn_static(self, new: Settings) -> None:
        for name, value in self._static.items():
            if getattr(new, name) != value:
                log.warning("setting %s changed but is read at start-up only; restart to apply",
                            name)  # fmt: skip
                self._static[name] = getattr(new, name)  # say it once


def _blank(path: Path | None) -> bool:
    """A word list file with nothing in it: no words, not even an empty mapping (``{}``
    says "no words" on purpose; an empty file is a file being written, or lost)."""
    if path is None:
        return False
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False  # unreadable: the word list's own loading says why
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return not lines
