from __future__ import annotations

import hashlib
from pathlib import Path

from hanvoice.batch import manifest
from hanvoice.batch.items import Item

ITEM = Item("a", "你好。")


def test_journal_rows_read_back_last_wins_and_torn_line_ignored(tmp_path: Path) -> None:
    j = manifest.Journal(tmp_path)
    j.append(manifest.row_for(ITEM, "k1", error="engine_error: boom"))
    j.append(manifest.row_for(ITEM, "k2", data=b"RIFF", duration=1.23456))
    j.close()
    with (tmp_path / manifest.NAME).open("a", encoding="utf-8") as f:
        f.write('{"id": "b", "file": "b.w')  # a crash in the middle of a line
    rows = manifest.load(tmp_path)
    assert list(rows) == ["a"]
    assert rows["a"].key == "k2" and rows["a"].duration == 1.235
    assert rows["a"].sha256 == hashlib.sha256(b"RIFF").hexdigest()


def test_done_needs_same_key_and_intact_file(tmp_path: Path) -> None:
    row = manifest.row_for(ITEM, "k", data=b"audio")
    (tmp_path / "a.wav").write_bytes(b"audio")
    assert manifest.is_done(row, "k", tmp_path)
    assert not manifest.is_done(row, "other", tmp_path)
    (tmp_path / "a.wav").write_bytes(b"aud")  # truncated
    assert not manifest.is_done(row, "k", tmp_path)
    (tmp_path / "a.wav").unlink()
    assert not manifest.is_done(row, "k", tmp_path)
    assert not manifest.is_done(None, "k", tmp_path)


def test_only_the_inputs_fault_is_settled() -> None:
    assert manifest.is_settled_error(manifest.row_for(ITEM, "k", error="empty_text: x"), "k")
    assert not manifest.is_settled_error(manifest.row_for(ITEM, "k", error="empty_text: x"), "k2")
    assert not manifest.is_settled_error(manifest.row_for(ITEM, "k", error="worker_died: 3"), "k")


def test_compact_writes_one_row_per_item_readable_by_others(tmp_path: Path) -> None:
    j = manifest.Journal(tmp_path)
    rows = [manifest.row_for(Item(i, "x"), "k", data=b"d") for i in ("b", "a")]
    j.append(rows[1])
    j.compact(rows)
    text = (tmp_path / manifest.NAME).read_text("utf-8").splitlines()
    assert [line[:9] for line in text] == ['{"id": "b', '{"id": "a']
    assert (tmp_path / manifest.NAME).stat().st_mode & 0o044 == 0o044
