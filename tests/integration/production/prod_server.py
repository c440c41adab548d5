"""Real ``hanvoice serve`` processes for the production tests, with their JSON logs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from support.serve import Server, start_server


class Node(Server):
    """A production node: its log holds stderr only, every line one JSON object."""

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line of the node's stderr, parsed: each must be one JSON object."""
        return [json.loads(line) for line in self.output().splitlines() if line.strip()]

    def access(self) -> list[dict[str, Any]]:
        return [x for x in self.log_lines() if x.get("logger") == "hanvoice.access"]

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=10).text


def start_node(log_dir: Path, *, config: Path | None = None, **settings: Any) -> Node:
    """``hanvoice serve`` with ``HANVOICE_<KEY>`` settings (one worker, info logs unless
    given); returns once ``/ready`` is 200."""
    return start_server(
        log_dir,
        config=config,
        kind=Node,
        stdout_in_log=False,
        ready_timeout=180.0,
        **{"workers": 1, "log_level": "info", **settings},
    )


def eventually(check: Any, timeout: float = 10.0, interval: float = 0.1) -> float:
    """Call ``check()`` until it returns truthy; the seconds it took. Fails after ``timeout``."""
    start = time.monotonic()
    last: Any = None
    while time.monotonic() - start < timeout:
        last = check()
        if last:
            return time.monotonic() - start
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def tts(
    client: httpx.Client | str, text: str, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    payload = {"text": text, **body}
    if isinstance(client, str):
        return httpx.post(client + "/tts", json=payload, headers=headers, timeout=120)
    return client.post("/tts", json=payload, headers=headers)
