"""``hanvoice batch --ray`` on a real Ray cluster: a head and a second node joining it, in a
network namespace of their own (see raycluster.py). One cluster for the whole module:
Ray takes ~20 s to start here."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from batchkit import HANVOICE, files, manifest, prompt_rows, run_batch, write_jsonl
from raycluster import ADDRESS, RayCluster

from support.audio import assert_speech, decode

ITEMS = 42


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    c = RayCluster(tmp_path_factory.mktemp("ray"), nodes=2, cpus_per_node=1)
    try:
        yield c.start()
    finally:
        c.stop()
    assert c.pids() == []


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("in") / "prompts.jsonl", prompt_rows(ITEMS))


@pytest.fixture(scope="module")
def local_run(prompts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local")
    r = run_batch(str(prompts), "-o", str(out), "--workers", "2")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def killed_run(
    cluster: RayCluster, prompts: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """The job on Ray, one worker process SIGKILLed once a few items are in."""
    out = tmp_path_factory.mktemp("ray-out")
    argv = [*HANVOICE, "batch", str(prompts), "-o", str(out), "--ray", ADDRESS, "--workers", "2"]
    p = cluster.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = out / "manifest.jsonl"
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and p.poll() is None and time.monotonic() < deadline:
        done = len(journal.read_text("utf-8").splitlines()) if journal.exists() else 0
        actors = cluster.actor_pids()
        if done >= 4 and len(actors) == 2:
            killed = actors[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    _, err = p.communicate(timeout=300)
    assert killed is not None, f"the job ended before a worker could be killed: {err[-2000:]}"
    assert p.returncode == 0, err[-3000:]
    assert len(manifest(out)) == ITEMS
    return out, err


def test_sigkilled_worker_job_completes_with_the_local_bytes(
    killed_run: tuple[Path, str], local_run: Path
) -> None:
    out, err = killed_run
    assert "worker lost" in err  # the kill did hit a worker with items in flight
    rows = manifest(out)
    assert [r["id"] for r in rows] == [f"p{i:03d}" for i in range(ITEMS)]
    assert {r["status"] for r in rows} == {"ok"}
    assert files(out) == files(local_run)  # same item -> same bytes, locally and on Ray
    audio, sr = decode((out / "p000.wav").read_bytes())
    assert_speech(audio, sr)
    assert f"batch: {ITEMS} ok, 0 skipped, 0 failed" in err


def test_rerun_on_ray_skips_everything(
    cluster: RayCluster, killed_run: tuple[Path, str], prompts: Path
) -> None:
    out, _ = killed_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix == ".wav"}
    r = cluster.run([*HANVOICE, "batch", str(prompts), "-o", str(out), "--ray", ADDRESS])
    assert r.returncode == 0, r.stderr
    assert f"batch: 0 ok, {ITEMS} skipped, 0 failed" in r.stderr
    assert {row["status"] for row in manifest(out)} == {"skipped"}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix == ".wav"} == before


def test_unspeakable_item_is_an_error_row_and_the_rest_complete(
    cluster: RayCluster, tmp_path: Path
) -> None:
    rows = prompt_rows(5)
    rows[2] = {"id": "silent", "text": "……！？"}
    src = write_jsonl(tmp_path / "p.jsonl", rows)
    out = tmp_path / "out"
    r = cluster.run(
        [*HANVOICE, "batch", str(src), "-o", str(out), "--ray", ADDRESS, "--format", "mp3"]
    )
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("batch: 4 ok, 0 skipped, 1 failed")
    got = {row["id"]: row for row in manifest(out)}
    assert got["silent"]["status"] == "error"
    assert got["silent"]["error"].startswith("empty_text:")
    assert got["silent"]["file"] == "" and not (out / "silent.mp3").exists()
    for rid in ("p000", "p001", "p003", "p004"):
        assert got[rid]["status"] == "ok" and got[rid]["format"] == "mp3"
        audio, sr = decode((out / got[rid]["file"]).read_bytes())
        assert_speech(audio, sr)


def test_book_on_ray_gives_chapters_in_order(cluster: RayCluster, tmp_path: Path) -> None:
    titles = ["第一章 出发", "第二章 路上", "第三章 到达", "尾声"]
    bodies = ["我们一早就出发了。", "路上下起了小雨。", "傍晚终于到了。", "后来我们常常想起那天。"]
    book = tmp_path / "book.txt"
    book.write_text("\n".join(f"{t}\n{b}\n" for t, b in zip(titles, bodies, strict=True)), "utf-8")
    out = tmp_path / "out"
    r = cluster.run([*HANVOICE, "batch", str(book), "-o", str(out), "--ray", ADDRESS])
    assert r.returncode == 0, r.stderr
    rows = manifest(out)
    assert [row["id"] for row in rows] == ["ch001", "ch002", "ch003", "ch004"]
    assert [row["title"] for row in rows] == titles
    durations = []
    for row in rows:
        audio, sr = decode((out / row["file"]).read_bytes())
        assert_speech(audio, sr)
        durations.append(audio.size / sr)
    assert durations == pytest.approx([row["duration"] for row in rows], abs=0.01)
