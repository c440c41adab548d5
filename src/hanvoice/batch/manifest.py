"""``manifest.jsonl``: one JSON object per item, the record a rerun resumes from.

While a job runs, each finished item is appended as one line and flushed, so a crash loses
at most the item being written (a torn last line is ignored when read back). At the end the
file is rewritten, atomically, with exactly one row per input item in input order.

A row is *done* when its status is ``ok`` or ``skipped``, its ``key`` is the item's key and
its file is still there with the recorded SHA-256: only then is the item skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from hanvoice.batch.items import Item
from hanvoice.files import sha256_file, write_atomic

NAME = "manifest.jsonl"
OK, SKIPPED, ERROR = "ok", "skipped", "error"
SETTLED = frozenset(
    {
        "empty_text",
        "invalid_text",
        "text_too_long",
        "invalid_ssml",
        "invalid_parameter",
        "unknown_emotion",
        "content_rejected",
    }
)
"""Error codes an unchanged item would only get again (the input's fault): a rerun keeps
such a row instead of rendering the item once more. Any other error (a worker that died, an
engine failure, a voice not installed yet) is tried again."""


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    file: str
    """Relative to the output folder; empty for an error row."""
    sha256: str
    status: str
    duration: float
    error: str
    voice: str
    emotion: str
    format: str
    key: str
    title: str = ""
    verify: dict[str, Any] | None = None
    """``batch --verify``'s verdict on the file (``ok``, ``heard``, ``flags``, ...)."""

    def as_json(self) -> str:
        data = asdict(self)
        if self.verify is None:
            del data["verify"]
        return json.dumps(data, ensure_ascii=False)


def row_for(
    item: Item, key: str, *, data: bytes = b"", duration: float = 0.0, error: str = ""
) -> Row:
    """An ``ok`` row for written ``data``, or an ``error`` row with the reason."""
    ok = not error
    return Row(
        id=item.id,
        file=item.filename if ok else "",
        sha256=hashlib.sha256(data).hexdigest() if ok else "",
        status=OK if ok else ERROR,
        duration=round(duration, 3),
        error=error,
        voice=item.voice,
        emotion=item.emotion,
        format=item.format,
        key=key,
        title=item.title,
    )


def load(outdir: Path) -> dict[str, Row]:
    """The last row written for each id (a journal: later lines win; torn lines skipped)."""
    path = outdir / NAME
    if not path.is_file():
        return {}
    rows: dict[str, Row] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            data: Any = json.loads(line)
            row = Row(**{k: data[k] for k in Row.__dataclass_fields__ if k in data})
        except (json.JSONDecodeError, TypeError):
            continue
        rows[row.id] = row
    return rows


def is_done(row: Row | None, key: str, outdir: Path) -> bool:
    if row is None or row.status not in (OK, SKIPPED) or row.key != key or not row.file:
        return False
    path = outdir / row.file
    return path.is_file() and sha256_file(path) == row.sha256


def is_settled_error(row: Row | None, key: str) -> bool:
    return (
        row is not None
        and row.status == ERROR
        and row.key == key
        and row.error.split(":", 1)[0] in SETTLED
    )


def publish(path: Path, data: bytes) -> None:
    """:func:`write_atomic`, then the permissions a plain ``open`` would have given (its
    temporary file is private), so other users of OUTDIR can read the audio."""
    write_atomic(path, data)
    make_readable(path)


def make_readable(path: Path) -> None:
    """The permissions a plain ``open`` would have given (a temporary file is private)."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


class Journal:
    """Appends rows as items finish; :meth:`compact` writes the final manifest."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / NAME
        outdir.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")

    def append(self, row: Row) -> None:
        self._file.write(row.as_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def compact(self, rows: Iterable[Row]) -> None:
        self.close()
        publish(self.path, "".join(r.as_json() + "\n" for r in rows).encode("utf-8"))
