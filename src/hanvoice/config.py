"""Service settings: one flat, documented object read from the environment and a YAML file.

Precedence, highest first: values passed in code (tests, ``hanvoice serve --port``),
``HANVOICE_*`` environment variables, the YAML file (``--config FILE`` or
``HANVOICE_CONFIG``), then the defaults below. The YAML keys are the field names::

    # hanvoice.yaml
    port: 5000
    workers: 2
    max_text_chars: 2000

Every field carries its own docstring (it is the documentation: ``hanvoice serve
--print-config`` and the README table come from it). Keep the object flat so features can add
fields without nesting; secrets belong in fields whose names end in ``_key``/``_secret``/
``_keys``/``_url`` and are masked by :meth:`Settings.public`.

Nothing here runs at import time: callers build ``Settings.load(...)`` when they need it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from hanvoice.errors import ConfigError

ENV_PREFIX = "HANVOICE_"
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
)
_SECRET_SUFFIXES = ("_key", "_keys", "_secret", "_password", "_token", "_url")

_config_file: ContextVar[Path | None] = ContextVar("hanvoice_config_file", default=None)


class _YamlSource(PydanticBaseSettingsSource):
    """Values from the YAML file named for this load (see :meth:`Settings.load`)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.path = _config_file.get()

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        return read_yaml(self.path) if self.path is not None else {}


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in ``path``; a clear :class:`ConfigError` for a missing or odd file."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of settings, not {type(data).__name__}"
        )
    return {str(k): v for k, v in data.items()}


