"""A real ``hanvoice serve`` for the security suite, its log, and its peak memory."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.serve import Server, start_server

SEND_TIMEOUT = 3.0
PEAK_RSS_MB = 600
"""The whole suite's attacks together must not take the node past this (issue 22)."""


class Node(Server):
    def log_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def peak_rss_mb(self) -> float:
        """The process's high-water mark of resident memory (the kernel's VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM")


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    n = start_server(
        tmp_path_factory.mktemp("security"),
        kind=Node,
        stdout_in_log=False,
        workers=2,
        queue_size=32,
        send_timeout=SEND_TIMEOUT,
        header_timeout=3,
        body_timeout=3,
        request_timeout=60,
        allowed_emotions="neutral,happy,sad",
        cache_enabled="false",
    )
    yield n
    n.stop()


class Health:
    """Asks ``/health`` every 0.2 s while an attack runs: the node must keep answering."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                self.probe(client)
                self._stop.wait(0.2)

    def probe(self, client: httpx.Client) -> None:
        start = time.perf_counter()
        try:
            r = client.get(self.url + "/health")
            if r.status_code != 200:
                self.failures.append(f"/health {r.status_code}")
        except httpx.HTTPError as exc:
            self.failures.append(f"/health: {type(exc).__name__}")
        self.latencies.append(time.perf_counter() - start)

    def __enter__(self) -> Health:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)
        with httpx.Client(timeout=10) as client:  # and right after it, however short it was
            self.probe(client)


def drops_after(node: Node, mark: int) -> Any:
    """A function giving ``stalled_since`` of the first dropped connection logged after
    line ``mark`` of the node's log, or ``None`` while there is none."""

    def seen() -> float | None:
        for entry in node.log_lines()[mark:]:
            if entry.get("message", "").startswith("connection dropped"):
                return float(entry["stalled_since"])
        return None

    return seen
