from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from hanvoice.batch.job import RAY_HINT, JobOptions, Summary, make_executor
from hanvoice.batch.progress import Progress
from hanvoice.errors import InvalidParameter


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_ray_the_error_says_how_to_add_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "hanvoice.batch.rayexec", raising=False)
    with pytest.raises(InvalidParameter) as info:
        make_executor(JobOptions(Path("in.jsonl"), Path("out"), ray="auto"))
    assert info.value.message == RAY_HINT
    assert "pip install 'hanvoice[ray]'" in RAY_HINT


def test_workers_must_be_positive() -> None:
    with pytest.raises(InvalidParameter, match="at least 1"):
        make_executor(JobOptions(Path("in.jsonl"), Path("out"), workers=0))


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    tty = _Terminal()
    bar = Progress(3, tty)
    for _ in range(3):
        bar.update(1.5)
    bar.close()
    assert "3/3" in tty.getvalue() and "4.5s audio" in tty.getvalue()

    log = io.StringIO()
    plain = Progress(3, log)
    plain.update(1.0)
    plain.update(2.0, failed=True)
    plain.update(0.5)
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("batch: 1/3 items, 1.0 s audio, 0 failed")
    assert lines[-1].startswith("batch: 3/3 items, 3.5 s audio, 1 failed")
    assert len(lines) == 2  # one at the start, one at the end: no line per item


def test_summary_line() -> None:
    s = Summary(ok=3, skipped=1, failed=2, audio_seconds=12.34, elapsed=5.0, workers=2)
    assert s.line() == (
        "batch: 3 ok, 1 skipped, 2 failed (see manifest.jsonl); 12.3 s audio in 5.0 s on 2 workers"
    )
    assert "on 0" not in Summary(0, 4, 0, 0.0, 0.5, 0).line()
