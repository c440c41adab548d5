"""The Mellotron voice set end to end: CLI, HTTP API, WebSocket and page.

These need the set up (``scripts/setup.sh --voices``, which CI runs) and fail, not skip,
without it. The service helpers are shared with ``tests/integration/service``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "service"))

from hanvoice.engines.mellotron import assets
from support.serve import Server, start_server


@pytest.fixture(scope="session")
def voice_set() -> None:
    if not assets.installed():
        pytest.fail(
            f"the Mellotron voice set is not exported in {assets.model_dir()}: "
            "run scripts/setup.sh --voices"
        )


@pytest.fixture(scope="session")
def voices_server(voice_set: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(
        tmp_path_factory.mktemp("voices_server"),
        workers=2,
        queue_size=32,
        cache_enabled="false",
        max_text_chars=5000,
    )
    yield s
    s.stop()
    assert "Traceback" not in s.output(), s.output()[-5000:]


@pytest.fixture()
def api(voices_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=voices_server.url, timeout=120) as c:
        yield c
