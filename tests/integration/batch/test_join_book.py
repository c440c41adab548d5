"""``hanvoice batch BOOK -o OUT --join m4b``: one book file with a titled chapter per chapter,
read back with PyAV, from the real command on the bundled voice."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import soundfile as sf
from batchkit import manifest, run_batch

sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "batch"))
from test_join import read_chapters

BOOK = """第一章 风起
春天来了，山上的花都开了。

第二章 云涌
夏天的雨说来就来，河水涨得很快。村里的人都跑到桥上去看。

第三章 尾声
秋天到了，大家一起收获。
"""
TITLES = ["第一章 风起", "第二章 云涌", "第三章 尾声"]


def test_a_three_chapter_book_joins_into_one_m4b(tmp_path: Path) -> None:
    book = tmp_path / "novel.txt"
    book.write_text(BOOK, "utf-8")
    out = tmp_path / "out"
    r = run_batch(str(book), "-o", str(out), "--join", "m4b", "--workers", "2", "-q")
    assert r.returncode == 0, r.stderr
    assert "joined into novel.m4b (3 chapters" in r.stderr.splitlines()[-1], r.stderr
    rows = manifest(out)
    lengths = [sf.info(str(out / row["file"])).duration for row in rows]
    marks, seconds = read_chapters(out / "novel.m4b")
    assert [m[0] for m in marks] == TITLES == [row["title"] for row in rows]
    start = 0.0
    for (_, a, b), length in zip(marks, lengths, strict=True):
        assert abs(a - start) < 0.002 and abs(b - (start + length)) < 0.002, (a, b, start, length)
        start += length
    assert abs(seconds - sum(lengths)) < 0.08
    record = json.loads((out / "joined.json").read_text("utf-8"))
    assert [c["title"] for c in record["chapters"]] == TITLES

    again = run_batch(str(book), "-o", str(out), "--join", "m4b", "-q")  # resumable
    assert again.returncode == 0, again.stderr
    assert "0 ok, 3 skipped" in again.stderr and "already joined in novel.m4b" in again.stderr
    mp3 = run_batch(str(book), "-o", str(out), "--join", "mp3", "-q")  # chapters reused
    assert mp3.returncode == 0 and "3 skipped" in mp3.stderr, mp3.stderr
    assert [m[0] for m in read_chapters(out / "novel.mp3")[0]] == TITLES


def test_a_book_with_a_failed_chapter_is_not_joined(tmp_path: Path) -> None:
    book = tmp_path / "bad"
    book.mkdir()
    (book / "01.txt").write_text("<speak>你好。</speak>", "utf-8")
    (book / "02.txt").write_text("<speak><prosody rate='fast'>坏</speak>", "utf-8")  # bad SSML
    out = tmp_path / "out"
    r = run_batch(str(book), "-o", str(out), "--join", "mp3", "--ssml", "-q")
    assert r.returncode == 1
    assert r.stderr.strip().endswith("not joined: 1 of 2 items failed"), r.stderr
    assert not (out / "bad.mp3").exists()
