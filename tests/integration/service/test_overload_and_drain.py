"""Beyond the queue: a fast 503 with Retry-After. SIGTERM: ready goes 503, in-flight finish."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from service_audio import check_speech

from support.serve import start_server

SENTENCE = "今天的天气非常好，我们一起去公园散步，看看湖边的风景，再去山上走一走。"
LONG = SENTENCE * 3  # about 2 s of synthesis on one worker


def test_overload_is_a_fast_503_with_retry_after(tmp_path: Path) -> None:
    """Admission by work: on one core with a 1 s backlog bound, a long text (~3 s of work,
    admitted because the node is idle) fills the backlog; what comes next is refused at once
    with a Retry-After computed from the backlog, and /ready says so."""
    s = start_server(tmp_path, workers=1, max_backlog=1)
    try:
        url = s.url + "/tts"
        results: list[tuple[int, float, httpx.Headers, dict[str, object]]] = []
        lock = threading.Lock()

        def one(text: str) -> None:
            t0 = time.perf_counter()
            r = httpx.post(url, json={"text": text, "format": "wav"}, timeout=120)
            with lock:
                results.append((r.status_code, time.perf_counter() - t0, r.headers, r.json()))

        with ThreadPoolExecutor(6) as ex:
            futures = [ex.submit(one, LONG * 3)]
            time.sleep(0.5)  # the backlog is full
            ready = httpx.get(s.url + "/ready")
            futures += [ex.submit(one, LONG) for _ in range(5)]
            for f in futures:
                f.result()
        ok = [r for r in results if r[0] == 200]
        busy = [r for r in results if r[0] == 503]
        print(
            f"\nbacklog bound 1 s on 1 core, 6 concurrent: {len(ok)} x 200, "
            f"{len(busy)} x 503 in {', '.join(f'{1000 * r[1]:.0f}' for r in busy)} ms; "
            f"200s took {', '.join(f'{r[1]:.1f}' for r in ok)} s"
        )
        assert ready.status_code == 503 and ready.json()["status"] == "overloaded"
        assert ready.json()["backlog_seconds"] > 0
        assert len(ok) == 1 and len(busy) == 5
        for _, seconds, headers, body in busy:
            assert 1 <= int(headers["retry-after"]) <= 60
            assert "s of work queued" in body["error"]["message"]  # type: ignore[index]
            assert body["error"]["code"] == "overloaded"  # type: ignore[index]
            assert seconds < 1.0  # refused at once, not after waiting
        assert httpx.get(s.url + "/ready").status_code == 200  # free again
        metrics = httpx.get(s.url + "/metrics").text
        assert 'status="503"' in metrics
    finally:
        s.stop()


def test_sigterm_drains_in_flight_requests(tmp_path: Path) -> None:
    s = start_server(tmp_path, workers=1, queue_size=8, drain_delay=0.5, drain_timeout=60)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        body = {"text": SENTENCE, "format": "wav", "stream": i % 2 == 1}
        r = httpx.post(s.url + "/tts", json=body, timeout=120)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while httpx.get(s.url + "/ready").json()["inflight"] < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    t0 = time.perf_counter()
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    during = httpx.get(s.url + "/ready")
    health = httpx.get(s.url + "/health")
    for t in threads:
        t.join(120)
    code = s.proc.wait(60)
    print(
        f"\nSIGTERM with 5 in flight on 1 worker: all answered, exit after "
        f"{time.perf_counter() - t0:.1f} s (code {code})"
    )
    assert during.status_code == 503 and during.json()["status"] == "draining"
    assert health.status_code == 200
    assert len(results) == 5
    for r in results:
        assert r.status_code == 200, r.text
        if r.headers["content-type"] == "application/json":
            import base64

            check_speech(base64.b64decode(r.json()["audio"]), "wav", SENTENCE)
        else:
            check_speech(r.content, "wav", SENTENCE)
    assert code in (0, -signal.SIGTERM)
    assert "drained" in s.output()
    with pytest.raises(httpx.ConnectError):
        httpx.get(s.url + "/health")


def test_request_timeout_is_504(tmp_path: Path) -> None:
    s = start_server(tmp_path, workers=1, queue_size=2, request_timeout=1.0)
    try:
        t0 = time.perf_counter()
        r = httpx.post(s.url + "/tts", json={"text": LONG * 4}, timeout=60)
        assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
        assert time.perf_counter() - t0 < 5  # LONG * 4 takes ~8 s to synthesize
        # the worker stops after the sentence it is on: free again soon, not after 8 s
        deadline = time.monotonic() + 3
        while httpx.get(s.url + "/ready").json()["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.get(s.url + "/ready").json()["running"] == 0
        assert httpx.post(s.url + "/tts", json={"text": "你好。"}).status_code == 200
    finally:
        s.stop()


def _metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


def test_client_disconnect_cancels_queued_work(tmp_path: Path) -> None:
    s = start_server(tmp_path, workers=1, queue_size=4, cache_enabled="false")
    try:
        chars_before = _metric(httpx.get(s.url + "/metrics").text, "hanvoice_characters_total")
        busy = threading.Thread(
            target=lambda: httpx.post(s.url + "/tts", json={"text": LONG}, timeout=120)
        )
        busy.start()
        deadline = time.monotonic() + 10
        while httpx.get(s.url + "/ready").json()["running"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        # a second request waits for the worker; its client gives up after 0.3 s
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(s.url + "/tts", json={"text": SENTENCE * 2}, timeout=0.3)
        deadline = time.monotonic() + 5
        while httpx.get(s.url + "/ready").json()["inflight"] > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert httpx.get(s.url + "/ready").json()["inflight"] == 1  # its slot is free again
        busy.join(120)
        chars = _metric(httpx.get(s.url + "/metrics").text, "hanvoice_characters_total")
        assert chars - chars_before == len(LONG)  # the abandoned text was never synthesized
        metrics = httpx.get(s.url + "/metrics").text
        assert 'route="/tts",status="499"' in metrics
        assert "Exception in ASGI application" not in s.output()
    finally:
        s.stop()
