"""Generated requests against the real server: audio or a 4xx with a JSON error body,
never a 5xx (``support.generators.TTS_BODY``: any text or SSML with any mix of fields,
types and values). ``bench/fuzz.py --service`` runs thousands."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings

from security.conftest import Node
from support.generators import TTS_BODY

FIXTURE_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def check_answer(r: httpx.Response, data: bytes) -> str:
    """``"audio"``, ``"json"`` or the error code; raises on anything a client must not see."""
    assert r.status_code < 500 or r.status_code == 503, (r.status_code, data[:300])
    if r.status_code >= 400:
        body = json.loads(data)
        assert set(body) == {"error"} and body["error"]["message"], body
        return str(body["error"]["code"])
    return "json" if r.headers.get("content-type", "").startswith("application/json") else "audio"


@settings(max_examples=80, deadline=None, suppress_health_check=FIXTURE_OK)
@given(body=TTS_BODY)
def test_post_tts_anything(node: Node, body: dict[str, Any]) -> None:
    with httpx.Client(timeout=60) as c, c.stream("POST", node.url + "/tts", json=body) as r:
        check_answer(r, r.read())


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURE_OK)
@given(body=TTS_BODY)
def test_get_tts_anything(node: Node, body: dict[str, Any]) -> None:
    query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    with httpx.Client(timeout=60) as c, c.stream("GET", node.url + "/tts", params=query) as r:
        check_answer(r, r.read())
