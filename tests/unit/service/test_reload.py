"""Hot reload: values from a file and from a real etcd, validation, last good config."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hanvoice.config import Settings
from hanvoice.service.configsource import EtcdSource, Outage, parse_value, prefix_end
from hanvoice.service.reload import DYNAMIC, ConfigManager
from support.servers import EtcdServer


class Recorder:
    def __init__(self) -> None:
        self.reloads: list[tuple[str, bool]] = []
        self.health: list[tuple[str, bool]] = []
        self.versions: list[str] = []

    def reload(self, source: str, ok: bool) -> None:
        self.reloads.append((source, ok))

    def source_health(self, source: str, up: bool) -> None:
        self.health.append((source, up))

    def version(self, version: str) -> None:
        self.versions.append(version)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        if k.startswith("HANVOICE_") and k != "HANVOICE_CACHE_DIR":
            monkeypatch.delenv(k)


@pytest.fixture
def etcd() -> Iterator[EtcdServer]:
    server = EtcdServer()
    server.start()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("prefix", "end"),
    [("/hanvoice/config/", "/hanvoice/config0"), ("a", "b"), ("a\xff", "b")],
)
def test_prefix_end(prefix: str, end: str) -> None:
    got = base64.b64decode(prefix_end(prefix))
    if prefix == "a\xff":  # UTF-8 0xc3 0xbf: the last byte can still be incremented
        assert got == "a\xff".encode()[:-1] + b"\xc0"
    else:
        assert got == end.encode()


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("5", 5),
        ("[neutral, sad]", ["neutral", "sad"]),
        ("100/hour;5/second", "100/hour;5/second"),
        ("violence: [炸弹]", {"violence": ["炸弹"]}),
        ("a: [unclosed", "a: [unclosed"),
    ],
)
def test_parse_value(raw: str, value: Any) -> None:
    assert parse_value(raw) == value


@pytest.mark.parametrize(
    ("reads", "reported"),
    [
        ("+", [True]),
        ("-", [False]),  # never up: down at the first failed read
        ("+-+", [True]),  # one slow read after good ones is not an outage
        ("+--", [True, False]),
        ("+---+", [True, False, True]),
        ("+-+-+-", [True]),  # failures must be in a row
        ("-+--+", [False, True, False, True]),
    ],
)
def test_outage_hysteresis(reads: str, reported: list[bool]) -> None:
    outage = Outage(failures_to_down=2)
    changes = [outage.observe(c == "+") for c in reads]
    assert [c for c in changes if c is not None] == reported


def test_dynamic_keys_are_settings() -> None:
    assert set(DYNAMIC) <= set(Settings.model_fields)


def write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(path)


def test_file_changes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "hv.yaml"
    write(f, "rate_limit: 5/second\nport: 5000\n")
    rec = Recorder()
    seen: list[tuple[Any, Any]] = []

    async def run() -> None:
        m = ConfigManager(Settings.load(f), observer=rec)
        m.subscribe(lambda old, new: seen.append((old.rate_limit, new.rate_limit)))
        write(f, "rate_limit: 7/second\nport: 6000\ndegrade: true\n")
        await m.files.check()
        assert m.current.rate_limit == "7/second" and m.current.degrade
        assert m.current.port == 5000  # static: not applied
        write(f, "rate_limit: [broken\n")
        await m.files.check()
        assert m.current.rate_limit == "7/second"  # last good kept
        assert m.last_error and "not valid YAML" in m.last_error
        write(f, "rate_limit: lots\n")
        await m.files.check()
        assert m.last_error and "rate_limit" in m.last_error
        f.unlink()
        await m.files.check()
        assert m.current.rate_limit == "7/second"

    with caplog.at_level(logging.INFO):
        asyncio.run(run())
    assert seen == [("5/second", "7/second")]
    assert rec.reloads == [("file", True), ("file", False), ("file", False), ("file", False)]
    assert sum("restart to apply" in r.getMessage() for r in caplog.records) == 1


def test_values_given_in_code_survive_reloads(tmp_path: Path) -> None:
    f = tmp_path / "hv.yaml"
    write(f, "cache_ttl: 100\n")

    async def run() -> None:
        m = ConfigManager(Settings.load(f, rate_limit="9/second"))
        write(f, "cache_ttl: 200\n")
        await m.files.check()
        assert (m.current.cache_ttl, m.current.rate_limit) == (200, "9/second")

    asyncio.run(run())


def test_etcd_overrides_and_outage(etcd: EtcdServer, tmp_path: Path) -> None:
    f = tmp_path / "hv.yaml"
    write(f, "allowed_emotions: [neutral, happy, sad]\n")
    rec = Recorder()
    prefix = "/hv/test/"

    async def wait(cond: Any, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.05)

    async def run() -> None:
        etcd.put(prefix + "degrade", "true")
        s = Settings.load(f, etcd_endpoints=etcd.endpoint, etcd_prefix=prefix,
                          etcd_poll_interval=0.5)  # fmt: skip
        m = ConfigManager(s, observer=rec)
        await m.start()
        try:
            assert m.current.degrade  # read at start, before traffic
            assert "+etcd." in m.version
            await asyncio.to_thread(etcd.put, prefix + "allowed_emotions", "neutral")
            await wait(lambda: m.current.allowed_emotions == ("neutral",))
            await asyncio.to_thread(etcd.put, prefix + "port", "1")  # static: ignored
            await asyncio.to_thread(etcd.put, prefix + "cache_ttl", "-1")  # invalid: refused
            await wait(lambda: m.last_error is not None)
            assert m.current.allowed_emotions == ("neutral",) and m.current.cache_ttl == 86400
            await asyncio.to_thread(etcd.delete, prefix + "cache_ttl")
            await wait(lambda: m.last_error is None)
            await asyncio.to_thread(etcd.kill)
            await wait(lambda: m.etcd is not None and not m.etcd.healthy)
            assert m.current.allowed_emotions == ("neutral",)  # last good config
            await asyncio.to_thread(etcd.start)
            await asyncio.to_thread(etcd.delete, prefix + "allowed_emotions")
            await wait(lambda: m.current.allowed_emotions == ("neutral", "happy", "sad"), 20)
            assert m.etcd is not None and m.etcd.healthy
        finally:
            await m.stop()

    asyncio.run(run())
    assert ("etcd", False) in rec.health and rec.health[-1] == ("etcd", True)
    assert ("etcd", False) in rec.reloads


def test_etcd_down_at_start_is_not_fatal(tmp_path: Path) -> None:
    async def run() -> None:
        s = Settings.load(etcd_endpoints="http://127.0.0.1:9", etcd_timeout=0.2)
        m = ConfigManager(s)
        await m.start()
        assert m.etcd is not None and not m.etcd.healthy
        assert m.status()["sources"]["etcd"]["healthy"] is False
        await m.stop()

    asyncio.run(run())


def test_etcd_source_reads_and_watches(etcd: EtcdServer) -> None:
    changes: list[dict[str, str]] = []

    async def on_change(values: dict[str, str], revision: int) -> None:
        changes.append(values)

    async def run() -> None:
        src = EtcdSource([etcd.endpoint], "/p/", on_change, poll_interval=30)
        await asyncio.to_thread(etcd.put, "/p/a", "1")
        await asyncio.to_thread(etcd.put, "/other", "x")
        await src.start()
        await asyncio.to_thread(etcd.put, "/p/b", "二")
        await asyncio.to_thread(etcd.delete, "/p/a")
        deadline = time.monotonic() + 10
        while changes[-1] != {"b": "二"}:
            assert time.monotonic() < deadline, changes
            await asyncio.sleep(0.05)
        await src.stop()

    asyncio.run(run())
    assert changes[0] == {"a": "1"}


@pytest.mark.parametrize(
    ("rewrite", "why"),
    [
        ("", "no longer sets"),  # an empty file
        ("rate_limit: 5/second\n", "no longer sets allowed_emotions"),  # half of it
        ("# rate_limit: 5/second\nallowed_emotions: [happy]\n", "no longer sets rate_limit"),
        ("rate_limit: 5/second\nallowed_emotions: [nope, 3]\n", None),  # valid YAML, a value
    ],
)
def test_a_config_must_be_whole(tmp_path: Path, rewrite: str, why: str | None) -> None:
    """A file missing what it set, or with a value that fails, keeps the last good config
    (the filter, the limits, the emotion whitelist stay) and says why; it is counted."""
    f = tmp_path / "hv.yaml"
    write(f, "rate_limit: 5/second\nallowed_emotions: [happy, sad]\n")
    rec = Recorder()

    async def run() -> ConfigManager:
        m = ConfigManager(Settings.load(f), observer=rec)
        write(f, rewrite)
        await m.files.check()
        return m

    m = asyncio.run(run())
    assert (m.current.rate_limit, m.current.allowed_emotions) == ("5/second", ("happy", "sad"))
    assert rec.reloads == [("file", False)] and m.last_error
    if why:
        assert why in m.last_error


def test_an_emptied_word_list_is_refused(tmp_path: Path) -> None:
    words = tmp_path / "words.yaml"
    write(words, "violence: [炸弹]\n")
    f = tmp_path / "hv.yaml"
    write(f, f"filter_words_file: {words}\n")
    rec = Recorder()

    async def run() -> ConfigManager:
        m = ConfigManager(Settings.load(f), observer=rec)
        write(words, "")
        await m.files.check()
        return m

    m = asyncio.run(run())
    assert rec.reloads == [("file", False)] and m.last_error and "is empty" in m.last_error


def test_an_empty_etcd_value_is_refused(tmp_path: Path) -> None:
    rec = Recorder()

    async def run() -> ConfigManager:
        m = ConfigManager(Settings.load(rate_limit="5/second"), observer=rec)
        await m._etcd_changed({"rate_limit": "9/second"}, 3)
        await m._etcd_changed({"rate_limit": "  "}, 4)  # emptied: not "no limit"
        return m

    m = asyncio.run(run())
    assert m.current.rate_limit == "9/second" and m.etcd_revision == 3
    assert rec.reloads == [("etcd", True), ("etcd", False)]
    assert m.last_error and "empty" in m.last_error
