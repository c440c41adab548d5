"""Real ``hanvoice serve`` processes and a real nginx on free loopback ports (helpers).

Each origin is the real service (``python -m hanvoice.cli serve``) with its own
``HANVOICE_BUILD``/``HANVOICE_REGION``; one inference worker each, because the machine is
shared. Everything started here is stopped at teardown, killed if it does not stop.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from support.servers import free_port

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Origin:
    """One real hanvoice service process."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Origin:
        cmd = [sys.executable, "-m", "hanvoice.cli", "serve", "--host", "127.0.0.1"]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*cmd, "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        return self

    def wait_ready(self, timeout: float = 120.0) -> Origin:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(
            f"{self.name} not ready in {timeout} s: {self.log.read_text()[-2000:]}"
        )

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: a crash, not a drain."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class Origins:
    tmp: Path
    started: list[Origin] = field(default_factory=list)

    def start(self, name: str, **env: str) -> Origin:
        """Start an origin; ``env`` are ``HANVOICE_*`` settings without the prefix."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("HANVOICE_")}
        base.update(
            HANVOICE_WORKERS="1",
            HANVOICE_WEB_PAGE="false",
            HANVOICE_LOG_LEVEL="warning",
            PYTHONUNBUFFERED="1",
        )
        if os.environ.get("HANVOICE_CACHE_DIR"):
            base["HANVOICE_CACHE_DIR"] = os.environ["HANVOICE_CACHE_DIR"]
        base.update({f"HANVOICE_{k.upper()}": v for k, v in env.items()})
        origin = Origin(name, free_port(), base, self.tmp / f"{name}-{len(self.started)}.log")
        self.started.append(origin.start())
        return origin

    def stop_all(self) -> None:
        for o in self.started:
            o.stop()


@dataclass
class Edge:
    """A real nginx running deploy/edge/nginx.conf with the origins substituted."""

    prefix: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def render_edge_conf(template: str, port: int, origin_ports: list[int]) -> str:
    """The committed edge config with only the listen port and the upstream servers changed.

    Fails if the template no longer has exactly one ``listen`` and one ``server`` line per
    origin, so the test cannot silently run a different config than the one shipped.
    """
    listen = re.findall(r"^(\s*)listen\s+\d+(\s+reuseport)?;", template, flags=re.MULTILINE)
    assert len(listen) == 1, "deploy/edge/nginx.conf should have exactly one listen line"
    text = re.sub(
        r"^(\s*)listen\s+\d+", rf"\g<1>listen 127.0.0.1:{port}", template, flags=re.MULTILINE
    )
    block = re.search(r"upstream hanvoice_origins \{(.*?)\n    \}", text, flags=re.DOTALL)
    assert block, "upstream hanvoice_origins block not found"
    servers = re.findall(r"^\s*server\s+\S+", block.group(1), flags=re.MULTILINE)
    assert len(servers) == len(origin_ports), (
        f"template has {len(servers)} origins, the test starts {len(origin_ports)}"
    )
    ports = iter(origin_ports)
    body = re.sub(
        r"^(\s*server\s+)\S+?(?=[\s;])",
        lambda m: f"{m.group(1)}127.0.0.1:{next(ports)}",
        block.group(1),
        flags=re.MULTILINE,
    )
    return text[: block.start(1)] + body + text[block.end(1) :]


def metric_names(exposition: str) -> set[str]:
    """Every series name a Prometheus text exposition can produce.

    A labelled histogram or counter that has not been observed yet shows only its ``# TYPE``
    line, so the sample names are derived from the family type as well.
    """
    suffixes = {
        "counter": ("", "_total", "_created"),
        "histogram": ("", "_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
        "info": ("_info",),
        "untyped": ("",),
    }
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(maxsplit=3)
            names.update(family + s for s in suffixes.get(kind.strip(), ("",)))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names
