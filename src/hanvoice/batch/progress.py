"""Progress of a batch on stderr: a tqdm bar when a person watches, else plain lines.

The bar counts items and shows the audio seconds made so far; without a terminal (a CI log,
a cron mail) it prints one line at most every few seconds and one at the end.
"""

from __future__ import annotations

import time
from typing import IO, Any

PLAIN_EVERY = 5.0
"""Seconds between plain progress lines."""


class Progress:
    def __init__(self, total: int, stream: IO[str], *, quiet: bool = False) -> None:
        self.total = total
        self.stream = stream
        self.quiet = quiet
        self.done = 0
        self.failed = 0
        self.audio = 0.0
        self._start = time.monotonic()
        self._last = 0.0
        self._bar: Any = None
        if not quiet and total and stream.isatty():
            try:
                from tqdm import tqdm
            except ModuleNotFoundError:  # the batch extra is not installed: plain lines
                return
            self._bar = tqdm(total=total, file=stream, unit="item", dynamic_ncols=True)

    def update(self, audio_seconds: float, *, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        self.audio += audio_seconds
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.audio:.1f}s audio, {self.failed} failed")
            self._bar.update(1)
            return
        now = time.monotonic()
        if now - self._last >= PLAIN_EVERY or self.done == self.total:
            self._last = now
            self.stream.write(
                f"batch: {self.done}/{self.total} items, {self.audio:.1f} s audio, "
                f"{self.failed} failed, {now - self._start:.1f} s\n"
            )
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
