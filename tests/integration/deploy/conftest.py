"""Fixtures of the deploy tests: real origins and a real nginx edge (see deploykit), and the
real image built once per session with scripts/image.sh (see podmankit)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from deploykit import Edge, Origins, launch_edge
from podmankit import BuiltImage, build_image, remove_labelled, remove_orphans, require_podman


@pytest.fixture(scope="session")
def built_image() -> Iterator[BuiltImage]:
    """The image, built once per session as the README does (a cached base is reused, a
    clean machine builds it); every container and pod a test left behind is removed."""
    require_podman()
    remove_orphans()
    ref, record, seconds = build_image()
    print(f"\nimage {ref}: {record['size_bytes'] / 1e6:.0f} MB in {seconds:.1f} s {record}")
    try:
        yield BuiltImage(ref, record, seconds)
    finally:
        remove_labelled()


@pytest.fixture
def origins(tmp_path: Path) -> Iterator[Origins]:
    o = Origins(tmp_path)
    yield o
    o.stop_all()


@pytest.fixture
def start_edge() -> Iterator[Callable[[list[Any]], Edge]]:
    edges: list[Edge] = []
    prefixes: list[Path] = []

    def start(upstreams: list[Any]) -> Edge:
        edge = launch_edge([o.port for o in upstreams])
        edges.append(edge)
        prefixes.append(edge.prefix)
        return edge

    yield start
    for e in edges:
        e.stop()
    for p in prefixes:
        shutil.rmtree(p, ignore_errors=True)
