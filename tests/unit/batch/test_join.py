"""Joining chapter files into one book file with chapter marks (PyAV, no voice needed)."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from hanvoice.batch import manifest
from hanvoice.batch.join import JOIN_FORMATS, RECORD, check_format, join_book, join_key
from hanvoice.errors import InvalidParameter

RATE = 24000
SECONDS = (1.25, 2.5, 0.75)
TITLES = ("第一章 风起", "第二章 云涌", "第三章 尾声")


def _chapters(out: Path, fmt: str = "wav") -> list[manifest.Row]:
    out.mkdir(exist_ok=True)
    rows = []
    for i, (secs, title) in enumerate(zip(SECONDS, TITLES, strict=True), 1):
        t = np.arange(int(secs * RATE)) / RATE
        audio = (0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t)).astype(np.float32)
        buf = io.BytesIO()
        sf.write(buf, audio, RATE, format=fmt.upper())
        data = buf.getvalue()
        name = f"ch{i:03d}.{fmt}"
        (out / name).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        rows.append(manifest.Row(f"ch{i:03d}", name, sha, "ok", secs, "", "baker", "neutral",
                                 fmt, "k", title))  # fmt: skip
    return rows


def read_chapters(path: Path) -> tuple[list[tuple[str, float, float]], float]:
    """(title, start s, end s) of each chapter mark, and the decoded audio's seconds."""
    with av.open(str(path)) as box:
        marks = [
            (c["metadata"]["title"], float(c["start"] * c["time_base"]),
             float(c["end"] * c["time_base"]))
            for c in box.chapters()
        ]  # fmt: skip
        samples = sum(f.samples for f in box.decode(audio=0))
        rate = box.streams.audio[0].rate
    return marks, samples / rate


@pytest.mark.parametrize("fmt", sorted(JOIN_FORMATS))
def test_three_titled_chapters_at_their_offsets(tmp_path: Path, fmt: str) -> None:
    rows = _chapters(tmp_path)
    joined = join_book(tmp_path, rows, JOIN_FORMATS[fmt], "novel")
    path = tmp_path / f"novel.{fmt}"
    assert joined.file == path.name and not joined.skipped
    marks, seconds = read_chapters(path)
    starts = np.cumsum([0.0, *SECONDS])
    assert [m[0] for m in marks] == list(TITLES)
    for (_, start, end), a, b in zip(marks, starts[:-1], starts[1:], strict=True):
        assert abs(start - a) < 0.002 and abs(end - b) < 0.002, (start, end, a, b)
    assert abs(seconds - sum(SECONDS)) < 0.08, seconds  # encoder padding at most
    record = json.loads((tmp_path / RECORD).read_text("utf-8"))
    assert record["file"] == path.name and len(record["chapters"]) == 3
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not list(tmp_path.glob("*.tmp"))


def test_rerun_skips_an_intact_join_and_redoes_a_changed_one(tmp_path: Path) -> None:
    rows = _chapters(tmp_path)
    fmt = JOIN_FORMATS["m4b"]
    first = join_book(tmp_path, rows, fmt, "novel")
    again = join_book(tmp_path, rows, fmt, "novel")
    assert again.skipped and again.sha256 == first.sha256
    retitled = [*rows[:2], replace(rows[2], title="第三章 新")]
    assert join_key(retitled, fmt) != join_key(rows, fmt)
    changed = join_book(tmp_path, retitled, fmt, "novel")
    assert not changed.skipped and changed.chapters[2].title == "第三章 新"
    (tmp_path / "novel.m4b").write_bytes(b"torn")  # damaged: joined again
    assert not join_book(tmp_path, retitled, fmt, "novel").skipped


def test_a_leftover_of_a_killed_join_is_removed(tmp_path: Path) -> None:
    rows = _chapters(tmp_path)
    (tmp_path / "novel.m4bxyz.tmp").write_bytes(b"half a book")
    join_book(tmp_path, rows, JOIN_FORMATS["m4b"], "novel")
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_join_requests_say_why() -> None:
    with pytest.raises(InvalidParameter, match="one of m4b, mp3"):
        check_format("aiff", "wav")
    with pytest.raises(InvalidParameter, match="sample rate"):
        check_format("m4b", "pcm")
    assert check_format("MP3", "flac").name == "mp3"
