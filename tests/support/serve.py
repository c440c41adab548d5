"""Real ``hanvoice serve`` processes on free loopback ports, for the service, production,
voices and benchmark runs: one launcher, so they all start and stop the service alike."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from support.servers import free_port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)


S = TypeVar("S", bound=Server)


def start_server(
    log_dir: Path,
    *,
    wait_ready: bool = True,
    config: Path | None = None,
    kind: type[S] = Server,  # type: ignore[assignment]
    stdout_in_log: bool = True,
    ready_timeout: float = 120.0,
    **settings: Any,
) -> S:
    """Start ``hanvoice serve`` with ``HANVOICE_<KEY>`` settings; wait for ``/ready``
    (``/health`` without ``wait_ready``). Without ``stdout_in_log`` the log holds stderr
    only, where the JSON log lines go."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANVOICE_")}
    if "HANVOICE_CACHE_DIR" in os.environ:  # derived model graphs: keep using the same cache
        env["HANVOICE_CACHE_DIR"] = os.environ["HANVOICE_CACHE_DIR"]
    env.update({f"HANVOICE_{k.upper()}": str(v) for k, v in settings.items()})
    env.setdefault("HANVOICE_LOG_LEVEL", "info")
    for attempt in range(3):
        port = free_port()
        log = log_dir / f"server-{port}.log"
        cmd = [sys.executable, "-m", "hanvoice.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
        if config is not None:
            cmd += ["--config", str(config)]
        with open(log, "wb") as out:
            stdout = out if stdout_in_log else subprocess.DEVNULL
            proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=out)
        server = kind(proc, f"http://127.0.0.1:{port}", log)
        if _wait(server, "/ready" if wait_ready else "/health", ready_timeout):
            return server
        server.stop(signal.SIGKILL)
        if "address already in use" not in server.output().lower() or attempt == 2:
            raise RuntimeError(f"server did not start:\n{server.output()[-3000:]}")
    raise AssertionError("unreachable")


def _wait(server: Server, path: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return False
        try:
            if httpx.get(server.url + path, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False
