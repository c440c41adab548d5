"""``hanvoice batch`` on local worker processes, run as a user runs it: a real process, the
bundled voice, real files decoded and checked."""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from batchkit import HANVOICE, files, manifest, prompt_rows, run_batch, write_jsonl

from support.audio import assert_speech, decode

sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "batch"))
from test_epub import make_epub


def _wait_rows(journal: Path, n: int, p: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        if journal.exists() and len(journal.read_text("utf-8").splitlines()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} rows in {journal} before the job ended")


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(c) for c in text.split()]


def _intact(out: Path) -> None:
    """Every row that says done names a file whose bytes are the ones recorded."""
    for row in manifest(out):
        if row["status"] in ("ok", "skipped"):
            data = (out / row["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == row["sha256"], row["id"]


def test_failing_items_are_error_rows_and_the_exit_status_says_so(tmp_path: Path) -> None:
    rows = [
        {"id": "ok1", "text": "您好，欢迎致电。"},
        {"id": "silent", "text": "……"},
        {"id": "too-fast", "text": "请稍候。", "speed": 5},
        {"id": "bad-ssml", "text": "<speak><prosody rate='fast'>你好</speak>", "ssml": True},
        {"id": "nobody", "text": "你好。", "voice": "nobody"},
        {"id": "ssml", "text": "<speak>请按<break time='300ms'/>一号键。</speak>", "ssml": True},
        {"id": "mp3", "text": "再见。", "format": "mp3", "emotion": "happy"},
    ]
    src = write_jsonl(tmp_path / "p.jsonl", rows)
    out = tmp_path / "out"
    r = run_batch(str(src), "-o", str(out), "--workers", "2")
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("batch: 3 ok, 0 skipped, 4 failed (see manifest.jsonl)"), r.stderr
    got = manifest(out)
    assert [row["id"] for row in got] == [row["id"] for row in rows]
    by_id = {row["id"]: row for row in got}
    for rid, code in [
        ("silent", "empty_text"),
        ("too-fast", "invalid_parameter"),
        ("bad-ssml", "invalid_ssml"),
        ("nobody", "voice_not_found"),
    ]:
        assert by_id[rid]["status"] == "error"
        assert by_id[rid]["error"].startswith(f"{code}: "), by_id[rid]
        assert by_id[rid]["file"] == ""
    assert (by_id["mp3"]["file"], by_id["mp3"]["format"], by_id["mp3"]["emotion"]) == (
        "mp3.mp3",
        "mp3",
        "happy",
    )
    for rid in ("ok1", "ssml", "mp3"):
        audio, sr = decode((out / by_id[rid]["file"]).read_bytes())
        assert_speech(audio, sr)
        assert abs(audio.size / sr - by_id[rid]["duration"]) < 0.05
    _intact(out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.jsonl", "mp3.mp3", "ok1.wav",
                                                     "ssml.wav"]  # fmt: skip

    # a rerun renders nothing: the errors were the input's fault and would come again
    again = run_batch(str(src), "-o", str(out))
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1].startswith("batch: 0 ok, 3 skipped, 4 failed")


def test_rerun_is_idempotent_and_renders_only_what_changed(tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    rows = prompt_rows(6)

    def write(rows: list[dict[str, object]]) -> None:
        with src.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["id", "text", "emotion", "speed"])
            w.writeheader()
            w.writerows(rows)

    write(rows)
    out = tmp_path / "out"
    first = run_batch(str(src), "-o", str(out), "--workers", "2")
    assert first.returncode == 0, first.stderr
    before = files(out)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    same = run_batch(str(src), "-o", str(out), "--workers", "2")
    assert same.returncode == 0, same.stderr
    assert "batch: 0 ok, 6 skipped, 0 failed" in same.stderr
    assert files(out) == before
    assert all(p.stat().st_mtime_ns == stamps[p.name] for p in out.iterdir() if p.suffix == ".wav")

    rows[1]["text"] = "这一条改过了。"
    write(rows)
    (out / "p002.wav").unlink()  # someone deleted it
    (out / "p003.wav").write_bytes(before["p003.wav"][:1000])  # or a copy cut it short
    changed = run_batch(str(src), "-o", str(out), "--emotion", "neutral")
    assert changed.returncode == 0, changed.stderr
    assert "batch: 3 ok, 3 skipped, 0 failed" in changed.stderr
    status = {row["id"]: row["status"] for row in manifest(out)}
    assert status == {"p000": "skipped", "p001": "ok", "p002": "ok", "p003": "ok",
                      "p004": "skipped", "p005": "skipped"}  # fmt: skip
    after = files(out)
    assert after["p001.wav"] != before["p001.wav"]
    assert after["p002.wav"] == before["p002.wav"]  # same item, same bytes
    assert after["p003.wav"] == before["p003.wav"]
    assert (out / "p000.wav").stat().st_mtime_ns == stamps["p000.wav"]
    _intact(out)


def test_driver_killed_mid_job_resumes_from_the_manifest(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "p.jsonl", prompt_rows(14))
    out = tmp_path / "out"
    argv = [*HANVOICE, "batch", str(src), "-o", str(out), "--workers", "1"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_rows(out / "manifest.jsonl", 3, p)
    workers = _children(p.pid)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=30)
    for pid in workers:  # a worker left without its driver ends when its pipe closes
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (
            not os.path.exists(f"/proc/{pid}")
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
    done = len(manifest(out))
    assert 3 <= done < 14
    _intact(out)
    (out / "p013.wavabc123.tmp").write_bytes(b"RIFF")  # as if killed inside write_atomic
    r = run_batch(str(src), "-o", str(out), "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert not list(out.glob("*.tmp"))
    assert f"batch: {14 - done} ok, {done} skipped, 0 failed" in r.stderr
    assert [row["id"] for row in manifest(out)] == [f"p{i:03d}" for i in range(14)]
    _intact(out)


def test_a_worker_sigkilled_mid_job_has_its_items_rendered_elsewhere(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "p.jsonl", prompt_rows(12))
    out = tmp_path / "out"
    argv = [*HANVOICE, "batch", str(src), "-o", str(out), "--workers", "2"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_rows(out / "manifest.jsonl", 2, p)
    workers = [
        c for c in _children(p.pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
    ]
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "batch: 12 ok, 0 skipped, 0 failed" in err
    assert {row["status"] for row in manifest(out)} == {"ok"}
    _intact(out)


def test_epub_book_gives_one_file_per_chapter_in_order(tmp_path: Path) -> None:
    book = make_epub(
        tmp_path / "book.epub",
        [
            ("c1.xhtml", "第一章 相遇", "他们在车站相遇。"),
            ("c2.xhtml", "第二章 分别", "多年以后，他们分别了。"),
        ],
    )
    out = tmp_path / "out"
    r = run_batch(str(book), "-o", str(out), "--format", "mp3", "--workers", "1")
    assert r.returncode == 0, r.stderr
    rows = manifest(out)
    assert [(row["id"], row["title"], row["file"]) for row in rows] == [
        ("ch001", "第一章 相遇", "ch001.mp3"),
        ("ch002", "第二章 分别", "ch002.mp3"),
    ]
    for row in rows:
        audio, sr = decode((out / row["file"]).read_bytes())
        assert_speech(audio, sr)


def test_mistakes_in_the_command_or_input_are_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"id": "a", "txt": "x"}\n', "utf-8")
    for args, message in [
        ([str(bad), "-o", str(tmp_path / "o")], "unknown field(s) txt"),
        ([str(tmp_path / "none.csv"), "-o", str(tmp_path / "o")], "does not exist"),
        ([str(bad), "-o", str(tmp_path / "o"), "--format", "aiff"], "unknown format 'aiff'"),
    ]:
        r = run_batch(*args)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
