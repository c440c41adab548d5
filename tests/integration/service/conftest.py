from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.serve import Server, start_server

MAIN_SETTINGS = {
    "workers": 2,
    "queue_size": 16,
    "audio_url_ttl": 3,
    "http_max_age": 600,
    "max_text_chars": 5000,
    "cache_enabled": "false",  # these tests measure synthesis itself (issue 5 tests the cache)
}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server shared by the read-only tests."""
    s = start_server(tmp_path_factory.mktemp("server"), **MAIN_SETTINGS)
    yield s
    s.stop()
    # whatever the tests sent, nothing escaped as an unhandled exception
    assert "Exception in ASGI application" not in s.output(), s.output()[-5000:]
    assert "Traceback" not in s.output(), s.output()[-5000:]


@pytest.fixture()
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c
