"""A book's chapters joined into one file with a titled chapter mark each:
``hanvoice batch BOOK -o OUT --join m4b`` (or ``mp3``).

Audiobook players want one file with chapters, not a folder of files. The join runs after
every chapter is rendered and written, from the chapter files themselves: they are decoded
one after another and encoded once (AAC in an MPEG-4 ``.m4b``, or MP3 with ID3v2 ``CHAP``
frames) by PyAV, the FFmpeg the service already ships for AAC. Chapter ``k`` starts at the
sum of the sample counts of chapters ``1..k-1``, so a mark lands on the chapter's first
sample. Chapters are set before the first packet (an MP3's ID3 tag is its header), which
is why the chapters are counted in a first pass.

Written like the rest of OUTDIR: to a temporary file renamed into place, so a reader never
sees half a book, and recorded in ``joined.json`` (file, SHA-256, key, chapter list). The
key is a hash of the chapters' SHA-256s, titles and the join format: a rerun whose chapters
are unchanged and whose book file is intact skips the join; a killed join is done again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from hanvoice.batch import manifest
from hanvoice.errors import InvalidParameter
from hanvoice.files import sha256_file, write_atomic

JOIN_VERSION = 1
"""Bumped when the same chapters would give a different book file."""
RECORD = "joined.json"
BITRATE = 64_000
"""Mono speech: 64 kbit/s AAC or MP3 is transparent enough for a voice, ~29 MB an hour."""


@dataclass(frozen=True, slots=True)
class JoinFormat:
    name: str
    container: str
    """FFmpeg muxer."""
    codec: str


JOIN_FORMATS = {
    "m4b": JoinFormat("m4b", "ipod", "aac"),
    "mp3": JoinFormat("mp3", "mp3", "mp3"),
}
UNJOINABLE = frozenset({"pcm"})
"""Chapter formats without a header (raw PCM does not say its rate)."""


@dataclass(frozen=True, slots=True)
class Mark:
    title: str
    start: float
    """Seconds from the start of the book."""
    end: float


@dataclass(frozen=True, slots=True)
class Joined:
    file: str
    format: str
    sha256: str
    key: str
    duration: float
    chapters: tuple[Mark, ...]
    skipped: bool = False
    """Already there from an earlier run (same chapters, file intact)."""

    def line(self) -> str:
        done = "already joined in" if self.skipped else "joined into"
        return f"{done} {self.file} ({len(self.chapters)} chapters, {self.duration:.1f} s)"


def check_format(join: str, chapter_format: str) -> JoinFormat:
    """The join format, or InvalidParameter before any work."""
    fmt = JOIN_FORMATS.get(join.lower().strip())
    if fmt is None:
        raise InvalidParameter(f"--join must be one of {', '.join(JOIN_FORMATS)}, got {join!r}")
    if chapter_format in UNJOINABLE:
        raise InvalidParameter(
            f"--join needs chapter files that say their sample rate; --format {chapter_format} "
            "does not (use wav, the default)"
        )
    return fmt


def join_key(rows: Sequence[manifest.Row], fmt: JoinFormat) -> str:
    parts = [fmt.name, JOIN_VERSION, [(r.sha256, r.title or r.id) for r in rows]]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def join_book(outdir: Path, rows: Sequence[manifest.Row], fmt: JoinFormat, name: str) -> Joined:
    """Join the chapters of ``rows`` (all done) into ``outdir/name.<fmt>``."""
    if not rows:
        raise InvalidParameter("nothing to join: the book has no chapters")
    key = join_key(rows, fmt)
    target = outdir / f"{name}.{fmt.name}"
    previous = _load(outdir)
    if previous is not None and _intact(previous, key, target):
        return replace(previous, skipped=True)
    for stale in outdir.glob(f"{target.name}*.tmp"):
        stale.unlink(missing_ok=True)
    paths = [outdir / r.file for r in rows]
    rate = _rate(paths[0])
    counts = [sum(len(x) for x in _samples(p, rate)) for p in paths]
    marks, starts = [], np.cumsum([0, *counts])
    for row, a, b in zip(rows, starts[:-1], starts[1:], strict=True):
        marks.append(Mark(row.title or row.id, round(a / rate, 3), round(b / rate, 3)))
    fd, tmp = tempfile.mkstemp(dir=outdir, prefix=target.name, suffix=".tmp")
    os.close(fd)
    try:
        _encode(Path(tmp), paths, rate, fmt, [int(s) for s in starts], marks, name)
        digest = sha256_file(Path(tmp))
        manifest.make_readable(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    joined = Joined(
        target.name, fmt.name, digest, key, round(int(starts[-1]) / rate, 3), tuple(marks)
    )
    record = {k: v for k, v in asdict(joined).items() if k != "skipped"}
    write_atomic(outdir / RECORD, json.dumps(record, ensure_ascii=False, indent=1).encode())
    return joined


def _intact(previous: Joined, key: str, target: Path) -> bool:
    if previous.key != key or previous.file != target.name or not target.is_file():
        return False
    return sha256_file(target) == previous.sha256


def _load(outdir: Path) -> Joined | None:
    try:
        data: Any = json.loads((outdir / RECORD).read_text("utf-8"))
        marks = tuple(Mark(**m) for m in data.pop("chapters"))
        return Joined(**data, chapters=marks)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _rate(path: Path) -> int:
    import av

    with av.open(str(path)) as box:
        return int(box.streams.audio[0].rate)


def _samples(path: Path, rate: int) -> Iterator[np.ndarray]:
    """The chapter's audio as float32 mono blocks at ``rate`` (resampled if it differs)."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    with av.open(str(path)) as box:
        for frame in box.decode(audio=0):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1)


def _encode(
    path: Path,
    chapters: Sequence[Path],
    rate: int,
    fmt: JoinFormat,
    starts: Sequence[int],
    marks: Sequence[Mark],
    title: str,
) -> None:
    import av

    base = Fraction(1, rate)
    with av.open(str(path), "w", format=fmt.container) as box:
        stream: Any = box.add_stream(fmt.codec, rate=rate, layout="mono")
        stream.bit_rate = BITRATE
        box.metadata["title"] = title
        box.metadata["album"] = title
        box.set_chapters(
            [
                {
                    "id": i + 1,
                    "start": a,
                    "end": b,
                    "time_base": base,
                    "metadata": {"title": m.title},
                }
                for i, (a, b, m) in enumerate(zip(starts[:-1], starts[1:], marks, strict=True))
            ]
        )
        pts = 0
        for chapter in chapters:
            for block in _samples(chapter, rate):
                frame = av.AudioFrame.from_ndarray(block[None, :], format="flt", layout="mono")
                frame.sample_rate = rate
                frame.pts = pts
                pts += block.size
                for packet in stream.encode(frame):
                    box.mux(packet)
        for packet in stream.encode(None):
            box.mux(packet)
