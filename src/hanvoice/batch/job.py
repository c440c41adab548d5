"""A batch job from start to end: read the input, skip what is done, render the rest on an
executor, write each file atomically and record it in the manifest.

The driver (this process) is the only writer of OUTDIR, whichever executor renders: files
go in with :func:`hanvoice.files.write_atomic`, so a crash never leaves a truncated file
that the manifest calls done, and the manifest's row is appended only after its file is in.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Protocol

from hanvoice.batch import manifest, verify
from hanvoice.batch.inputs import Defaults, read_items
from hanvoice.batch.items import Item, Outcome
from hanvoice.batch.join import RECORD, Joined, check_format, join_book
from hanvoice.batch.progress import Progress
from hanvoice.errors import HanvoiceError, InvalidParameter

RAY_HINT = (
    "--ray needs Ray, which is an optional extra: pip install 'hanvoice[ray]' "
    "(with -c constraints.txt for the pinned version)"
)


class Executor(Protocol):
    workers: int

    def run(self, items: Sequence[Item]) -> Iterator[Outcome]: ...


@dataclass(frozen=True, slots=True)
class JobOptions:
    input: Path
    outdir: Path
    defaults: Defaults = field(default_factory=Defaults)
    workers: int | None = None
    ray: str | None = None
    """Ray address (``auto``, ``host:port``); ``None`` runs on local worker processes."""
    voices_file: str | None = None
    quiet: bool = False
    verify: bool = False
    """Check every file by speech recognition; verdicts go into the manifest."""
    join: str | None = None
    """``m4b`` or ``mp3``: also join the items into one file with a chapter mark each."""


@dataclass(frozen=True, slots=True)
class Summary:
    ok: int
    skipped: int
    failed: int
    audio_seconds: float
    elapsed: float
    workers: int
    rows: tuple[manifest.Row, ...] = ()
    flagged: tuple[str, ...] | None = None
    """Ids whose file does not say its text (``--verify``; ``None`` when not verified)."""
    joined: Joined | None = None
    not_joined: str = ""
    """Why ``--join`` made no file (items failed)."""

    def line(self) -> str:
        """``batch: 38 ok, 0 skipped, 2 failed (see manifest.jsonl), ...``"""
        failed = f"{self.failed} failed"
        if self.failed:
            failed += f" (see {manifest.NAME})"
        where = f" on {self.workers} workers" if self.workers else ""
        verified = ""
        if self.flagged is not None:
            names = f" ({', '.join(self.flagged[:20])})" if self.flagged else ""
            verified = f"; verify: {len(self.flagged)} flagged{names}"
        joined = f"; {self.joined.line()}" if self.joined else ""
        if self.not_joined:
            joined = f"; not joined: {self.not_joined}"
        return (
            f"batch: {self.ok} ok, {self.skipped} skipped, {failed}; "
            f"{self.audio_seconds:.1f} s audio in {self.elapsed:.1f} s{where}{verified}{joined}"
        )


def make_executor(opts: JobOptions) -> Executor:
    if opts.workers is not None and opts.workers < 1:
        raise InvalidParameter(f"--workers must be at least 1, got {opts.workers}")
    if opts.ray is None:
        from hanvoice.batch.local import LocalExecutor

        return LocalExecutor(opts.workers, opts.voices_file)
    try:
        from hanvoice.batch.rayexec import RayExecutor
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "ray":
            raise InvalidParameter(RAY_HINT) from exc
        raise
    return RayExecutor(opts.ray, opts.workers, opts.voices_file)


def voice_versions(items: Sequence[Item], voices_file: str | None) -> dict[str, str | None]:
    """Each voice's ``model_sha256`` (part of every item's key); ``None`` for a voice that
    is not here, whose items become error rows."""
    from hanvoice.batch.voice import worker_catalog

    catalog = worker_catalog(voices_file)
    out: dict[str, str | None] = {}
    try:
        for vid in dict.fromkeys(i.voice for i in items):
            try:
                out[vid] = catalog.info(vid).model_sha256
            except HanvoiceError:
                out[vid] = None
    finally:
        catalog.close()
    return out


def run_job(
    opts: JobOptions, executor: Executor | None = None, stream: IO[str] | None = None
) -> Summary:
    """Run the whole job; raises only for mistakes that stop it before any item (bad input)."""
    start = time.monotonic()
    err = stream or sys.stderr
    join = check_format(opts.join, opts.defaults.format) if opts.join else None
    items = read_items(opts.input, opts.defaults)
    if opts.verify:
        verify.require()  # before any rendering
    versions = voice_versions(items, opts.voices_file)
    previous = manifest.load(opts.outdir)
    _drop_leftovers(opts.outdir, items)
    rows: dict[str, manifest.Row] = {}
    keys: dict[str, str] = {}
    todo: list[Item] = []
    for item in items:
        version = versions[item.voice]
        key = item.key(version or "")
        keys[item.id] = key
        old = previous.get(item.id)
        if version is None:
            rows[item.id] = manifest.row_for(item, key, error=_unknown_voice(item, opts))
        elif manifest.is_done(old, key, opts.outdir):
            assert old is not None
            rows[item.id] = replace(old, status=manifest.SKIPPED, title=item.title)
        elif manifest.is_settled_error(old, key):
            assert old is not None
            rows[item.id] = old
        else:
            todo.append(item)
    journal = manifest.Journal(opts.outdir)
    by_id = {i.id: i for i in todo}
    progress = Progress(len(todo), err, quiet=opts.quiet)
    workers = 0
    try:
        if todo:
            ex = executor or make_executor(opts)
            workers = ex.workers
            for outcome in ex.run(todo):
                item = by_id[outcome.id]
                row = _record(item, keys[item.id], outcome, opts.outdir)
                journal.append(row)
                rows[item.id] = row
                progress.update(row.duration, failed=row.status == manifest.ERROR)
        if opts.verify:
            done = [rows[i.id] for i in items if i.id in rows]
            rows.update((r.id, r) for r in verify.verify_rows(done, items, opts.outdir, previous))
    finally:
        progress.close()
        ordered = [rows[i.id] for i in items if i.id in rows]
        journal.compact(ordered)
    failed = sum(r.status == manifest.ERROR for r in ordered)
    joined, not_joined = None, ""
    if join is not None and failed:
        not_joined = f"{failed} of {len(ordered)} items failed"
    elif join is not None:
        joined = join_book(opts.outdir, ordered, join, opts.input.stem or "book")
    return Summary(
        ok=sum(r.status == manifest.OK for r in ordered),
        skipped=sum(r.status == manifest.SKIPPED for r in ordered),
        failed=failed,
        audio_seconds=sum(r.duration for r in ordered if r.status == manifest.OK),
        elapsed=time.monotonic() - start,
        workers=workers,
        rows=tuple(ordered),
        flagged=tuple(verify.flagged(ordered)) if opts.verify else None,
        joined=joined,
        not_joined=not_joined,
    )


def _record(item: Item, key: str, outcome: Outcome, outdir: Path) -> manifest.Row:
    if outcome.error:
        return manifest.row_for(item, key, error=outcome.error)
    manifest.publish(outdir / item.filename, outcome.audio)
    return manifest.row_for(item, key, data=outcome.audio, duration=outcome.duration)


def _drop_leftovers(outdir: Path, items: Sequence[Item]) -> None:
    """Temporary files of an atomic write that a killed run left behind (``a.wav….tmp``)."""
    if not outdir.is_dir():
        return
    names = {i.filename for i in items} | {manifest.NAME, RECORD}
    for path in outdir.glob("*.tmp"):
        if any(path.name.startswith(n) for n in names):
            path.unlink(missing_ok=True)


def _unknown_voice(item: Item, opts: JobOptions) -> str:
    from hanvoice.batch.voice import worker_catalog

    try:
        worker_catalog(opts.voices_file).require(item.voice)
    except HanvoiceError as exc:
        return f"{exc.code}: {exc.message}"
    return f"voice_not_found: {item.voice!r}"
