"""The real image in a real container, run as production runs it.

Built once per session by ``scripts/image.sh build`` (the ``built_image`` fixture); the
container gets a read-only root filesystem, a tmpfs ``/tmp`` and no capabilities, on the host
network at its own loopback port. Checked: the user it runs as, what it can write, every
public endpoint with real audio decoded, its HEALTHCHECK, and that SIGTERM lets an in-flight
synthesis finish. The measured figures (size, start-to-ready, memory) are printed and
written to artifacts/image.json.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from podmankit import BuiltImage, Container, podman, report

from support.audio import assert_speech, decode
from support.servers import free_port

IMAGE_BUDGET_BYTES = 600 * 10**6
LONG_TEXT = "各位旅客请注意，开往上海虹桥方向的列车即将进站，请您拿好随身物品，按顺序排队上车。" * 3


@pytest.fixture(scope="module")
def box(built_image: BuiltImage) -> Iterator[tuple[Container, float]]:
    c = Container(f"hv-one-{free_port()}", built_image.ref, free_port())
    t0 = time.perf_counter()
    c.start()
    try:
        c.wait_ready()
        yield c, time.perf_counter() - t0
    finally:
        c.remove()


def test_image_is_within_budget(built_image: BuiltImage) -> None:
    size = built_image.record["size_bytes"]
    assert size <= IMAGE_BUDGET_BYTES, f"image is {size / 1e6:.0f} MB"
    labels = podman("image", "inspect", "--format", "{{json .Labels}}", built_image.ref).stdout
    assert built_image.record["version"] in labels
    assert built_image.record["digest"].startswith("sha256:")


def test_runs_as_production_would(box: tuple[Container, float]) -> None:
    c, _ = box
    info = c.inspect()
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["EffectiveCaps"] in (None, [])
    assert info["Config"]["User"] == "10001:10001"
    ids = podman("exec", c.name, "id", "-u").stdout.strip()
    assert ids == "10001"
    root = podman("exec", c.name, "touch", "/app/x", check=False)
    assert root.returncode != 0 and "Read-only file system" in root.stderr
    assert podman("exec", c.name, "touch", "/tmp/x", check=False).returncode == 0
    # only the service and its init run; neither has a capability left
    top = podman("top", c.name, "user", "args", "capeff").stdout.splitlines()[1:]
    assert len(top) == 2 and all(line.split()[0] == "hanvoice" for line in top), top
    assert all(line.split()[-1] == "none" for line in top), top


def test_healthcheck_passes(box: tuple[Container, float]) -> None:
    c, _ = box
    result = podman("healthcheck", "run", c.name, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_public_endpoint_answers(
    box: tuple[Container, float], built_image: BuiltImage
) -> None:
    c, _ = box
    with httpx.Client(base_url=c.url, timeout=60) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
        version = client.get("/version").json()
        assert version["build"] == built_image.record["version"]
        assert version["commit"] == built_image.record["commit"]
        text = "容器里的语音合成。"
        wav = client.get("/tts", params={"text": text, "format": "wav"})
        assert wav.status_code == 200, wav.text
        audio, sr = decode(wav.content)
        assert_speech(audio, sr, text_chars=len(text))
        speech = client.post(
            "/v1/audio/speech",
            json={"model": "tts-1", "input": text, "voice": "alloy", "response_format": "wav"},
        )
        assert speech.status_code == 200, speech.text
        audio, sr = decode(speech.content)
        assert_speech(audio, sr, text_chars=len(text))
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_sigterm_drains_the_in_flight_request(built_image: BuiltImage) -> None:
    env = {"HANVOICE_LOG_LEVEL": "info"}  # the drain is logged at info
    c = Container(f"hv-drain-{free_port()}", built_image.ref, free_port(), env)
    t0 = time.perf_counter()
    c.start()
    try:
        ready_s = c.wait_ready()
        start_to_ready = time.perf_counter() - t0
        idle_mib = c.memory_mib()
        answer: dict[str, Any] = {}

        def long_request() -> None:
            params = {"text": LONG_TEXT, "format": "wav"}
            r = httpx.get(f"{c.url}/tts", params=params, timeout=120)
            answer.update(status=r.status_code, body=r.content)

        thread = threading.Thread(target=long_request)
        thread.start()
        time.sleep(0.5)  # the synthesis is running
        busy_mib = c.memory_mib()
        t_stop = time.perf_counter()
        c.stop(grace=60)
        stop_s = time.perf_counter() - t_stop
        thread.join(120)
        assert answer.get("status") == 200, answer
        audio, sr = decode(answer["body"])
        assert_speech(audio, sr, text_chars=len(LONG_TEXT))
        state = c.state()
        # uvicorn re-raises SIGTERM after its graceful shutdown: 143 (128 + 15) is clean
        assert state["ExitCode"] in (0, 143), state
        logs = c.logs()
        assert "draining" in logs and "Finished server process" in logs, logs[-2000:]
    finally:
        c.remove()
    figures = {
        "image": built_image.ref,
        "size_mb": round(built_image.record["size_bytes"] / 1e6, 1),
        "digest": built_image.record["digest"],
        "build_seconds": built_image.record["seconds"],
        "start_to_ready_s": round(start_to_ready, 2),
        "ready_after_run_s": round(ready_s, 2),
        "memory_idle_mib": round(idle_mib, 1),
        "memory_synthesizing_mib": round(busy_mib, 1),
        "sigterm_to_exit_s": round(stop_s, 2),
    }
    report("image", figures)
