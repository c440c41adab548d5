"""``hanvoice serve``: settings errors are one line + exit 2; it starts with no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.servers import free_port

HANVOICE = [sys.executable, "-m", "hanvoice.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANVOICE_")}
    if "HANVOICE_CACHE_DIR" in os.environ:
        env["HANVOICE_CACHE_DIR"] = os.environ["HANVOICE_CACHE_DIR"]
    env.update(extra)
    return env


def test_print_config_defaults() -> None:
    out = subprocess.run(
        [*HANVOICE, "serve", "--print-config"],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    cfg = json.loads(out.stdout)
    assert cfg["port"] == 5000 and cfg["host"] == "0.0.0.0" and cfg["max_text_chars"] == 5000


def test_config_file_and_flags(tmp_path: Path) -> None:
    f = tmp_path / "hanvoice.yaml"
    f.write_text("port: 6001\nqueue_size: 3\nregion: cn-shanghai\n", "utf-8")
    out = subprocess.run(
        [*HANVOICE, "serve", "--config", str(f), "--port", "6002", "--print-config"],
        env=_env(HANVOICE_QUEUE_SIZE="4"),
        capture_output=True,
        text=True,
        check=True,
    )
    cfg = json.loads(out.stdout)
    assert (cfg["port"], cfg["queue_size"], cfg["region"]) == (6002, 4, "cn-shanghai")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "70000"], {}, "invalid setting port (HANVOICE_PORT): Input should be less"),
        ([], {"HANVOICE_WORKERS": "many"}, "invalid setting workers (HANVOICE_WORKERS)"),
        (["--config", "/nonexistent/h.yaml"], {}, "cannot read config file /nonexistent/h.yaml"),
        ([], {"HANVOICE_DEFAULT_VOICE": "nobody"}, "default_voice: no voice 'nobody'"),
        ([], {"HANVOICE_OPENAI_VOICES": '{"nova": "x"}'}, "openai_voices.nova: no voice 'x'"),
        (["--voices-file", "/nonexistent/v.yaml"], {}, "voices_file /nonexistent/v.yaml"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(
    args: list[str], env: dict[str, str], message: str
) -> None:
    out = subprocess.run(
        [*HANVOICE, "serve", *args], env=_env(**env), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_key_in_config_file(tmp_path: Path) -> None:
    f = tmp_path / "h.yaml"
    f.write_text("prot: 5000\n", "utf-8")
    out = subprocess.run(
        [*HANVOICE, "serve", "--config", str(f)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and f"prot (HANVOICE_PROT / prot in {f}): unknown" in out.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a network namespace")
def test_starts_and_synthesizes_without_network(tmp_path: Path) -> None:
    """The voice loads from .venv: no download at start-up (run in an empty net namespace)."""
    port = free_port()
    script = f"""
import subprocess, sys, time, httpx
p = subprocess.Popen({[*HANVOICE, "serve", "--host", "127.0.0.1", "--port", str(port)]!r},
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(600):
        try:
            if httpx.get("http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    r = httpx.post("http://127.0.0.1:{port}/tts", json={{"text": "你好"}}, timeout=60)
    print(r.status_code, len(r.json()["audio"]))
    try:
        httpx.get("https://pypi.org", timeout=2)
        print("network reachable")
    except httpx.HTTPError:
        print("no network")
finally:
    p.terminate()
    p.wait(30)
"""
    probe = tmp_path / "probe.py"
    probe.write_text(script, "utf-8")
    out = subprocess.run(
        ["unshare", "--net", "sh", "-c", f"ip link set lo up && {sys.executable} {probe}"],
        env=_env(HANVOICE_CACHE_ENABLED="false"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    status, size, *_ = out.stdout.split()
    assert status == "200" and int(size) > 1000
    assert "no network" in out.stdout
