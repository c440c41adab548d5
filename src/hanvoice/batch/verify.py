"""``hanvoice batch ... --verify``: every rendered file checked against its text by speech
recognition (:mod:`hanvoice.asr.check`), the verdict written into its manifest row.

Runs in the driver after the renders, on the driver's scheduler (all cores, since the
renders are done). A row whose file and key are unchanged since a verified run keeps its
verdict: a rerun checks only what it rendered again. Error rows have nothing to check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hanvoice.batch import manifest
from hanvoice.batch.items import Item
from hanvoice.errors import InvalidParameter, RecognizerUnavailable

MAX_SECONDS = 6 * 3600.0
"""Longest file checked (a whole audiobook chapter is far shorter)."""


def require() -> None:
    """Fail before any rendering when recognition is not installed."""
    try:
        import faster_whisper  # noqa: F401
    except ModuleNotFoundError:
        raise InvalidParameter(
            "--verify needs speech recognition, an optional extra: pip install 'hanvoice[asr]'"
        ) from None


def verify_rows(
    rows: Sequence[manifest.Row],
    items: Sequence[Item],
    outdir: Path,
    previous: dict[str, manifest.Row],
) -> list[manifest.Row]:
    """``rows`` with ``verify`` filled in for every row that has a file."""
    from hanvoice.asr.audio import RATE, decode
    from hanvoice.asr.check import Checker, Job, check_many
    from hanvoice.asr.engine import Recognizer
    from hanvoice.scheduler import Scheduler

    by_id = {i.id: i for i in items}
    out = {r.id: r for r in rows}
    todo = []
    for r in rows:
        old = previous.get(r.id)
        if not r.file:
            continue
        if (
            old is not None
            and old.verify is not None
            and old.key == r.key
            and old.sha256 == r.sha256
        ):
            out[r.id] = replace(r, verify=old.verify)
            continue
        todo.append(r)

    if not todo:
        return [out[r.id] for r in rows]

    def audio(path: Path) -> Any:
        return lambda: (decode(path, MAX_SECONDS), RATE)

    scheduler = Scheduler()
    try:
        checker = Checker(Recognizer.load(scheduler.workers))
        jobs = [Job(r.id, by_id[r.id].text, audio(outdir / r.file), by_id[r.id].ssml) for r in todo]
        with scheduler.flow(0.0, "verify") as flow:
            for verdict in check_many(checker, jobs, flow):
                found = verdict.as_dict()
                found.pop("id")
                out[verdict.id] = replace(out[verdict.id], verify=found)
    except RecognizerUnavailable as exc:
        raise InvalidParameter(exc.message) from None
    finally:
        scheduler.close()
    return [out[r.id] for r in rows]


def flagged(rows: Sequence[manifest.Row]) -> list[str]:
    """Ids of rows whose check failed."""
    return [r.id for r in rows if r.verify is not None and not r.verify.get("ok")]
