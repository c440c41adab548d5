"""Fixtures of the deploy tests: real origins and a real nginx edge (see deploykit)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from deploykit import DEPLOY, NGINX, Edge, Origin, Origins, free_port, render_edge_conf


@pytest.fixture
def origins(tmp_path: Path) -> Iterator[Origins]:
    o = Origins(tmp_path)
    yield o
    o.stop_all()


@pytest.fixture
def start_edge() -> Iterator[Callable[[list[Origin]], Edge]]:
    edges: list[Edge] = []
    prefixes: list[Path] = []

    def start(upstreams: list[Origin]) -> Edge:
        # nginx's workers run as `nobody` when the tests run as root: the prefix must be
        # reachable for them, so it is not under pytest's private (0700) tmp folder.
        prefix = Path(tempfile.mkdtemp(prefix="hanvoice-edge-"))
        prefix.chmod(0o755)
        prefixes.append(prefix)
        port = free_port()
        conf = prefix / "nginx.conf"
        template = (DEPLOY / "edge" / "nginx.conf").read_text(encoding="utf-8")
        conf.write_text(render_edge_conf(template, port, [o.port for o in upstreams]), "utf-8")
        with (prefix / "access.log").open("wb") as out, (prefix / "error.log").open("wb") as err:
            proc = subprocess.Popen(
                [NGINX, "-p", f"{prefix}/", "-c", str(conf), "-g", "daemon off;"],
                stdout=out,
                stderr=err,
            )
        edge = Edge(prefix, port, proc)
        edges.append(edge)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"nginx exited: {edge.error_log.read_text()}")
            try:
                if httpx.get(f"{edge.url}/edge/health", timeout=1).status_code == 200:
                    return edge
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"nginx did not start: {edge.error_log.read_text()}")

    yield start
    for e in edges:
        e.stop()
    for p in prefixes:
        shutil.rmtree(p, ignore_errors=True)
