"""Trust boundaries (issue 23), each item a case or a table of cases, against a real
``hanvoice serve`` with auth on (API keys with scopes, HS256 JWTs), rate limits in a real
Redis, the content filter, and a config file that is hot-reloaded.

1. the filter hears what the voice says   6. bounded metric labels
2. one place decides who the client is    7. links belong to their maker
3. every WebSocket message counts         8. a config must be whole
4. failed credentials are limited         9. least privilege
5. nothing secret in the logs            10. the schema is the contract (and test_schema)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from security.conftest import Node
from support.serve import start_server
from support.servers import RedisServer

SECRET = "s" * 40
ADMIN = "admin-key-1"
KEY_A = "key-a-1"
KEY_B = "key-b-1"
LIMIT = 8
FAILURES = 10
WORDS = {"violence": ["炸弹", "kill"], "spam": ["发票代开"], "politics": ["法轮功"],
         "brand": ["脸书"], "gambling": ["六合彩"]}  # fmt: skip
CASES = Path(__file__).parents[1] / "cases" / "filter.tsv"


def token(sub: str = "alice", exp: float = 3600, scope: str = "tts") -> str:
    now = time.time()
    claims = {"sub": sub, "exp": int(now + exp), "iat": int(now), "scope": scope}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("trust")
    words = d / "words.yaml"
    words.write_text(yaml.safe_dump(WORDS, allow_unicode=True), "utf-8")
    cfg = d / "hanvoice.yaml"
    cfg.write_text(
        yaml.safe_dump({"filter_words_file": str(words), "filter_policy": "reject",
                        "rate_limit": f"{LIMIT}/minute", "allowed_emotions": ["neutral", "happy"]}),
        "utf-8",
    )  # fmt: skip
    return cfg


@pytest.fixture(scope="module")
def node(redis: RedisServer, config: Path) -> Iterator[Node]:
    n = start_server(
        config.parent,
        kind=Node,
        config=config,
        stdout_in_log=False,
        redis_url=redis.url,
        api_keys=f"{KEY_A},{KEY_B}",
        admin_api_keys=ADMIN,
        jwt_secret=SECRET,
        jwt_leeway=0,
        auth_failure_limit=f"{FAILURES}/minute",
        ws_max_lifetime=4,
        config_poll_interval=0.3,
        cache_enabled="false",
        transcriptions="false",
        log_level="info",
    )
    yield n
    n.stop()


def fresh(node: Node) -> dict[str, str]:
    """A JWT for a subject of its own: rate limits set by one case do not touch another."""
    return bearer(token(sub=f"s-{uuid.uuid4().hex[:8]}"))


def post(node: Node, headers: dict[str, str], **body: Any) -> httpx.Response:
    return httpx.post(node.url + "/tts", json=body, headers=headers, timeout=60)


# --- 1. the filter hears what the voice says ---------------------------------------------
ROWS = [r.split("\t") for r in CASES.read_text("utf-8").splitlines() if r and r[0] != "#"]


@pytest.mark.parametrize(("text", "ssml", "category", "form"), ROWS, ids=[r[3] for r in ROWS])
def test_filter_refuses_what_is_said(
    node: Node, text: str, ssml: str, category: str, form: str
) -> None:
    r = post(node, fresh(node), text=text, ssml=ssml == "y")
    if category == "-":
        assert r.status_code == 200, r.text
        return
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    assert body["code"] == "content_rejected" and category in body["message"]
    assert not any(w in body["message"] for ws in WORDS.values() for w in ws)


@pytest.mark.parametrize("route", ["get", "ws", "openai", "stream"])
def test_filter_on_every_route(node: Node, route: str) -> None:
    text = '<speak><sub alias="炸">a</sub>弹</speak>'
    headers = fresh(node)
    if route == "get":
        r = httpx.get(node.url + "/tts", params={"text": text, "ssml": "true"}, headers=headers)
        assert r.status_code == 422
    elif route == "openai":
        speech = {"model": "tts-1", "voice": "alloy", "input": "我有一个诈弹"}
        r = httpx.post(node.url + "/v1/audio/speech", headers=headers, timeout=60, json=speech)
        assert r.status_code == 422
    elif route == "stream":
        r = post(node, headers, text=text, ssml=True, stream=True)
        assert r.status_code == 422
    else:
        url = node.url.replace("http", "ws", 1) + "/ws/tts?token=" + token(sub="ws-filter")
        with connect(url) as ws:
            ws.send(json.dumps({"text": text, "ssml": True}))
            frame = json.loads(ws.recv(timeout=30))
            assert frame["type"] == "error" and frame["error"]["code"] == "content_rejected"


# --- 2. one place decides who the client is ------------------------------------------------
def test_forwarded_for_from_loopback_is_not_believed(node: Node) -> None:
    """No trusted proxies: rotating X-Forwarded-For must not give fresh limits, and the
    access log keeps the real address."""
    token_less = "203.0.113."
    statuses = [
        httpx.post(node.url + "/tts", json={"text": "好。"}, timeout=60,
                   headers={**bearer(KEY_B), "X-Forwarded-For": f"{token_less}{i}"}).status_code
        for i in range(LIMIT + 4)
    ]  # fmt: skip
    assert statuses.count(200) == LIMIT and statuses.count(429) == 4
    seen = {e.get("client_ip") for e in node.log_lines() if e.get("message") == "request"}
    assert not any(str(ip).startswith(token_less) for ip in seen)


# --- 3. every WebSocket message counts ----------------------------------------------------
def test_each_websocket_message_counts(node: Node) -> None:
    url = node.url.replace("http", "ws", 1) + "/ws/tts?token=" + token(sub="ws-limit")
    codes = []
    with connect(url) as ws:
        for _ in range(LIMIT + 3):
            ws.send(json.dumps({"text": "好。"}))
            while True:
                frame = ws.recv(timeout=30)
                if isinstance(frame, str) and json.loads(frame)["type"] in ("end", "error"):
                    data = json.loads(frame)
                    codes.append(data["error"]["code"] if data["type"] == "error" else "ok")
                    break
    assert codes.count("ok") == LIMIT and codes.count("rate_limited") == 3


@pytest.mark.parametrize(("exp", "why"), [(2, "token has expired"), (3600, "maximum lifetime")])
def test_a_websocket_ends_with_its_token_or_lifetime(node: Node, exp: float, why: str) -> None:
    url = node.url.replace("http", "ws", 1) + "/ws/tts?token=" + token(sub=f"ws-{exp}", exp=exp)
    with connect(url) as ws:
        time.sleep(5)  # past the token (2 s) or the lifetime (4 s)
        try:
            frame = json.loads(ws.recv(timeout=10))
            assert frame["type"] == "error" and why in frame["error"]["message"]
            ws.recv(timeout=10)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1008
        else:
            raise AssertionError("the socket stayed open")


# --- 5. nothing secret in the logs -----------------------------------------------------------
@pytest.mark.parametrize("name", ["token", "%74oken", "%2574oken", "TOKEN", "t%6Fken"])
def test_no_credential_in_any_log_line(node: Node, name: str) -> None:
    secret = token(sub=f"log-{name[:3]}")
    url = node.url.replace("http", "ws", 1) + f"/ws/tts?{name}={secret}"
    try:
        with connect(url) as ws:
            ws.send(json.dumps({"text": "好。"}))
            ws.recv(timeout=30)
    except (ConnectionClosed, InvalidStatus):
        pass  # a spelling the server does not accept: refused, and logged all the same
    httpx.get(node.url + f"/voices?{name}={secret}", timeout=10)
    assert secret.split(".")[2] not in node.output()


# --- 6. bounded metric labels -------------------------------------------------------------
def test_random_paths_make_no_new_series(node: Node) -> None:
    """A subject over its limit asks for random paths: 429s counted under fixed labels, so a
    second batch of new paths adds no series at all."""
    over = fresh(node)
    while post(node, over, text="好").status_code != 429:
        pass

    def batch() -> int:
        for _ in range(25):
            for path in (f"/tts/{uuid.uuid4().hex}", f"/v1/{uuid.uuid4().hex}",
                         f"/{uuid.uuid4().hex}"):  # fmt: skip
                httpx.post(node.url + path, headers=over, timeout=10)
        text = httpx.get(node.url + "/metrics", headers=bearer(ADMIN), timeout=10).text
        return sum(1 for line in text.splitlines() if line and not line.startswith("#"))

    batch()  # the fixed labels (and /metrics' own) exist from now on
    first = batch()
    assert batch() == first
    text = httpx.get(node.url + "/metrics", headers=bearer(ADMIN), timeout=10).text
    limited = [line for line in text.splitlines() if line.startswith("hanvoice_rate_limited_total")]
    assert limited and all(any(f'"{g}"' in line for g in ("/tts", "/v1", "/ws", "other"))
                           for line in limited)  # fmt: skip


# --- 7. links belong to their maker ---------------------------------------------------------
def test_links_are_random_and_owned(node: Node) -> None:
    mine = bearer(token(sub="maker"))
    r = post(node, mine, text="链接测试。", **{"return": "url"})
    assert r.status_code == 200, r.text
    link = r.json()["url"]
    again = post(node, mine, text="链接测试。", **{"return": "url"}).json()["url"]
    assert link != again  # not derived from the audio
    assert httpx.get(node.url + link, headers=mine).status_code == 200
    assert httpx.get(node.url + link, headers=bearer(token(sub="someone-else"))).status_code == 404
    assert httpx.get(node.url + link, headers=bearer(KEY_A)).status_code == 404


# --- 8. a config must be whole -------------------------------------------------------------
@pytest.mark.parametrize("content", ["", "filter_policy: reject\n", "rate_limit: [broken\n"])
def test_a_broken_config_keeps_the_last_good_one(node: Node, config: Path, content: str) -> None:
    admin = bearer(ADMIN)
    before = httpx.get(node.url + "/admin/config", headers=admin).json()
    good = config.read_text("utf-8")
    try:
        config.write_text(content, "utf-8")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            now = httpx.get(node.url + "/admin/config", headers=admin).json()
            if now["last_error"]:
                break
            time.sleep(0.2)
        assert now["last_error"] and now["version"] == before["version"]
        assert now["filter"]["words"] == before["filter"]["words"] > 0
        assert now["rate_limit"]["spec"] == f"{LIMIT}/minute"
        r = post(node, fresh(node), text="我有一个炸弹")
        assert r.status_code == 422  # the filter still holds
    finally:
        config.write_text(good, "utf-8")
        time.sleep(1)
    metrics = httpx.get(node.url + "/metrics", headers=admin).text
    assert 'hanvoice_config_reloads_total{result="refused",source="file"}' in metrics


# --- 9. least privilege ---------------------------------------------------------------------
def test_plain_keys_are_not_admin(node: Node) -> None:
    assert httpx.get(node.url + "/admin/config", headers=bearer(KEY_A)).status_code == 403
    assert httpx.get(node.url + "/admin/config", headers=bearer(ADMIN)).status_code == 200


def test_authenticated_audio_is_private(node: Node) -> None:
    r = httpx.get(node.url + "/tts", params={"text": "私有。"}, headers=fresh(node), timeout=60)
    assert r.status_code == 200 and r.headers["cache-control"].startswith("private")


# --- 10. the schema is the contract ---------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [{"text": "好", "stream": 0}, {"text": "好", "sample_rate": False}, {"text": ""},
     {"text": "好", "ssml": "yes"}, {"text": "好", "speed": "1"}],
)  # fmt: skip
def test_types_are_what_the_schema_says(node: Node, body: dict[str, Any]) -> None:
    r = post(node, fresh(node), **body)
    code = "empty_text" if body["text"] == "" else "invalid_request"
    assert r.status_code == 400 and r.json()["error"]["code"] == code


@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "PUT", "PATCH"])
def test_405_says_what_is_allowed(node: Node, method: str) -> None:
    r = httpx.request(method, node.url + "/tts", headers=fresh(node))
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "POST"}


# --- 4. failed credentials are limited per address (last: it blocks this address) --------
def test_failed_credentials_get_429(node: Node) -> None:
    statuses = [post(node, bearer(f"no-{i}"), text="好").status_code for i in range(FAILURES + 5)]
    wrong = statuses.index(429)  # failures before this test (unknown log spellings) count too
    assert 0 < wrong <= FAILURES and set(statuses[:wrong]) == {401}
    assert set(statuses[wrong:]) == {429}
    blocked = post(node, bearer(KEY_A), text="好")  # even a right key, until the window ends
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
