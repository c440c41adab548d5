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
import tempfile
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

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    def workers(self) -> set[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return {int(p) for p in path.read_text().split()} if path.exists() else set()

    def reload(self, origin_ports: list[int], timeout: float = 15.0) -> None:
        """New upstream servers, as an operator's ``nginx -s reload``: in-flight requests
        finish on the old workers; returns once the new workers have replaced them."""
        self.conf.write_text(render_edge_conf(_template(), self.port, origin_ports), "utf-8")
        old = self.workers()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited on reload: {self.error_log.read_text()}")
            now = self.workers()
            if now and not now & old:
                return
            time.sleep(0.05)
        raise AssertionError(f"nginx did not reload: {self.error_log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _template() -> str:
    return (DEPLOY / "edge" / "nginx.conf").read_text(encoding="utf-8")


def launch_edge(origin_ports: list[int]) -> Edge:
    """A real nginx running deploy/edge/nginx.conf in front of ``origin_ports``.

    nginx's workers run as `nobody` when the tests run as root: the prefix must be reachable
    for them, so it is not under pytest's private (0700) tmp folder. The caller stops the
    edge and removes ``edge.prefix``.
    """
    prefix = Path(tempfile.mkdtemp(prefix="hanvoice-edge-"))
    prefix.chmod(0o755)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render_edge_conf(_template(), port, origin_ports), "utf-8")
    with (prefix / "access.log").open("wb") as out, (prefix / "error.log").open("wb") as err:
        proc = subprocess.Popen(
            [NGINX, "-p", f"{prefix}/", "-c", str(conf), "-g", "daemon off;"],
            stdout=out,
            stderr=err,
        )
    edge = Edge(prefix, port, proc)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited: {edge.error_log.read_text()}")
        try:
            if httpx.get(f"{edge.url}/edge/health", timeout=1).status_code == 200:
                return edge
        except httpx.HTTPError:
            time.sleep(0.1)
    edge.stop()
    raise AssertionError(f"nginx did not start: {edge.error_log.read_text()}")


def render_edge_conf(template: str, port: int, origin_ports: list[int]) -> str:
    """The committed edge config with only the listen port and the upstream servers changed.

    Fails if the template no longer has exactly one ``listen`` line, or an upstream block
    with ``server`` lines, so the test cannot silently run a different config than the one
    shipped. With as many origins as the template has servers, each line keeps its own
    parameters; with another number, every origin gets the first line's parameters
    (``max_fails``, ``fail_timeout``), as an operator adding a region's origins would.
    """
    listen = re.findall(r"^(\s*)listen\s+\d+(\s+reuseport)?;", template, flags=re.MULTILINE)
    assert len(listen) == 1, "deploy/edge/nginx.conf should have exactly one listen line"
    text = re.sub(
        r"^(\s*)listen\s+\d+", rf"\g<1>listen 127.0.0.1:{port}", template, flags=re.MULTILINE
    )
    block = re.search(r"upstream hanvoice_origins \{(.*?)\n    \}", text, flags=re.DOTALL)
    assert block, "upstream hanvoice_origins block not found"
    servers = re.findall(r"^\s*server\s+\S+.*$", block.group(1), flags=re.MULTILINE)
    assert servers and origin_ports, "no upstream servers"
    if len(servers) != len(origin_ports):
        first = servers[0]
        lines = [ln for ln in block.group(1).split("\n") if not re.match(r"\s*server\s", ln)]
        at = next(i for i, ln in enumerate(lines) if "keepalive" in ln)
        lines[at:at] = [first] * len(origin_ports)
        text = text[: block.start(1)] + "\n".join(lines) + text[block.end(1) :]
        block = re.search(r"upstream hanvoice_origins \{(.*?)\n    \}", text, flags=re.DOTALL)
        assert block
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
