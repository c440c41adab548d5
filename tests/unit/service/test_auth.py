"""API keys and JWTs: every way a credential can be wrong gets 401 with a reason."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hanvoice.errors import Forbidden, InvalidParameter, Unauthorized
from hanvoice.service.auth import (
    ANONYMOUS,
    ApiKeys,
    Authenticator,
    JwtVerifier,
    credential_from,
)

SECRET = "s" * 40
OTHER = "o" * 40


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "alice", "aud": "hanvoice", "iss": "https://idp", "exp": now + 60,
            "scope": "tts"}  # fmt: skip
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def hs(**over: Any) -> str:
    return jwt.encode(claims(**over), SECRET, algorithm="HS256")


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator(
        ApiKeys.parse(
            "k-plain-1,sha256:" + hashlib.sha256(b"k-hashed").hexdigest(), admin="k-admin-1"
        ),
        JwtVerifier(secret=SECRET, audience="hanvoice", issuer="https://idp", leeway=0),
    )


def test_good_jwt(auth: Authenticator) -> None:
    p = auth.authorize("/tts", hs())
    assert p.kind == "jwt" and p.subject == "alice" and p.rate_key == "jwt:alice"


# Tokens are made when the test runs, not when it is collected: a full suite takes minutes,
# longer than the 60 s these tokens live.
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: hs(exp=int(time.time()) - 10), "expired"),
        (lambda: hs(nbf=int(time.time()) + 600), "not yet valid"),
        (lambda: hs(aud="someone-else"), "audience"),
        (lambda: hs(iss="https://evil"), "issuer"),
        (lambda: hs(exp=None), "'exp'"),
        (lambda: jwt.encode(claims(), OTHER, algorithm="HS256"), "signature"),
        (lambda: hs()[:-4] + "AAAA", "signature"),
        (lambda: jwt.encode(claims(), None, algorithm="none"), "algorithm"),
        (lambda: "not.a.jwt", "malformed"),
        (lambda: "garbage", "unknown API key"),
    ],
    ids=[
        "expired",
        "nbf",
        "audience",
        "issuer",
        "no-exp",
        "other-key",
        "tampered",
        "alg-none",
        "malformed",
        "unknown-key",
    ],
)
def test_bad_jwts_are_401_with_a_reason(
    auth: Authenticator, make: Callable[[], str], reason: str
) -> None:
    with pytest.raises(Unauthorized) as info:
        auth.authorize("/tts", make())
    assert reason in info.value.message
    challenge = info.value.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="hanvoice"') and 'error="invalid_token"' in challenge


def test_missing_credential(auth: Authenticator) -> None:
    with pytest.raises(Unauthorized) as info:
        auth.authorize("/v1/audio/speech", "")
    assert info.value.headers["WWW-Authenticate"] == 'Bearer realm="hanvoice"'


@pytest.mark.parametrize("key", ["k-plain-1", "k-hashed"])
def test_api_keys(auth: Authenticator, key: str) -> None:
    p = auth.authorize("/tts", key)
    assert p.kind == "api_key" and p.rate_key and "k-" not in p.subject  # never the key itself


def test_scopes(auth: Authenticator) -> None:
    assert auth.authorize("/tts", "k-plain-1").kind == "api_key"
    with pytest.raises(Forbidden):  # a key without scopes: synthesis only, never admin
        auth.authorize("/admin/reload", "k-plain-1")
    assert auth.authorize("/admin/reload", "k-admin-1").kind == "api_key"  # admin: explicit
    assert auth.authorize("/tts", "k-admin-1").kind == "api_key"
    with pytest.raises(Forbidden) as info:
        auth.authorize("/admin/reload", hs())
    assert 'error="insufficient_scope"' in info.value.headers["WWW-Authenticate"]
    assert auth.authorize("/admin/reload", hs(scope="tts admin")).kind == "jwt"
    assert auth.authorize("/tts", hs(scope=None, scp=["tts"])).kind == "jwt"
    with pytest.raises(Forbidden):
        auth.authorize("/tts", hs(scope="other"))


@pytest.mark.parametrize(
    ("path", "protect_metrics", "needs"),
    [
        ("/health", False, None),
        ("/ready", True, None),
        ("/", False, None),
        ("/version", False, None),
        ("/metrics", False, None),
        ("/metrics", True, "admin"),
        ("/tts", False, "tts"),
        ("/v1/audio/speech", False, "tts"),
        ("/ws/tts", False, "tts"),
        ("/admin/config", False, "admin"),
        ("/healthz", False, "tts"),  # not a prefix match
    ],
)
def test_which_paths_are_open(path: str, protect_metrics: bool, needs: str | None) -> None:
    a = Authenticator(ApiKeys.parse("k"), protect_metrics=protect_metrics)
    assert a.required_scope(path) == needs


def test_off_by_default() -> None:
    a = Authenticator(ApiKeys.parse(""), JwtVerifier())
    assert not a.enabled
    assert a.authorize("/tts", "") is ANONYMOUS and ANONYMOUS.rate_key is None


def new_key(kind: str) -> Any:
    if kind == "rsa":
        return rsa.generate_private_key(65537, 2048)
    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_public_key_jwts(tmp_path: Path, kind: str) -> None:
    priv: Any = (
        rsa.generate_private_key(65537, 2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    alg = "RS256" if kind == "rsa" else "ES256"
    pem = priv.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "pub.pem"
    path.write_bytes(pem)
    a = Authenticator(jwt_verifier=JwtVerifier(public_key=str(path), audience="hanvoice"))
    assert a.authorize("/tts", jwt.encode(claims(), priv, algorithm=alg)).subject == "alice"
    # the classic confusion: an HS256 token "signed" with the public key text
    forged = jwt.api_jws.PyJWS().encode(  # bypasses PyJWT's own refusal to do this
        b'{"sub":"mallory","exp":9999999999,"aud":"hanvoice","scope":"tts admin"}',
        pem.decode().replace("\n", "").encode()[:32] * 2,
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized, match="algorithm"):
        a.authorize("/tts", forged)
    # signed by another key pair
    other: Any = (
        rsa.generate_private_key(65537, 2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    with pytest.raises(Unauthorized, match="signature"):
        a.authorize("/tts", jwt.encode(claims(), other, algorithm=alg))


def test_key_file(tmp_path: Path) -> None:
    f = tmp_path / "keys"
    d1 = hashlib.sha256(b"alpha").hexdigest()
    d2 = hashlib.sha256(b"beta").hexdigest()
    f.write_text(f"# team keys\nsha256:{d1} mobile tts\n{d2} ops tts,admin  # on-call\n\n", "utf-8")
    a = Authenticator(ApiKeys.parse(file=f))
    assert a.authorize("/tts", "alpha").subject == "mobile"
    with pytest.raises(Forbidden):
        a.authorize("/admin/x", "alpha")
    assert a.authorize("/admin/x", "beta").subject == "ops"
    with pytest.raises(Unauthorized):
        a.authorize("/tts", "gamma")


@pytest.mark.parametrize(
    ("content", "match"), [("sha256:abc\n", "line 1"), ("x y z\n", "64 hex digits")]
)
def test_bad_key_files(tmp_path: Path, content: str, match: str) -> None:
    f = tmp_path / "keys"
    f.write_text(content, "utf-8")
    with pytest.raises(InvalidParameter, match=match):
        ApiKeys.parse(file=f)


def test_short_hs256_secret_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="32 bytes"):
        JwtVerifier(secret="short")


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"authorization": "Bearer abc"}, None, "abc"),
        ({"authorization": "bearer  abc "}, None, "abc"),
        ({"authorization": "Basic abc"}, None, ""),
        ({"x-api-key": "k"}, None, "k"),
        ({}, {"token": "t"}, "t"),
        ({}, None, ""),
    ],
)
def test_credential_from(
    headers: dict[str, str], query: dict[str, str] | None, expected: str
) -> None:
    assert credential_from(headers, query) == expected
