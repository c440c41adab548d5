"""Fixtures for the fleet tests: fake regions on loopback and inventories pointing at them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fleet_fakes import FakeRegion, handler_for, inventory_text


@pytest.fixture
def fake_regions() -> Iterator[dict[str, FakeRegion]]:
    """Three regions on free loopback ports, all healthy and identical to start with."""
    fakes: dict[str, FakeRegion] = {}
    threads = []
    for name in ("cn-beijing", "ap-singapore", "eu-frankfurt"):
        fake = FakeRegion(name)
        fake.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
        fake.server.daemon_threads = True
        t = threading.Thread(target=fake.server.serve_forever, args=(0.02,), daemon=True)
        t.start()
        threads.append(t)
        fakes[name] = fake
    yield fakes
    for fake in fakes.values():
        assert fake.server is not None
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
def write_inventory(tmp_path: Path) -> Callable[..., Path]:
    """Write an inventory for ``{region: endpoint}`` (optionally a rollout section)."""

    def write(endpoints: dict[str, str], **rollout: Any) -> Path:
        path = tmp_path / "regions.yaml"
        path.write_text(inventory_text(endpoints, **rollout), encoding="utf-8")
        return path

    return write
