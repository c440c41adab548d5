"""The node scheduler seen over HTTP: the same bytes alone, under load, streamed or not;
long answers streamed as JSON; the scheduler's own series in /metrics."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from service_audio import check_speech

from support.serve import Server
from support.texts import PARAGRAPH

SHORT = "您好，欢迎致电客服中心，请按一号键。"


def _wav(client: httpx.Client, text: str, **extra: object) -> bytes:
    r = client.post("/tts", json={"text": text, "format": "wav", **extra})
    assert r.status_code == 200, r.text
    return base64.b64decode(r.json()["audio"])


def test_same_bytes_alone_under_load_streamed_and_as_a_file(
    client: httpx.Client, server: Server
) -> None:
    alone = _wav(client, SHORT, emotion="happy")
    stop = threading.Event()

    def chapter() -> int:
        n = 0
        with httpx.Client(base_url=server.url, timeout=120) as c:
            while not stop.is_set():
                c.post("/tts", json={"text": PARAGRAPH * 3}).raise_for_status()
                n += 1
        return n

    with ThreadPoolExecutor(2) as pool:
        loads = [pool.submit(chapter) for _ in range(2)]
        loaded = [_wav(client, SHORT, emotion="happy") for _ in range(3)]
        body = {"text": SHORT, "format": "wav", "emotion": "happy", "stream": True}
        streamed = client.post("/tts", json=body).content
        got = client.get("/tts", params={"text": SHORT, "format": "wav", "emotion": "happy"})
        stop.set()
        assert all(f.result(timeout=300) >= 1 for f in loads)
    assert all(x == alone for x in loaded)
    assert got.content == alone
    # a stream's WAV header says "length unknown"; the samples are the same
    assert streamed[44:] == alone[44:]
    check_speech(alone, "wav", SHORT)


def test_a_long_answer_is_streamed_json_that_decodes_to_the_whole_audio(
    client: httpx.Client,
) -> None:
    text = PARAGRAPH  # ~40 s of audio: about 2 MB of WAV, past the 1 MB memo
    r = client.post("/tts", json={"text": text, "format": "wav", "timestamps": True})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    audio = base64.b64decode(body["audio"], validate=True)
    assert len(audio) > 1 << 20
    assert body["format"] == "wav" and body["duration"] > 30 and body["timestamps"]
    samples, rate = check_speech(audio, "wav", text)
    assert abs(samples.size / rate - body["duration"]) < 0.01


def test_metrics_show_the_scheduler(client: httpx.Client) -> None:
    client.post("/tts", json={"text": SHORT}).raise_for_status()
    text = client.get("/metrics").text
    for series in (
        "hanvoice_backlog_seconds",
        "hanvoice_pieces_running",
        "hanvoice_queue_depth",
        "hanvoice_queue_wait_seconds_bucket",
    ):
        assert series in text, series
    ready = client.get("/ready").json()
    assert ready["backlog_seconds"] >= 0 and ready["max_backlog"] > 0