class Settings(BaseSettings):
    """Everything an operator can set. Field docstrings are the documentation."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        use_attribute_docstrings=True,
        frozen=True,
    )

    # --- listening -------------------------------------------------------------------------
    host: str = "0.0.0.0"
    """Address to listen on; ``0.0.0.0`` as in a container (use ``127.0.0.1`` on a laptop
    to keep the service private)."""
    port: int = Field(5000, ge=1, le=65535)
    """TCP port (5000, as in the original design)."""
    config_file: Path | None = None
    """The YAML file these settings were read from (``--config`` / ``HANVOICE_CONFIG``)."""

    # --- voices ----------------------------------------------------------------------------
    voices_file: Path | None = None
    """YAML file listing extra voices (see README, "Other engines")."""
    default_voice: str = "baker"
    """Voice used when a request names none."""
    openai_voices: dict[str, str] = Field(default_factory=dict)
    """OpenAI voice name -> our voice id. Names not listed here map to the catalogue's pick
    among installed voices (``data/openai_voices.yaml``), else to ``default_voice``
    (alloy, echo, fable, onyx, nova, shimmer, ...); our own voice ids work as they are."""

    allowed_emotions: Annotated[tuple[str, ...], NoDecode] = ()
    """Emotions this node accepts (the original design's whitelist, e.g.
    ``neutral,happy,sad``); empty = every emotion the voice has."""

    # --- requests --------------------------------------------------------------------------
    max_text_chars: int = Field(5000, ge=1, le=1_000_000)
    """Longer texts are refused with 413 (the CLI has no limit)."""
    max_body_bytes: int = Field(1_000_000, ge=1024)
    """Request bodies larger than this are refused with 413 as soon as that many bytes have
    arrived (chunked or not), before they are parsed; also the largest WebSocket message."""
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    """The body limit of ``POST /v1/audio/transcriptions`` (an audio upload) instead of
    ``max_body_bytes``: 10 MB holds five minutes of 16 kHz WAV, an hour of MP3."""
    max_audio_seconds: float = Field(1800.0, gt=0)
    """Longest audio one request may make, estimated from its text, breaks, speed, emotion
    and SSML rate before any work (and exactly once the text is analysed); beyond it, 413.
    30 minutes holds an audiobook chapter of 5,000 characters read at speed 0.65."""
    max_answer_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    """Largest whole (not streamed) answer, estimated from its audio seconds, format and
    sample rate before any work; beyond it, 413 (a stream has no such bound: its bytes
    leave as they are made). 64 MB holds 22 minutes of 24 kHz WAV, hours of MP3."""
    max_buffered_bytes: int = Field(160 * 1024 * 1024, ge=0)
    """Bytes of whole answers the node may be making at once (their estimated sizes); a
    request that would go beyond gets 503 with ``Retry-After``. 0: no bound."""
    stream_first_clause: bool = False
    """When streaming, synthesize the first clause as a sentence of its own so audio starts
    sooner on engines that cannot hand out part of a segment. Off by default: the bundled
    voice sends a stream's first 0.3 s as soon as they are vocoded anyway (its lead window),
    and a split changes the first sentence's prosody, so a streamed answer would no longer
    be the same audio as the same request not streamed."""

    # --- speech to text (POST /v1/audio/transcriptions; needs the asr extra) ---------------
    transcriptions: bool = True
    """Serve speech recognition when the ``asr`` extra is installed. Whisper base is loaded
    on the first transcription (about 1 s, then ~290 MB resident), so a node that only
    speaks never pays for it; off, or not installed, transcription requests get 503."""
    max_transcription_seconds: float = Field(300.0, gt=0, le=86400)
    """Longest upload a transcription decodes: longer audio is refused with 413 while it is
    decoded, before recognition (a small compressed file can hold hours of audio)."""

    # --- concurrency -----------------------------------------------------------------------
    workers: int = Field(0, ge=0, le=256)
    """Cores the node's scheduler runs inference pieces on; 0 means one per CPU core.
    Inference never runs on the event loop."""
    max_backlog: float = Field(20.0, gt=0)
    """Seconds of work (estimated from each request's text) the node may have admitted and
    not yet done; a request that would take it past this gets 503 with a ``Retry-After``
    computed from the backlog, at once, instead of waiting. Keep it well under
    ``request_timeout``."""
    queue_size: int = Field(32, ge=0, le=10_000)
    """Requests in flight beyond one per core, whatever their size (a bound on memory;
    ``max_backlog`` bounds the work); beyond ``workers + queue_size`` a request gets 503."""
    request_timeout: float = Field(120.0, gt=0)
    """Seconds a request may take, queueing and sending included: a synthesis not done by
    then fails with 504; a stream still sending by then is cut off."""
    send_timeout: float = Field(30.0, gt=0)
    """Seconds a stream (HTTP or WebSocket) may wait for a client that stops reading; then
    the connection is closed and the request's slot and queued work are freed."""
    header_timeout: float = Field(15.0, gt=0)
    """Seconds a client has to send a request's line and headers (a connection that sends
    them slowly, or not at all, is closed: slowloris)."""
    max_header_bytes: int = Field(32 * 1024, ge=1024)
    """Largest request line plus headers; beyond it the connection gets 431 and is closed."""
    body_timeout: float = Field(30.0, gt=0)
    """Seconds a client has to send a request's whole body once its headers are in; then 408."""
    max_connections: int = Field(1000, ge=1)
    """Open connections at most (uvicorn's ``limit_concurrency``): beyond it new requests
    get 503 at once."""
    retry_after: int = Field(2, ge=1, le=3600)
    """Seconds sent in ``Retry-After`` with a degraded (read-only) node's 503; an
    overloaded node computes its own from the backlog."""
    drain_delay: float = Field(0.0, ge=0)
    """After SIGTERM, seconds to keep serving with ``/ready`` at 503 so load balancers stop
    sending traffic first (Kubernetes: a few seconds)."""
    drain_timeout: float = Field(60.0, ge=0)
    """After SIGTERM, longest wait for in-flight syntheses before the server stops."""

    # --- responses -------------------------------------------------------------------------
    http_max_age: int = Field(86400, ge=0)
    """``Cache-Control: public, max-age`` on ``GET /tts`` audio, for an edge cache or CDN.
    With auth on it is ``private`` unless ``edge_keys_on_credential``."""
    edge_keys_on_credential: bool = False
    """The edge cache in front keys on the credential (or authenticates before serving from
    cache), so ``GET /tts`` may say ``public`` with auth on too."""
    audio_url_ttl: int = Field(3600, ge=1)
    """Seconds a ``"return": "url"`` result stays downloadable at ``/audio/<id>.<ext>``."""
    audio_url_owner_only: bool = True
    """With auth on, a ``/audio/<id>`` link answers only the key or token subject that made
    it (anyone else: 404); off, anyone holding the (random, unguessable) link."""
    audio_store_bytes: int = Field(128 * 1024 * 1024, ge=0)
    """Memory for those results; the oldest are dropped first beyond it. One answer, and one
    identity's links together, may take a quarter of it at most (a larger answer: 413)."""
    web_page: bool = True
    """Serve the web page at ``/``."""

    # --- audio cache (see README, "Production settings") ------------------------------------
    cache_enabled: bool = True
    """Answer repeated requests from the audio cache (dynamic)."""
    cache_ttl: int = Field(86400, ge=1)
    """Seconds a cached response is kept (dynamic; applies to entries stored from then on)."""
    cache_memory_bytes: int = Field(128 * 1024 * 1024, ge=0)
    """Budget of the in-process LRU tier in bytes; 0 turns that tier off."""
    cache_max_entry_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    """Responses larger than this are not cached (in memory: also at most a quarter of
    ``cache_memory_bytes``), so one long text cannot evict every greeting."""
    redis_url: str | None = None
    """Redis shared by the replicas of a region, for the cache tier and the rate-limit counters
    (``redis://host:6379/0``). Unset: memory only, limits counted per process."""
    redis_timeout: float = Field(0.25, gt=0, le=10)
    """Socket timeout of each Redis call; a Redis slower than this is bypassed for a while
    (circuit breaker) instead of slowing every request down."""

    # --- auth ------------------------------------------------------------------------------
    api_keys: SecretStr | None = None
    """Comma list of API keys, or of ``sha256:<hex>`` digests of keys. Setting any API key
    or JWT key turns authentication on; it is off by default."""
    admin_api_keys: SecretStr | None = None
    """Comma list of keys (or ``sha256:<hex>`` digests) that also have the admin scope.
    Keys in ``api_keys`` have the synthesis scope only: admin is never implied."""
    api_keys_file: Path | None = None
    """File of key digests, one ``sha256:<hex> [name] [scope,scope]`` per line."""
    jwt_secret: SecretStr | None = None
    """Shared secret (32 bytes or more) for HS256 bearer JWTs."""
    jwt_public_key: str | None = None
    """PEM public key, or the path of a PEM file, for RS256 (RSA) or ES256 (P-256) JWTs."""
    jwt_audience: str | None = None
    """Required ``aud`` of JWTs (unset: not checked)."""
    jwt_issuer: str | None = None
    """Required ``iss`` of JWTs (unset: not checked)."""
    jwt_leeway: float = Field(30.0, ge=0, le=600)
    """Seconds of clock skew tolerated on ``exp`` and ``nbf``."""
    scope_synthesize: str = "tts"
    """Scope (JWT ``scope``/``scp``, or key-file column) needed by synthesis routes."""
    scope_admin: str = "admin"
    """Scope needed by ``/admin/...`` (and ``/metrics`` with ``metrics_auth``)."""
    metrics_auth: bool = False
    """Require the admin scope on ``/metrics`` (when auth is on)."""

    # --- rate limits -----------------------------------------------------------------------
    rate_limit: str = ""
    """Limits per API key / JWT subject, else per client address, e.g. ``100/hour;5/second``
    (dynamic); empty = none. Counted in Redis when ``redis_url`` is set."""
    rate_limit_strategy: Literal["moving-window", "fixed-window", "sliding-window-counter"] = (
        "moving-window"
    )
    """How requests are counted (the ``limits`` library's strategies)."""
    auth_failure_limit: str = "20/minute"
    """Failed credentials (401) allowed per client address, in the same notation; beyond it
    that address gets 429 with ``Retry-After`` for every credential it presents until the
    window has room (dynamic); empty = none. Counted in Redis when ``redis_url`` is set."""
    ws_max_lifetime: float = Field(3600.0, gt=0)
    """Seconds a WebSocket connection may stay open; then it is closed (1008) and the client
    connects again (with a fresh token). A JWT that expires closes it sooner."""
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    """Addresses or CIDR networks of our own proxies; ``X-Forwarded-For`` is believed only
    from them (comma list)."""

    # --- content filter --------------------------------------------------------------------
    filter_words_file: Path | None = None
    """Word list: YAML ``{category: [word, ...]}`` or text ``category<TAB>word`` lines;
    re-read when it changes."""
    filter_words: dict[str, list[str]] = Field(default_factory=dict)
    """More words by category, typically from etcd (dynamic)."""
    filter_policy: Literal["reject", "mask"] = "reject"
    """``reject``: 422 naming the category; ``mask``: the words are silenced (dynamic)."""
    filter_sound: bool = True
    """Match listed words by their sound too (toneless pinyin), so homophones, ``<phoneme>``
    readings and English names read as the word are caught; a list can turn it off per
    category (``{category: {words: [...], sound: false}}``) (dynamic)."""

    # --- logs ------------------------------------------------------------------------------
    log_format: Literal["json", "text"] = "json"
    """One JSON object per line (``json``) or plain text for a person at a terminal."""
    log_text: bool = False
    """Put the raw input text in the access log (off: only its length)."""

    # --- config center and degrade mode ----------------------------------------------------
    etcd_endpoints: Annotated[tuple[str, ...], NoDecode] = ()
    """etcd v3 endpoints (comma list of ``http://host:2379``); set to follow ``etcd_prefix``."""
    etcd_prefix: str = "/hanvoice/config/"
    """Key prefix watched in etcd; each key below it is one dynamic setting (YAML value)."""
    etcd_timeout: float = Field(1.0, gt=0, le=30)
    """Seconds per etcd request."""
    etcd_poll_interval: float = Field(2.0, gt=0, le=300)
    """Seconds between full reads of the prefix (heartbeat and safety net for the watch)."""
    config_poll_interval: float = Field(1.0, gt=0, le=300)
    """Seconds between checks of the config file and word list for changes."""
    degrade: bool = False
    """Read-only mode (dynamic): serve cached audio only; misses get 503 + ``Retry-After``."""

    # --- identity (shown by /version; compared across regions by ``hanvoice fleet``) -------
    build: str = "dev"
    """Image tag or build name."""
    commit: str = ""
    """Source commit the build came from."""
    image: str = Field("", pattern=r"^$|^[a-z0-9][a-z0-9._:/-]{0,254}@sha256:[0-9a-f]{64}$")
    """The image this node runs, by digest (``registry.cn-beijing.example.com/hanvoice/
    hanvoice@sha256:…``), set by whoever started it (the overlay, ``hanvoice fleet``'s
    rollout); ``/version`` reports it, so ``hanvoice fleet status`` can compare digests
    across regions and check each one's signature. Empty outside an image."""
    region: str = ""
    """Region this node serves (e.g. ``cn-beijing``)."""
    config_version: str = ""
    """Version of the active configuration; empty means a hash of these settings."""
    log_level: str = "info"
    """Logging level: debug, info, warning, error."""

    @field_validator("allowed_emotions", mode="before")
    @classmethod
    def _emotions(cls, v: Any) -> Any:
        if isinstance(v, str):  # "neutral, happy" from the environment
            v = [p for p in v.replace(";", ",").split(",")]
        if isinstance(v, list | tuple):
            return tuple(str(p).strip().lower() for p in v if str(p).strip())
        return v

    @field_validator("allowed_emotions")
    @classmethod
    def _known_emotions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        """A name that is no emotion would silently allow nothing of it (a typo in a
        whitelist): refused like any other bad value."""
        from hanvoice.emotion import EmotionPresets

        presets = EmotionPresets.load()
        known = {*presets.names, *presets.aliases}
        unknown = [e for e in v if e not in known]
        if unknown:
            raise ValueError(
                f"unknown emotion(s) {', '.join(unknown)}; known: {', '.join(presets.names)}"
            )
        return v

    @field_validator("trusted_proxies", "etcd_endpoints", mode="before")
    @classmethod
    def _comma_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.split(",")
        if isinstance(v, list | tuple):
            return tuple(str(p).strip() for p in v if str(p).strip())
        return v

    @field_validator("rate_limit", "auth_failure_limit")
    @classmethod
    def _rate_limit(cls, v: str) -> str:
        from limits import parse_many

        v = v.strip()
        if v:
            try:
                parse_many(v)
            except ValueError:
                raise ValueError("write limits like '100/hour;5/second'") from None
        return v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in ("debug", "info", "warning", "error", "critical"):
            raise ValueError("must be one of debug, info, warning, error, critical")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @classmethod
    def load(cls, config_file: str | Path | None = None, **overrides: Any) -> Settings:
        """Settings from code, the environment and the YAML file, validated.

        Raises :class:`ConfigError` naming the bad key, its source and why, e.g.
        ``invalid setting port (HANVOICE_PORT / port in hanvoice.yaml): Input should be less
        than or equal to 65535, got 70000``.
        """
        path = config_file or os.environ.get(f"{ENV_PREFIX}CONFIG") or None
        file = Path(path) if path else None
        if file is not None:
            read_yaml(file)  # fail early and clearly on a missing or malformed file
            overrides.setdefault("config_file", file)
        with _reading(file):
            try:
                return cls(**{k: v for k, v in overrides.items() if v is not None})
            except ValidationError as exc:
                raise ConfigError(describe(exc, file)) from None

    @property
    def worker_count(self) -> int:
        """Inference threads actually used."""
        return self.workers or os.cpu_count() or 1

    @property
    def active_config_version(self) -> str:
        """``config_version`` or, when unset, a short hash of what shapes the answers.

        Left out: the node's identity, where it listens, which servers it talks to, its
        secrets and its sizing. Two nodes (or regions) that would give the same answers then
        report the same version, so the edge cache can revalidate across them (the version
        is part of the ETag) and fleet checks see real drift only.
        """
        if self.config_version:
            return self.config_version
        skip = {
            *("build", "commit", "image", "region", "config_version", "config_file"),
            "voices_file",
            *("host", "port", "redis_url", "etcd_endpoints", "etcd_prefix"),
            *("api_keys", "admin_api_keys", "api_keys_file", "jwt_secret", "jwt_public_key"),
            "filter_words_file",
            *("workers", "queue_size", "max_backlog", "audio_store_bytes", "cache_memory_bytes"),
        }
        data = self.model_dump(mode="json", exclude=skip)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    def public(self) -> dict[str, Any]:
        """The settings as JSON-able data with secrets masked (for logs and debugging)."""
        out = self.model_dump(mode="json")
        for k, v in out.items():
            if v and k.endswith(_SECRET_SUFFIXES):
                out[k] = "***"
        return out


@contextmanager
def _reading(path: Path | None) -> Iterator[None]:
    token = _config_file.set(path)
    try:
        yield
    finally:
        _config_file.reset(token)


def describe(exc: ValidationError, file: Path | None = None) -> str:
    """One line per bad key: which key, where it can come from, why, and the value seen."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "?"
        top = str(err["loc"][0]) if err["loc"] else key
        where = f"{ENV_PREFIX}{top.upper()}" + (f" / {top} in {file}" if file else "")
        value = err.get("input")
        got = "" if err["type"] == "extra_forbidden" else f", got {value!r}"
        reason = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"invalid setting {key} ({where}): {reason}{got}")
    return "; ".join(lines)


def documented_fields() -> list[tuple[str, str, str]]:
    """(environment variable, default, docstring) for every setting: the README table."""
    out = []
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        out.append((f"{ENV_PREFIX}{name.upper()}", repr(default), info.description or ""))
    return out
