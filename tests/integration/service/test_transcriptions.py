"""``POST /v1/audio/transcriptions``: our own speech back to text, over HTTP, with the real
model; the official OpenAI client; bad uploads refused with a 4xx that says why."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf

from hanvoice.asr.check import flags_for
from hanvoice.asr.compare import Tolerance
from hanvoice.text import Frontend
from support.serve import Server, start_server

TEXT = "您好，欢迎致电客服中心，请问有什么可以帮您？"
URL = "/v1/audio/transcriptions"


@pytest.fixture(scope="module")
def speech(server: Server) -> bytes:
    """The service's own rendering of TEXT (MP3): both halves of the dialogue loop."""
    r = httpx.post(
        server.url + "/v1/audio/speech",
        json={"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": "mp3"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    return r.content


def says_text(heard: str) -> None:
    assert heard.strip()
    assert flags_for(TEXT, heard, Frontend(), Tolerance()) == [], heard


def test_json_and_text(client: httpx.Client, speech: bytes) -> None:
    files = {"file": ("hello.mp3", speech, "audio/mpeg")}
    r = client.post(URL, files=files, data={"model": "whisper-1", "language": "zh"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    says_text(r.json()["text"])
    r = client.post(URL, files=files, data={"model": "whisper-1", "response_format": "text"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    says_text(r.text)


def test_openai_client(server: Server, speech: bytes) -> None:
    oa = openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0)
    t = oa.audio.transcriptions.create(file=("hello.mp3", speech), model="whisper-1")
    says_text(t.text)
    v = oa.audio.transcriptions.create(
        file=("hello.mp3", speech),
        model="whisper-1",
        language="zh",
        prompt="客服",
        temperature=0.0,
        response_format="verbose_json",
    )
    says_text(v.text)
    assert v.language == "zh" and 2.0 < float(v.duration) < 10.0
    segments = v.segments or []
    assert segments and segments[0].start >= 0 and segments[-1].end <= float(v.duration) + 0.5
    assert all(a.end <= b.start + 0.01 for a, b in itertools.pairwise(segments))
    text = oa.audio.transcriptions.create(
        file=("hello.mp3", speech), model="whisper-1", response_format="text"
    )
    says_text(str(text))


def silence_flac(seconds: float) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(int(8000 * seconds), np.float32), 8000, format="FLAC")
    return buf.getvalue()


CASES: list[tuple[str, dict[str, Any], Any, int, str]] = [
    # name, form fields, file part (or None), status, error code
    ("no file", {"model": "whisper-1"}, None, 400, "invalid_request"),
    ("no model", {}, ("a.mp3", "SPEECH"), 400, "invalid_request"),
    ("unknown model", {"model": "tts-1"}, ("a.mp3", "SPEECH"), 404, "model_not_found"),
    ("srt", {"model": "whisper-1", "response_format": "srt"}, ("a.mp3", "SPEECH"), 400,
     "invalid_parameter"),
    ("temperature 2", {"model": "whisper-1", "temperature": "2"}, ("a.mp3", "SPEECH"), 400,
     "invalid_parameter"),
    ("temperature text", {"model": "whisper-1", "temperature": "warm"}, ("a.mp3", "SPEECH"),
     400, "invalid_parameter"),
    ("unknown language", {"model": "whisper-1", "language": "xx"}, ("a.mp3", "SPEECH"), 400,
     "invalid_parameter"),
    ("word timestamps", {"model": "whisper-1", "timestamp_granularities[]": "word"},
     ("a.mp3", "SPEECH"), 400, "invalid_parameter"),
    ("long prompt", {"model": "whisper-1", "prompt": "字" * 1001}, ("a.mp3", "SPEECH"), 400,
     "invalid_parameter"),
    ("unknown field", {"model": "whisper-1", "voice": "alloy"}, ("a.mp3", "SPEECH"), 400,
     "invalid_request"),
    ("empty file", {"model": "whisper-1"}, ("a.mp3", b""), 400, "invalid_request"),
    ("not audio", {"model": "whisper-1"}, ("a.mp3", b"GIF89a" + b"\0" * 500), 400,
     "invalid_audio"),
    ("an hour of silence", {"model": "whisper-1"}, ("a.flac", "HOUR"), 413, "audio_too_long"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fields", "file", "status", "code"), CASES)
def test_bad_uploads(
    client: httpx.Client,
    speech: bytes,
    name: str,
    fields: dict[str, Any],
    file: Any,
    status: int,
    code: str,
) -> None:
    parts: list[tuple[str, Any]] = [(k, (None, v)) for k, v in fields.items()]
    if file is not None:
        data = {"SPEECH": speech, "HOUR": silence_flac(3600)}.get(file[1], file[1])
        parts.append(("file", (file[0], data)))
    r = client.post(URL, files=parts)  # multipart, with or without a file part
    assert r.status_code == status, (name, r.text)
    assert r.json()["error"]["code"] == code, r.text
    if name == "no file":
        assert r.json()["error"]["message"].startswith("file: field required")


def test_not_multipart(client: httpx.Client) -> None:
    r = client.post(URL, json={"model": "whisper-1"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["error"]["message"]


def test_counted_in_metrics(client: httpx.Client, speech: bytes) -> None:
    r = client.post(URL, files={"file": ("a.mp3", speech)}, data={"model": "whisper-1"})
    assert r.status_code == 200
    text = client.get("/metrics").text
    count = next(ln for ln in text.splitlines() if ln.startswith("hanvoice_transcriptions_total"))
    assert float(count.split()[-1]) >= 1
    route = 'method="POST",route="/v1/audio/transcriptions"'
    assert f'hanvoice_requests_total{{emotion="",{route}' in text


def test_behind_auth_and_refused_when_off(tmp_path: Path, speech: bytes) -> None:
    s = start_server(tmp_path, api_keys="k-transcribe", transcriptions="false", workers=1)
    try:
        files = {"file": ("a.mp3", speech)}
        r = httpx.post(s.url + URL, files=files, data={"model": "whisper-1"}, timeout=60)
        assert r.status_code == 401, r.text  # the same guard as synthesis
        auth = {"Authorization": "Bearer k-transcribe"}
        r = httpx.post(
            s.url + URL, files=files, data={"model": "whisper-1"}, headers=auth, timeout=60
        )
        assert r.status_code == 503 and r.json()["error"]["code"] == "asr_unavailable", r.text
        assert "turned off" in r.json()["error"]["message"]
    finally:
        s.stop()
