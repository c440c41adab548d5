"""Auth and rate limits on two real nodes sharing one Redis: API keys (plain and hashed
file), JWTs (HS256 and RS256) good, expired, wrong audience, wrong signature; 401/403 with
``WWW-Authenticate``; limits per key shared by both nodes; nothing secret in the logs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prod_server import Node, start_node
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from support.servers import RedisServer

SECRET = "integration-test-secret-0123456789abcdef"
RSA_KEY = rsa.generate_private_key(65537, 2048)
TEXT = "认证测试。"


def token(key: Any = SECRET, alg: str = "HS256", **over: Any) -> str:
    # Parametrized tokens are made at collection time; a whole CI run takes longer than a
    # short lifetime, so good tokens live for hours (CI is bounded at 90 minutes).
    now = int(time.time())
    claims = {"sub": "alice", "aud": "hanvoice-api", "iss": "https://idp.example",
              "exp": now + 4 * 3600, "nbf": now - 5, "scope": "tts"}  # fmt: skip
    claims.update(over)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=alg)


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture(scope="module")
def nodes(redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    d = tmp_path_factory.mktemp("auth-nodes")
    keys = d / "keys.txt"
    keys.write_text(
        f"sha256:{hashlib.sha256(b'mobile-key').hexdigest()} mobile tts\n"
        f"sha256:{hashlib.sha256(b'rate-key').hexdigest()} ratetest tts\n",
        "utf-8",
    )
    pem = d / "jwt.pem"
    pem.write_bytes(
        RSA_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = {
        "redis_url": redis.url,
        "admin_api_keys": "ops-key-1,ops-key-2",  # admin is explicit (plain keys: tts only)
        "api_keys_file": keys,
        "jwt_secret": SECRET,
        "jwt_public_key": pem,
        "jwt_audience": "hanvoice-api",
        "jwt_issuer": "https://idp.example",
        "jwt_leeway": 0,
        "metrics_auth": "true",
        "rate_limit": "4/minute;100/hour",
    }
    started = [start_node(d, **settings), start_node(d, **settings)]
    yield started
    for n in started:
        n.stop()


def post(node: Node, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(node.url + "/tts", json={"text": TEXT}, headers=headers, timeout=60)


def test_probes_stay_open(nodes: list[Node]) -> None:
    for path in ("/health", "/ready", "/version"):
        assert httpx.get(nodes[0].url + path, timeout=10).status_code == 200, path


@pytest.mark.parametrize(
    ("credential", "reason"),
    [
        (None, None),
        (token(exp=int(time.time()) - 60), "expired"),
        (token(aud="someone-else"), "audience"),
        (token(iss="https://evil.example"), "issuer"),
        (token(nbf=int(time.time()) + 3600), "not yet valid"),
        (token("another-secret-of-sufficient-length-000"), "signature"),
        (token(RSA_KEY, "RS256", scope="tts")[:-6] + "AAAAAA", "signature"),
        (token(rsa.generate_private_key(65537, 2048), "RS256"), "signature"),
        ("not-a-key", "unknown API key"),
    ],
)
def test_bad_credentials_get_401(nodes: list[Node], credential: str | None, reason: str) -> None:
    r = post(nodes[0], bearer(credential) if credential else {})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="hanvoice"')
    if reason:
        assert 'error="invalid_token"' in challenge and reason in challenge


@pytest.mark.parametrize(
    "headers",
    [
        bearer(token()),
        bearer(token(RSA_KEY, "RS256")),
        bearer("ops-key-1"),
        {"X-API-Key": "mobile-key"},
    ],
)
def test_good_credentials(nodes: list[Node], headers: dict[str, str]) -> None:
    r = post(nodes[1], headers)
    assert r.status_code == 200, r.text


def test_scopes_guard_metrics_and_admin(nodes: list[Node]) -> None:
    n = nodes[0]
    assert httpx.get(n.url + "/metrics", timeout=10).status_code == 401
    for cred in (token(), "mobile-key"):  # synthesis scope only
        r = httpx.get(n.url + "/metrics", headers=bearer(cred), timeout=10)
        assert (
            r.status_code == 403 and 'error="insufficient_scope"' in r.headers["www-authenticate"]
        )
        assert r.json()["error"]["code"] == "forbidden"
    for cred in (token(scope="tts admin"), "ops-key-2"):
        r = httpx.get(n.url + "/metrics", headers=bearer(cred), timeout=10)
        assert r.status_code == 200 and "hanvoice_auth_failures_total" in r.text
    assert (
        httpx.get(n.url + "/admin/config", headers=bearer(token()), timeout=10).status_code == 403
    )
    cfg = httpx.get(n.url + "/admin/config", headers=bearer("ops-key-1"), timeout=10).json()
    assert cfg["auth"] is True
    assert (
        cfg["settings"]["jwt_secret"] != SECRET and cfg["settings"]["admin_api_keys"] != "ops-key-1"
    )


def test_websocket_needs_a_credential(nodes: list[Node]) -> None:
    ws_url = nodes[0].url.replace("http", "ws") + "/ws/tts"
    with pytest.raises(InvalidStatus):
        connect(ws_url, open_timeout=10).close()
    with connect(ws_url + "?token=" + token(), open_timeout=10) as ws:
        ws.send('{"text": "你好。"}')
        start = ws.recv(timeout=60)
        audio = ws.recv(timeout=60)
        assert isinstance(start, str) and '"start"' in start
        assert isinstance(audio, bytes) and len(audio) > 100


def test_rate_limit_per_key_shared_by_two_nodes(nodes: list[Node]) -> None:
    codes = []
    for i in range(6):
        r = post(nodes[i % 2], bearer("rate-key"))
        codes.append(r.status_code)
        if r.status_code == 429:
            assert r.json()["error"]["code"] == "rate_limited"
            assert int(r.headers["retry-after"]) >= 1
            assert r.headers["x-ratelimit-limit"] == "4"
            assert r.headers["x-ratelimit-remaining"] == "0"
    assert codes == [200, 200, 200, 200, 429, 429]
    # other callers have their own counters
    assert post(nodes[0], bearer(token(sub="bob"))).status_code == 200
    assert post(nodes[1], bearer("ops-key-2")).status_code == 200


def test_logs_name_the_caller_never_the_secret(nodes: list[Node]) -> None:
    for n in nodes:
        raw = n.output()
        for secret in ("ops-key-1", "mobile-key", "rate-key", SECRET, token()[:40]):
            assert secret not in raw
        principals = {x.get("principal") for x in n.access()}
        assert "api_key:ratetest" in principals or "api_key:mobile" in principals
        errors = {x.get("error") for x in n.access()}
        assert "unauthorized" in errors or "rate_limited" in errors


def test_key_file_path_is_not_a_secret_leak(nodes: list[Node], tmp_path: Path) -> None:
    """The effective settings print masks secrets."""
    cfg = httpx.get(nodes[1].url + "/admin/config", headers=bearer("ops-key-1"), timeout=10)
    assert "ops-key" not in cfg.text and SECRET not in cfg.text
