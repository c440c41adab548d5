"""Every class of client mistake: a 4xx with a JSON error body, never a 500 or a hang."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

OK = {"text": "你好"}
SPEECH = {"model": "tts-1", "input": "你好", "voice": "alloy"}

# (name, method, path, body or raw bytes, content type, status, code)
CASES: list[tuple[str, str, str, Any, str, int, str]] = [
    ("empty text", "POST", "/tts", {"text": ""}, "application/json", 400, "empty_text"),
    ("blank text", "POST", "/tts", {"text": "  \n "}, "application/json", 400, "empty_text"),
    (
        "nothing speakable",
        "POST",
        "/tts",
        {"text": "？！……"},
        "application/json",
        400,
        "empty_text",
    ),
    (
        "text too long",
        "POST",
        "/tts",
        {"text": "好" * 5001},
        "application/json",
        413,
        "text_too_long",
    ),
    (
        "unknown emotion",
        "POST",
        "/tts",
        {**OK, "emotion": "joyful"},
        "application/json",
        400,
        "unknown_emotion",
    ),
    (
        "unknown voice",
        "POST",
        "/tts",
        {**OK, "voice": "nobody"},
        "application/json",
        404,
        "voice_not_found",
    ),
    (
        "speed too high",
        "POST",
        "/tts",
        {**OK, "speed": 9},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "pitch too low",
        "POST",
        "/tts",
        {**OK, "pitch": -60},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "intensity negative",
        "POST",
        "/tts",
        {**OK, "intensity": -1},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "volume as text",
        "POST",
        "/tts",
        {**OK, "volume": "loud"},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "bad sample rate",
        "POST",
        "/tts",
        {**OK, "sample_rate": 12345},
        "application/json",
        400,
        "invalid_parameter",
    ),
    (
        "opus at 22050",
        "POST",
        "/tts",
        {**OK, "format": "opus", "sample_rate": 22050},
        "application/json",
        400,
        "invalid_parameter",
    ),
    (
        "unknown format",
        "POST",
        "/tts",
        {**OK, "format": "m4a"},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "unknown return",
        "POST",
        "/tts",
        {**OK, "return": "email"},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "unknown field",
        "POST",
        "/tts",
        {**OK, "emotoin": "happy"},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "missing text",
        "POST",
        "/tts",
        {"emotion": "happy"},
        "application/json",
        400,
        "invalid_request",
    ),
    ("text not a string", "POST", "/tts", {"text": 42}, "application/json", 400, "invalid_request"),
    ("body is a list", "POST", "/tts", [1, 2], "application/json", 400, "invalid_request"),
    (
        "malformed JSON",
        "POST",
        "/tts",
        b'{"text": "\xe4\xbd',
        "application/json",
        400,
        "invalid_json",
    ),
    ("not JSON at all", "POST", "/tts", b"text=hello", "application/json", 400, "invalid_json"),
    ("empty body", "POST", "/tts", b"", "application/json", 400, "invalid_request"),
    (
        "form content type",
        "POST",
        "/tts",
        b"text=hi",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    ("no content type", "POST", "/tts", b'{"text": "hi"}', "", 415, "unsupported_media_type"),
    ("text/plain", "POST", "/tts", b'{"text": "hi"}', "text/plain", 415, "unsupported_media_type"),
    (
        "invalid SSML",
        "POST",
        "/tts",
        {"text": "<speak><prosody>你好</speak>", "ssml": True},
        "application/json",
        400,
        "invalid_ssml",
    ),
    (
        "huge body",
        "POST",
        "/tts",
        b"{" + b" " * 2_000_000 + b"}",
        "application/json",
        413,
        "body_too_large",
    ),
    (
        "openai unknown voice",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "voice": "darth"},
        "application/json",
        404,
        "voice_not_found",
    ),
    (
        "openai unknown model",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "model": "gpt-9"},
        "application/json",
        404,
        "model_not_found",
    ),
    (
        "openai bad format",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "response_format": "ogg"},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "openai speed 4",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "speed": 4.0},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "openai empty input",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "input": ""},
        "application/json",
        400,
        "empty_text",
    ),
    (
        "openai missing input",
        "POST",
        "/v1/audio/speech",
        {"model": "tts-1", "voice": "alloy"},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "openai sse not streamed",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "stream_format": "sse", "stream": False},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "openai unknown stream format",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "stream_format": "ws"},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "openai stream not a boolean",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "stream": "no"},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "openai instructions too long",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "instructions": "慢" * 4097},
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "openai streamed text that says nothing",
        "POST",
        "/v1/audio/speech",
        {**SPEECH, "input": "？！……", "instructions": "开心"},
        "application/json",
        400,
        "empty_text",
    ),
    ("get empty text", "GET", "/tts?text=", None, "", 400, "empty_text"),
    ("get no text", "GET", "/tts", None, "", 400, "invalid_request"),
    ("get bad emotion", "GET", "/tts?text=%E4%BD%A0&emotion=joy", None, "", 400, "unknown_emotion"),
    ("get bad speed", "GET", "/tts?text=%E4%BD%A0&speed=fast", None, "", 400, "invalid_request"),
    (
        "get unknown param",
        "GET",
        "/tts?text=%E4%BD%A0&colour=red",
        None,
        "",
        400,
        "invalid_request",
    ),
    (
        "stream bad emotion",
        "POST",
        "/tts",
        {**OK, "stream": True, "emotion": "x"},
        "application/json",
        400,
        "unknown_emotion",
    ),
    ("unknown path", "GET", "/nope", None, "", 404, "not_found"),
    ("wrong method", "DELETE", "/tts", None, "", 405, "method_not_allowed"),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "ctype", "status", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input(
    client: httpx.Client,
    name: str,
    method: str,
    path: str,
    body: Any,
    ctype: str,
    status: int,
    code: str,
) -> None:
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    headers = {"Content-Type": ctype} if ctype else {}
    r = client.request(method, path, content=raw, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    err = r.json()["error"]
    assert err["code"] == code, err
    assert err["message"] and "Traceback" not in err["message"]


def test_messages_say_what_is_wrong(client: httpx.Client) -> None:
    r = client.post("/tts", json={**OK, "emotion": "joyful"})
    assert "joyful" in r.json()["error"]["message"] and "happy" in r.json()["error"]["message"]
    r = client.post("/tts", json={"text": "好" * 5001})
    assert "5001" in r.json()["error"]["message"] and "5000" in r.json()["error"]["message"]
    r = client.post("/tts", json={**OK, "speed": 9})
    assert r.json()["error"]["message"].startswith("speed:")


def test_server_still_healthy_after_bad_input(client: httpx.Client) -> None:
    assert client.get("/ready").status_code == 200
    r = client.post("/tts", json=OK)
    assert r.status_code == 200
