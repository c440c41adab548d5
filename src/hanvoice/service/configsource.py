"""Where dynamic settings come from while the service runs: a YAML file and etcd v3.

:class:`FileSource` re-reads files (the config file, the filter word list) when their content
changes. It compares content hashes on a short poll instead of relying on inotify, because a
Kubernetes ConfigMap update is an atomic swap of a ``..data`` symlink that inotify watches on
the file itself never see.

:class:`EtcdSource` reads every key under a prefix and then watches it, through etcd's v3
JSON gateway over plain HTTP (``/v3/kv/range``, ``/v3/watch``; keys base64-encoded). That
needs nothing but httpx; the Python gRPC clients for etcd v3 are unmaintained and pin old
protobuf. A watch delivers a change within milliseconds; a light poll of the same range every
``poll_interval`` seconds doubles as a heartbeat (a silent network partition never ends a
watch) and as a safety net. Each key is one setting, named after the :class:`Settings` field,
its value YAML: ``etcdctl put /hanvoice/config/degrade true``.

Both report ``healthy`` and keep their last good values when they cannot read; what to do
with values is the reloader's business (:mod:`hanvoice.service.reload`). etcd is declared
down only after :data:`FAILURES_TO_DOWN` failed reads in a row (:class:`Outage`): one slow
answer from an etcd that has just restarted on a busy node is not an outage, and an alert on
``hanvoice_config_source_up`` should not flap with it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

log = logging.getLogger(__name__)

FAILURES_TO_DOWN = 2
"""Failed reads in a row before a source that was up is reported down. The watch loop retries
within 0.2 s, so a dead etcd is still reported within a fraction of a second."""


@dataclass
class Outage:
    """Hysteresis between reads and the health we report: ``observe`` takes each read's
    outcome and returns the new reported health when it changes, else ``None``. Up on the
    first good read; down at once when never up, else after ``failures_to_down`` failures in
    a row."""

    failures_to_down: int = FAILURES_TO_DOWN
    reported: bool | None = None
    failures: int = 0

    def observe(self, ok: bool) -> bool | None:
        self.failures = 0 if ok else self.failures + 1
        if ok:
            healthy = True
        elif self.reported is not True or self.failures >= self.failures_to_down:
            healthy = False
        else:
            return None  # one failure after good reads: wait for the retry
        if healthy == self.reported:
            return None
        self.reported = healthy
        return healthy


def _b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def prefix_end(prefix: str) -> str:
    """etcd's range end for "every key starting with prefix": the prefix with its last byte
    incremented (``/a/`` -> ``/a0``)."""
    b = bytearray(prefix.encode())
    for i in range(len(b) - 1, -1, -1):
        if b[i] < 0xFF:
            b[i] += 1
            return _b64(bytes(b[: i + 1]))
    return _b64(b"\x00")


@dataclass(frozen=True, slots=True)
class FileState:
    digest: str
    """SHA-256 of the content (``""``: the file does not exist)."""
    text: str


def read_file_state(path: Path) -> FileState:
    """Current content of ``path`` (following symlinks), raising OSError when unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return FileState("", "")
    return FileState(hashlib.sha256(data).hexdigest(), data.decode("utf-8", errors="replace"))


class FileSource:
    """Calls ``on_change(path)`` when the content of one of ``paths`` changes."""

    def __init__(
        self,
        paths: Sequence[Path],
        on_change: Callable[[Path], Awaitable[None]],
        *,
        interval: float = 1.0,
    ) -> None:
        self.paths = list(paths)
        self.on_change = on_change
        self.interval = interval
        self.healthy = True
        self.error: str | None = None
        self._digests: dict[Path, str] = {}
        for p in self.paths:
            with contextlib.suppress(OSError):
                self._digests[p] = read_file_state(p).digest

    def digest(self, path: Path) -> str:
        return self._digests.get(path, "")

    async def check(self) -> None:
        """One poll: compare each file with what was seen last and report changes."""
        problems = []
        for p in self.paths:
            try:
                state = await asyncio.to_thread(read_file_state, p)
            except OSError as exc:
                problems.append(f"{p}: {exc.strerror or exc}")
                continue
            if state.digest != self._digests.get(p):
                self._digests[p] = state.digest
                await self.on_change(p)
        self._set_health(problems)

    def _set_health(self, problems: list[str]) -> None:
        healthy = not problems
        if healthy != self.healthy:
            if healthy:
                log.info("config files readable again")
            else:
                log.warning("cannot read config files (%s); keeping the last good config",
                            "; ".join(problems))  # fmt: skip
        self.healthy, self.error = healthy, "; ".join(problems) or None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # a bug in a subscriber must not end the watcher
                log.exception("config file check failed")


class EtcdUnavailable(Exception):
    pass


