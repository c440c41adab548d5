"""Chunked responses and the WebSocket: audio leaves while later sentences are synthesized."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest
from service_audio import check_speech, decode_any
from websockets.sync.client import connect

from support.serve import Server
from support.texts import PARAGRAPH


def _timed_stream(
    client: httpx.Client, path: str, body: dict[str, object]
) -> tuple[bytes, float, float, int]:
    t0 = time.perf_counter()
    first = 0.0
    parts: list[bytes] = []
    with client.stream("POST", path, json=body) as r:
        assert r.status_code == 200, r.read()
        assert r.headers.get("transfer-encoding") == "chunked"
        for b in r.iter_raw():
            if b and not parts:
                first = time.perf_counter() - t0
            parts.append(b)
    return b"".join(parts), first, time.perf_counter() - t0, len(parts)


@pytest.mark.parametrize("fmt", ["pcm", "wav", "mp3", "ogg", "opus", "flac", "aac"])
def test_stream_every_format(client: httpx.Client, fmt: str) -> None:
    data, first, total, n = _timed_stream(
        client, "/tts", {"text": PARAGRAPH, "stream": True, "format": fmt}
    )
    print(
        f"\n{fmt}: {len(PARAGRAPH)} chars, first bytes {1000 * first:.0f} ms, "
        f"all {1000 * total:.0f} ms, {n} reads"
    )
    check_speech(data, fmt, PARAGRAPH)
    if fmt in ("pcm", "wav", "mp3"):
        assert n > 1  # really chunked: bytes came in several pieces


def test_stream_equals_whole_for_pcm(client: httpx.Client) -> None:
    """Streaming changes only when bytes leave, not the sentences' audio (apart from the
    first clause, synthesized on its own)."""
    text = "今天天气很好。我们去公园散步吧。"
    streamed, _, _, _ = _timed_stream(
        client, "/tts", {"text": text, "stream": True, "format": "pcm"}
    )
    whole = client.post("/tts", json={"text": text, "format": "pcm"}).json()["audio"]
    import base64

    assert streamed == base64.b64decode(whole)


def test_first_audio_of_a_200_character_paragraph(client: httpx.Client) -> None:
    """Printed, not asserted: the issue's target is well under 150 ms on this machine."""
    times = []
    for _ in range(5):
        _, first, total, _ = _timed_stream(
            client, "/tts", {"text": PARAGRAPH, "stream": True, "format": "pcm"}
        )
        assert first < total / 2  # audio started long before the end
        times.append(first)
    print(
        f"\nfirst audio for {len(PARAGRAPH)} chars (pcm stream), 5 runs: "
        + ", ".join(f"{1000 * t:.0f}" for t in times)
        + f" ms; median {1000 * sorted(times)[2]:.0f} ms; whole {1000 * total:.0f} ms"
    )


def test_openai_stream(client: httpx.Client) -> None:
    body = {
        "model": "tts-1",
        "input": PARAGRAPH,
        "voice": "alloy",
        "response_format": "mp3",
        "stream": True,
    }
    data, first, total, n = _timed_stream(client, "/v1/audio/speech", body)
    print(f"\nopenai mp3 stream: first bytes {1000 * first:.0f} ms of {1000 * total:.0f} ms")
    check_speech(data, "mp3", PARAGRAPH)
    assert n > 1


def test_client_leaving_mid_stream_stops_the_work(server: Server, client: httpx.Client) -> None:
    long_text = PARAGRAPH * 8
    with client.stream(
        "POST", "/tts", json={"text": long_text, "stream": True, "format": "pcm"}
    ) as r:
        next(r.iter_raw())  # first audio arrived; now hang up
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ready = client.get("/ready").json()
        if ready["inflight"] == 0:
            break
        time.sleep(0.05)
    assert ready["inflight"] == 0, ready  # the slot was released, synthesis stopped


def test_websocket(server: Server) -> None:
    url = server.url.replace("http://", "ws://") + "/ws/tts"
    with connect(url, open_timeout=10) as ws:
        t0 = time.perf_counter()
        ws.send(json.dumps({"text": PARAGRAPH, "emotion": "happy"}))
        start = json.loads(ws.recv(timeout=30))
        assert start["type"] == "start" and start["format"] == "pcm"
        assert start["sample_rate"] == 24000 and start["emotion"] == "happy"
        frames: list[bytes] = []
        first = 0.0
        while True:
            msg = ws.recv(timeout=60)
            if isinstance(msg, bytes):
                if not frames:
                    first = time.perf_counter() - t0
                frames.append(msg)
                continue
            end = json.loads(msg)
            break
        print(f"\nwebsocket: first frame {1000 * first:.0f} ms, {len(frames)} frames")
        assert end["type"] == "end" and len(frames) > 1
        audio, sr = check_speech(b"".join(frames), "pcm", PARAGRAPH)
        assert abs(audio.size / sr - end["duration"]) < 0.01
        stamps = end["timestamps"]
        assert stamps[0]["char"] == "在" and stamps[-1]["end"] <= end["duration"] + 1e-6

        # errors keep the connection open; the next request works
        ws.send(json.dumps({"text": ""}))
        err = json.loads(ws.recv(timeout=10))
        assert err == {"type": "error", "error": {"code": "empty_text", "message": "text is empty"}}
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "invalid_json"
        ws.send(json.dumps({"text": "你好", "emotion": "joyful"}))
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "unknown_emotion"
        ws.send(json.dumps({"text": "你好", "format": "wav"}))
        assert json.loads(ws.recv(timeout=30))["format"] == "wav"
        data = b""
        while isinstance(msg := ws.recv(timeout=30), bytes):
            data += msg
        assert json.loads(msg)["type"] == "end"
        audio, _ = decode_any(data, "wav")
        assert audio.size > 0 and np.max(np.abs(audio)) > 0.05
