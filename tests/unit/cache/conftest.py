from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.servers import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.close()
