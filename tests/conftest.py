from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hanvoice.synth import Synthesizer
from hanvoice.voices import VoiceCatalog
from support.servers import RedisServer


@pytest.fixture(scope="session")
def catalog() -> VoiceCatalog:
    return VoiceCatalog()


@pytest.fixture(scope="session")
def voice(catalog: VoiceCatalog) -> Synthesizer:
    return catalog.get()


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    """A real Redis on a free loopback port, for one test module."""
    server = RedisServer()
    server.start()
    yield server
    server.close()
