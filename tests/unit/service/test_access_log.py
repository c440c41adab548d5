"""The access log line: one JSON object per request, fields filled, nothing secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hanvoice.service import logging as hvlog
from hanvoice.service.clientip import parse_networks


async def synth(request: Request) -> Response:
    entry = hvlog.current()
    assert entry is not None
    entry.text_length, entry.emotion, entry.format, entry.cache = 5, "happy", "wav", "miss"
    entry.infer_time = 0.1234567
    entry.text = "你好世界啊"

    async def body() -> Iterator[bytes]:  # type: ignore[misc]
        yield b"RIFF"
        yield b"data"

    return StreamingResponse(body(), media_type="audio/wav")


async def bad(request: Request) -> Response:
    return JSONResponse({"error": {"code": "unknown_emotion", "message": "no"}}, 400)


async def boom(request: Request) -> Response:
    raise RuntimeError("bug")


async def plain(request: Request) -> Response:
    return PlainTextResponse("ok")


def make_app(log_text: bool = False, finished: list[hvlog.RequestLog] | None = None) -> Starlette:
    app = Starlette(
        routes=[
            Route("/tts/{x}", synth, methods=["POST"]),
            Route("/bad", bad),
            Route("/boom", boom),
            Route("/health", plain),
        ]
    )
    app.add_middleware(
        hvlog.AccessLogMiddleware,
        region="cn-test",
        trusted_proxies=parse_networks(["127.0.0.1"]),
        log_text=lambda: log_text,
        on_finish=(finished.append if finished is not None else None),
    )
    return app


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(hvlog.JsonFormatter())
    logger = logging.getLogger(hvlog.ACCESS_LOGGER)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield buf
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_synthesis_request_line() -> None:
    finished: list[hvlog.RequestLog] = []
    with TestClient(make_app(finished=finished)) as c:
        r = c.post("/tts/a?secret=1", headers={"Authorization": "Bearer sekrit"})
    assert r.status_code == 200 and len(r.headers["x-request-id"]) == 32
    (e,) = finished
    rec = e.record()
    assert rec["request_id"] == r.headers["x-request-id"]
    assert rec["route"] == "/tts/{x}" and rec["path"] == "/tts/a" and rec["status"] == 200
    assert rec["emotion"] == "happy" and rec["cache"] == "miss" and rec["infer_time"] == 0.1235
    assert rec["region"] == "cn-test" and rec["text_length"] == 5
    assert "text" not in rec  # raw text off by default
    assert "sekrit" not in json.dumps(rec) and "secret" not in json.dumps(rec)


def test_raw_text_only_when_asked() -> None:
    finished: list[hvlog.RequestLog] = []
    with TestClient(make_app(log_text=True, finished=finished)) as c:
        c.post("/tts/a")
    assert finished[0].record()["text"] == "你好世界啊"


def test_error_code_and_given_request_id() -> None:
    finished: list[hvlog.RequestLog] = []
    with TestClient(make_app(finished=finished)) as c:
        r = c.get("/bad", headers={"X-Request-ID": "abc-123"})
        r2 = c.get("/bad", headers={"X-Request-ID": "bad id with spaces\n"})
    assert r.headers["x-request-id"] == "abc-123"
    assert r2.headers["x-request-id"] != "bad id with spaces\n"
    assert finished[0].error == "unknown_emotion" and finished[0].status == 400


def test_unhandled_exception_still_logged() -> None:
    finished: list[hvlog.RequestLog] = []
    with TestClient(make_app(finished=finished), raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert finished[0].status == 500


def test_forwarded_for_from_trusted_proxy() -> None:
    finished: list[hvlog.RequestLog] = []
    with TestClient(make_app(finished=finished), client=("127.0.0.1", 5555)) as c:
        c.get("/health", headers={"X-Forwarded-For": "203.0.113.7"})
    with TestClient(make_app(finished=finished), client=("198.51.100.2", 5555)) as c:
        c.get("/health", headers={"X-Forwarded-For": "203.0.113.7"})
    assert [f.client_ip for f in finished] == ["203.0.113.7", "198.51.100.2"]


def test_access_lines_are_json(captured: io.StringIO) -> None:
    with TestClient(make_app()) as c:
        c.post("/tts/a")
        c.get("/health")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [(x["logger"], x["message"], x["status"]) for x in lines] == [
        ("hanvoice.access", "request", 200),
        ("hanvoice.access", "request", 200),
    ]
    first = lines[0]
    for key in ("timestamp", "client_ip", "text_length", "emotion", "infer_time", "status",
                "request_id", "region", "cache", "format"):  # fmt: skip
        assert key in first, key
    assert "emotion" not in lines[1]  # no synthesis fields on a probe


def test_formatter_output_is_one_json_object_per_line() -> None:
    rec = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "hello %s", "args": ("世界",), "status": 200}
    )
    line = hvlog.JsonFormatter().format(rec)
    data = json.loads(line)
    assert "\n" not in line
    assert data["message"] == "hello 世界" and data["status"] == 200 and data["level"] == "info"
    assert data["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            '"WebSocket /ws/tts?token=eyJ.a.b" [accepted]',
            '"WebSocket /ws/tts?token=***" [accepted]',
        ),
        ("GET /x?a=1&api_key=zzz&b=2", "GET /x?a=1&api_key=***&b=2"),
        ("Authorization: Bearer abc.def", "Authorization: ***"),
        (
            "auth header {'authorization': 'Bearer x'}",
            "auth header {'authorization': 'Bearer ***'}",
        ),
        ("/ws/tts?%74oken=s3cret", "/ws/tts?%74oken=***"),
        ("GET /x?text=你好&voice=baker", "GET /x?text=你好&voice=baker"),
        ("nothing to hide", "nothing to hide"),
    ],
)
def test_credentials_are_scrubbed_from_any_log_line(raw: str, clean: str) -> None:
    rec = logging.makeLogRecord({"msg": "%s", "args": (raw,)})
    assert hvlog.ScrubSecrets().filter(rec)
    assert rec.getMessage() == clean


SECRET_SPELLINGS = [
    "token", "TOKEN", "Token", "%74oken", "%54OKEN", "t%6Fken", "t%6fken", "%2574oken",
    "%252574oken", "access_token", "ACCESS_TOKEN", "api_key", "API%5FKEY", "api%5fkey", "apikey",
    "x-api-key", "X-Api-Key", "key", "jwt", "authorization", "password",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_SPELLINGS)
@pytest.mark.parametrize("lead", ["/ws/tts?", "/ws/tts?a=1&", "/x?b=2;", "GET /tts?text=好&"])
def test_every_spelling_of_a_secret_parameter_is_scrubbed(name: str, lead: str) -> None:
    line = f'"WebSocket {lead}{name}=s3cr3t-Value.x" 403'
    assert "s3cr3t" not in hvlog.scrub(line)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=5, max_size=5))
def test_any_percent_encoding_of_token_is_scrubbed(how: list[tuple[bool, bool]]) -> None:
    """Each letter of ``token`` upper or lower case, percent-encoded or not."""
    name = ""
    for c, (upper, encode) in zip("token", how, strict=True):
        c = c.upper() if upper else c
        name += f"%{ord(c):02X}" if encode else c
    assert "s3cr3t" not in hvlog.scrub(f"/ws/tts?{name}=s3cr3t")


def test_extra_fields_and_tracebacks_are_scrubbed() -> None:
    rec = logging.makeLogRecord({"msg": "dropped", "path": "/ws/tts?%74oken=s3cr3t"})
    assert "s3cr3t" not in hvlog.JsonFormatter().format(rec)
