"""Real ``hanvoice serve`` processes for the production tests, with their JSON logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support.servers import free_port


@dataclass
class Node:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line of the node's stderr, parsed: each must be one JSON object."""
        return [json.loads(line) for line in self.output().splitlines() if line.strip()]

    def access(self) -> list[dict[str, Any]]:
        return [x for x in self.log_lines() if x.get("logger") == "hanvoice.access"]

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=10).text

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_node(log_dir: Path, *, config: Path | None = None, **settings: Any) -> Node:
    """``hanvoice serve`` with ``HANVOICE_<KEY>`` settings; returns once ``/ready`` is 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANVOICE_")}
    if "HANVOICE_CACHE_DIR" in os.environ:
        env["HANVOICE_CACHE_DIR"] = os.environ["HANVOICE_CACHE_DIR"]
    env.update({"HANVOICE_WORKERS": "1", "HANVOICE_LOG_LEVEL": "info"})
    env.update({f"HANVOICE_{k.upper()}": str(v) for k, v in settings.items()})
    for _ in range(3):
        port = free_port()
        log = log_dir / f"node-{port}.log"
        cmd = [sys.executable, "-m", "hanvoice.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
        if config is not None:
            cmd += ["--config", str(config)]
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=out)
        node = Node(proc, f"http://127.0.0.1:{port}", log)
        if _wait_ready(node):
            return node
        node.stop()
        if "address already in use" not in node.output().lower():
            raise RuntimeError(f"node did not start:\n{node.output()[-3000:]}")
    raise RuntimeError("no free port")


def _wait_ready(node: Node, timeout: float = 180.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            return False
        try:
            if httpx.get(node.url + "/ready", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


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
