from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.servers import EtcdServer

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def etcd() -> Iterator[EtcdServer]:
    server = EtcdServer()
    server.start()
    yield server
    server.close()
