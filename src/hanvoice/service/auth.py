"""Who is calling: API keys and JWTs, checked before any work is done.

Off by default (a laptop run needs no credential). When API keys or a JWT key are configured,
every route needs ``Authorization: Bearer <key or token>`` (or ``X-API-Key``) except the
probes and the page; ``/metrics`` only when ``metrics_auth`` is on; ``/admin/...`` needs the
admin scope.

API keys are compared as SHA-256 digests with :func:`hmac.compare_digest` against *every*
configured key, so neither the time taken nor an early exit tells which prefix was right; the
key file holds digests only (``sha256:<hex> [name] [scope,scope]``), so a leaked file gives no
working key. JWTs are verified with PyJWT: HS256 with a shared secret, or RS256/ES256 with a
public key; the algorithm must match the kind of key (no HS256 token signed with the public
key, no ``none``); ``exp`` is required, ``nbf``, ``aud`` and ``iss`` are checked. Scopes come
from ``scope`` (space separated, OAuth 2) or ``scp``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from hanvoice.errors import Forbidden, InvalidParameter, Unauthorized

SCOPE_SYNTHESIZE = "tts"
SCOPE_ADMIN = "admin"
REALM = "hanvoice"

OPEN_PATHS = frozenset({"/health", "/ready", "/", "/favicon.ico", "/version"})
OPEN_PREFIXES = ("/web/", "/static/")


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["anonymous", "api_key", "jwt"]
    subject: str = ""
    """Key name (or the first 12 hex digits of its digest) or the JWT ``sub``."""
    scopes: frozenset[str] = field(default_factory=frozenset)
    expires: float | None = None
    """When the credential stops being valid (a JWT's ``exp``); ``None``: it does not."""

    @property
    def rate_key(self) -> str | None:
        """Identity rate limits count against; ``None`` means "use the client address"."""
        if self.kind == "anonymous" or not self.subject:
            return None
        return f"{self.kind}:{self.subject}"


ANONYMOUS = Principal("anonymous")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class KeyEntry:
    digest: bytes
    name: str
    scopes: frozenset[str] | None = None
    """``None``: the synthesis scope only (least privilege: admin is always explicit)."""


class ApiKeys:
    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self.entries = tuple(entries)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def parse(
        cls,
        plain: str | None = None,
        file: Path | None = None,
        admin: str | None = None,
        admin_scopes: frozenset[str] = frozenset({SCOPE_SYNTHESIZE, SCOPE_ADMIN}),
    ) -> ApiKeys:
        """Keys from a comma list (plain keys, or ``sha256:<hex>`` digests), admin keys from
        another (``admin_scopes``), and a file of digests, one ``sha256:<hex> [name]
        [scope,scope]`` per line. A key given no scopes has the synthesis scope only."""
        entries: list[KeyEntry] = []
        for items, scopes in ((plain, None), (admin, admin_scopes)):
            for item in (items or "").split(","):
                item = item.strip()
                if item:
                    digest = _parse_digest(item) if item.startswith("sha256:") else _digest(item)
                    entries.append(KeyEntry(digest, digest.hex()[:12], scopes))
        if file is not None:
            try:
                lines = file.read_text("utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidParameter(f"cannot read API key file {file}: {exc}") from exc
            for n, line in enumerate(lines, 1):
                parts = line.split("#", 1)[0].split()
                if not parts:
                    continue
                try:
                    digest = _parse_digest(parts[0])
                except InvalidParameter as exc:
                    raise InvalidParameter(f"{file} line {n}: {exc.message}") from None
                name = parts[1] if len(parts) > 1 else digest.hex()[:12]
                scopes = frozenset(parts[2].split(",")) if len(parts) > 2 else None
                entries.append(KeyEntry(digest, name, scopes))
        return cls(entries)

    def check(self, presented: str) -> KeyEntry | None:
        """The entry ``presented`` matches, comparing against all of them in constant time."""
        digest = _digest(presented)
        found: KeyEntry | None = None
        for entry in self.entries:
            if hmac.compare_digest(digest, entry.digest):
                found = entry
        return found


def _parse_digest(text: str) -> bytes:
    hexpart = text.removeprefix("sha256:")
    try:
        raw = bytes.fromhex(hexpart)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidParameter("an API key digest must be sha256: and 64 hex digits")
    return raw


class JwtVerifier:
    """Verifies bearer JWTs with the one key configured for each algorithm family."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        public_key: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: float = 30.0,
    ) -> None:
        self.keys: dict[str, Any] = {}
        if secret:
            if len(secret.encode()) < 32:
                raise InvalidParameter("jwt_secret must be at least 32 bytes for HS256")
            self.keys["HS256"] = secret
        if public_key:
            pem = _read_pem(public_key)
            try:
                key = load_pem_public_key(pem)
            except ValueError as exc:
                raise InvalidParameter(f"jwt_public_key is not a PEM public key: {exc}") from None
            if isinstance(key, rsa.RSAPublicKey):
                self.keys["RS256"] = key
            elif isinstance(key, ec.EllipticCurvePublicKey):
                self.keys["ES256"] = key
            else:
                raise InvalidParameter("jwt_public_key must be an RSA or EC (P-256) public key")
        self.audience = audience or None
        self.issuer = issuer or None
        self.leeway = leeway

    def verify(self, token: str) -> Principal:
        try:
            alg = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            raise _bad_token("malformed token") from None
        key = self.keys.get(str(alg))
        if key is None:
            raise _bad_token(f"token algorithm {alg!r} is not accepted here")
        try:
            claims: Mapping[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(alg)],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise _bad_token("token expired") from None
        except jwt.ImmatureSignatureError:
            raise _bad_token("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise _bad_token("token audience is wrong") from None
        except jwt.InvalidIssuerError:
            raise _bad_token("token issuer is wrong") from None
        except jwt.InvalidSignatureError:
            raise _bad_token("token signature is not valid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _bad_token(f"token has no {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise _bad_token("token is not valid") from None
        exp = claims.get("exp")
        expires = float(exp) + self.leeway if isinstance(exp, int | float) else None
        return Principal("jwt", str(claims.get("sub") or ""), _scopes(claims), expires)


def _read_pem(value: str) -> bytes:
    """The PEM text itself, or the path of a file holding it."""
    if "-----BEGIN" in value:
        return value.encode()
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise InvalidParameter(f"cannot read jwt_public_key file {value}: {exc}") from exc


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    raw = claims.get("scope", claims.get("scp", ()))
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list | tuple):
        return frozenset(str(s) for s in raw)
    return frozenset()


def _challenge(error: str | None = None, description: str = "", scope: str = "") -> str:
    parts = [f'Bearer realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return ", ".join(parts)


def _bad_token(reason: str) -> Unauthorized:
    return Unauthorized(
        f"invalid credential: {reason}",
        {"WWW-Authenticate": _challenge("invalid_token", reason)},
    )


class Authenticator:
    """Decides, per path, whether a request may go on and as whom."""

    def __init__(
        self,
        api_keys: ApiKeys | None = None,
        jwt_verifier: JwtVerifier | None = None,
        *,
        protect_metrics: bool = False,
        scope_synthesize: str = SCOPE_SYNTHESIZE,
        scope_admin: str = SCOPE_ADMIN,
    ) -> None:
        self.api_keys = api_keys if api_keys and len(api_keys) else None
        self.jwt = jwt_verifier if jwt_verifier and jwt_verifier.keys else None
        self.protect_metrics = protect_metrics
        self.scope_synthesize = scope_synthesize
        self.scope_admin = scope_admin

    @property
    def enabled(self) -> bool:
        return self.api_keys is not None or self.jwt is not None

    def required_scope(self, path: str) -> str | None:
        """The scope ``path`` needs, or ``None`` when it is open to everyone."""
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return None
        if path == "/metrics":
            return self.scope_admin if self.protect_metrics else None
        if path == "/admin" or path.startswith("/admin/"):
            return self.scope_admin
        return self.scope_synthesize

    def authenticate(self, credential: str | None) -> Principal:
        """The caller behind ``credential`` (a bearer token or API key); raises Unauthorized."""
        if not credential:
            raise Unauthorized(
                "a credential is required: Authorization: Bearer <key or token>",
                {"WWW-Authenticate": _challenge()},
            )
        if self.api_keys is not None:
            entry = self.api_keys.check(credential)
            if entry is not None:
                scopes = entry.scopes
                if scopes is None:
                    scopes = frozenset({self.scope_synthesize})
                return Principal("api_key", entry.name, scopes)
        if self.jwt is not None and credential.count(".") == 2:
            return self.jwt.verify(credential)
        raise _bad_token("unknown API key" if self.api_keys else "malformed token")

    def authorize(self, path: str, credential: str | None) -> Principal:
        """Authenticate when ``path`` needs it and check the scope; raises 401/403 errors."""
        scope = self.required_scope(path) if self.enabled else None
        if scope is None:
            return ANONYMOUS
        principal = self.authenticate(credential)
        if scope not in principal.scopes:
            raise Forbidden(
                f"this credential lacks the {scope!r} scope",
                {"WWW-Authenticate": _challenge("insufficient_scope", scope=scope)},
            )
        return principal


def credential_from(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> str:
    """The presented credential: ``Authorization: Bearer``, else ``X-API-Key``, else (for
    WebSockets, where browsers cannot set headers) the ``token`` query parameter."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    if query is not None:
        return query.get("token", "").strip()
    return ""