class EtcdSource:
    """The settings under ``prefix`` in etcd, kept current; ``on_change`` gets the whole
    mapping ``{name: raw YAML text}`` and the store revision after every change."""

    def __init__(
        self,
        endpoints: Sequence[str],
        prefix: str,
        on_change: Callable[[dict[str, str], int], Awaitable[None]],
        *,
        timeout: float = 1.0,
        poll_interval: float = 2.0,
        on_health: Callable[[bool], None] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoints")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.prefix = prefix
        self.on_change = on_change
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.on_health = on_health
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout))
        self.values: dict[str, str] = {}
        self.revision = 0
        self.error: str | None = "not contacted yet"
        self._tasks: list[asyncio.Task[None]] = []
        self._outage = Outage()

    # --- reading -------------------------------------------------------------------------

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        last: Exception | None = None
        for ep in self.endpoints:
            try:
                r = await self.client.post(f"{ep}{path}", json=body)
                r.raise_for_status()
                data: dict[str, Any] = r.json()
                return data
            except (httpx.HTTPError, ValueError) as exc:
                last = exc
        raise EtcdUnavailable(f"{type(last).__name__}: {last}")

    async def fetch(self) -> None:
        """Read the whole prefix; apply it when it differs from what we have."""
        data = await self._post(
            "/v3/kv/range", {"key": _b64(self.prefix), "range_end": prefix_end(self.prefix)}
        )
        revision = int(data.get("header", {}).get("revision", 0))
        values = {}
        for kv in data.get("kvs", []):
            name = base64.b64decode(kv["key"]).decode()[len(self.prefix) :]
            values[name] = base64.b64decode(kv.get("value", "")).decode("utf-8", "replace")
        self._set_health(True, None)
        if values != self.values or not self.revision:
            self.values = values
            self.revision = revision
            await self.on_change(dict(values), revision)
        else:
            self.revision = max(self.revision, revision)

    async def watch_once(self) -> None:
        """Follow changes from the current revision until the stream ends or fails."""
        body = {
            "create_request": {
                "key": _b64(self.prefix),
                "range_end": prefix_end(self.prefix),
                "start_revision": str(self.revision + 1),
            }
        }
        timeout = httpx.Timeout(self.timeout, read=None)
        last: Exception | None = None
        for ep in self.endpoints:
            try:
                async with self.client.stream(
                    "POST", f"{ep}/v3/watch", json=body, timeout=timeout
                ) as r:
                    r.raise_for_status()
                    async for line in r.aiter_lines():
                        if line.strip():
                            await self._on_watch_message(json.loads(line))
                return
            except (httpx.HTTPError, ValueError) as exc:
                last = exc
        raise EtcdUnavailable(f"{type(last).__name__}: {last}")

    async def _on_watch_message(self, msg: dict[str, Any]) -> None:
        result = msg.get("result", {})
        if result.get("compact_revision") or result.get("canceled"):
            # our start revision was compacted away: take a fresh snapshot, then re-watch
            await self.fetch()
            raise EtcdUnavailable("watch canceled")
        events = result.get("events") or []
        if not events:
            return
        values = dict(self.values)
        for ev in events:
            kv = ev.get("kv", {})
            name = base64.b64decode(kv.get("key", "")).decode()[len(self.prefix) :]
            if ev.get("type") == "DELETE":
                values.pop(name, None)
            else:
                values[name] = base64.b64decode(kv.get("value", "")).decode("utf-8", "replace")
        self.revision = int(result.get("header", {}).get("revision", self.revision))
        self.values = values
        await self.on_change(dict(values), self.revision)

    # --- running -------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        """The reported state (:class:`Outage`), not the last read's."""
        return self._outage.reported is True

    def _set_health(self, ok: bool, error: str | None) -> None:
        """Record one read: log and call ``on_health`` when the reported state changes."""
        change = self._outage.observe(ok)
        if ok or not self.healthy:
            self.error = error
        else:  # one failure while up: not reported yet
            log.debug("etcd read failed (%s); retrying before calling it an outage", error)
        if change is None:
            return
        if change:
            log.info("etcd %s reachable; following %s", ",".join(self.endpoints), self.prefix)
        else:
            log.warning("etcd %s unreachable (%s); keeping the last good config",
                        ",".join(self.endpoints), error)  # fmt: skip
        if self.on_health is not None:
            self.on_health(change)

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.fetch()
            except EtcdUnavailable as exc:
                self._set_health(False, str(exc))
            except Exception:
                log.exception("etcd poll failed")

    async def _watch_loop(self) -> None:
        backoff = 0.2
        while True:
            try:
                if not self.healthy:
                    await self.fetch()  # snapshot first, so nothing between is missed
                await self.watch_once()
                backoff = 0.2
            except EtcdUnavailable as exc:
                self._set_health(False, str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("etcd watch failed")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def start(self) -> None:
        """First read (failure is logged, not raised: the service starts on its file and
        environment and picks etcd up when it answers), then watch and poll."""
        try:
            await self.fetch()
        except EtcdUnavailable as exc:
            self._set_health(False, str(exc))
        self._tasks = [
            asyncio.create_task(self._watch_loop(), name="etcd-watch"),
            asyncio.create_task(self._poll_loop(), name="etcd-poll"),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        await self.client.aclose()


def parse_value(raw: str) -> Any:
    """A setting's value as stored in etcd: YAML (``true``, ``5``, ``[happy, sad]``, a
    mapping); text that is not YAML is taken as a plain string."""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
