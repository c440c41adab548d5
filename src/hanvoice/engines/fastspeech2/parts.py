"""A segment's audio handed out part by part while worker threads vocode its windows.

:meth:`Parts.start` cuts each mel with :func:`windows.plan`, submits every window to the
engine's workers at once and returns; iterating then waits for each part's windows in
order, pastes their samples together (silence where nothing was vocoded), applies the pause
envelope and attaches the timestamps of the tokens that start in that part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from hanvoice.engines.base import Rendered
from hanvoice.engines.fastspeech2 import windows
from hanvoice.engines.fastspeech2.windows import HOP, SAMPLE_RATE
from hanvoice.errors import EngineError

Mel = npt.NDArray[np.float32]
Samples = npt.NDArray[np.float32]


class Job(Protocol):
    """A window being vocoded (a :class:`~concurrent.futures.Future` from the flow)."""

    def result(self) -> Samples: ...

    def cancel(self) -> bool: ...


Submit = Callable[[Callable[[Mel], Samples], Mel], Job]


@dataclass(frozen=True, slots=True)
class Piece:
    """One decoder call's mel (``[1, T, 80]``) with what turns it into audio and times."""

    mel: Mel
    frames: npt.NDArray[np.int32]
    """Frames per symbol."""
    pauses: list[bool]
    owners: list[int]
    """Token index (within this piece) of each symbol, or -1."""
    first_token: int
    """Index of this piece's first token within the segment."""
    n_tokens: int


@dataclass(frozen=True, slots=True)
class _Job:
    start: int
    """First frame of the part within its piece."""
    stop: int
    env: npt.NDArray[np.float32]
    """The piece's pause envelope."""
    windows: tuple[tuple[windows.Window, Job], ...]
    times: tuple[tuple[float, float] | None, ...]
    """Per token of the segment, relative to the part's start (only tokens starting here)."""
    final: bool


class Parts:
    """Iterator over a segment's parts (:class:`Rendered`, ``final`` on the last one)."""

    def __init__(self, jobs: list[_Job], n_tokens: int) -> None:
        self._jobs = jobs
        self._next = 0
        self._n_tokens = n_tokens

    @classmethod
    def empty(cls, n_tokens: int) -> Parts:
        env = np.zeros(0, np.float32)
        return cls([_Job(0, 0, env, (), (None,) * n_tokens, True)], n_tokens)

    @classmethod
    def start(
        cls,
        pieces: list[Piece],
        n_tokens: int,
        submit: Submit,
        vocode: Callable[[Mel], Samples],
        *,
        first: int = 0,
        ways: int = 1,
    ) -> Parts:
        jobs: list[_Job] = []
        for k, piece in enumerate(pieces):
            env = windows.envelope(piece.frames, piece.pauses)
            plan = windows.plan(windows.silent_frames(env), first=first if k == 0 else 0, ways=ways)
            futures = [(w, submit(vocode, piece.mel[:, w.lo : w.hi])) for w in plan.windows]
            starts, spans = _token_frames(piece)
            for p, (a, b) in enumerate(plan.parts):
                last = p == len(plan.parts) - 1
                times: list[tuple[float, float] | None] = [None] * n_tokens
                for i, (s, span) in enumerate(zip(starts, spans, strict=True)):
                    if span is not None and a <= s and (s < b or last):
                        off = a * HOP / SAMPLE_RATE
                        times[piece.first_token + i] = (span[0] - off, span[1] - off)
                mine = tuple((w, f) for w, f in futures if w.part == p)
                final = last and k == len(pieces) - 1
                jobs.append(_Job(a, b, env, mine, tuple(times), final))
        return cls(jobs, n_tokens)

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Rendered]:
        return self

    def __next__(self) -> Rendered:
        if self._next >= len(self._jobs):
            raise StopIteration
        job = self._jobs[self._next]
        self._next += 1
        env = job.env[job.start * HOP : job.stop * HOP]
        audio = np.empty(env.size, np.float32)
        done = job.start  # frames before this one are filled
        for w, fut in job.windows:
            try:
                out = fut.result()
            except CancelledError:  # the flow was cancelled: not a vocoder failure
                self.close()
                raise
            except Exception as exc:
                self.close()
                raise EngineError(f"FastSpeech2 vocoder failed: {exc}") from exc
            a, b = max(w.start, w.lo), min(w.stop, w.hi)  # beyond: silenced frames
            audio[(done - job.start) * HOP : (a - job.start) * HOP] = 0.0
            seg = slice((a - job.start) * HOP, (b - job.start) * HOP)
            np.multiply(out[(a - w.lo) * HOP : (b - w.lo) * HOP], env[seg], out=audio[seg])
            done = b
        audio[(done - job.start) * HOP :] = 0.0
        return Rendered(audio, job.times, final=job.final)

    def close(self) -> None:
        """Drop the windows not yet started (the consumer went away)."""
        for job in self._jobs[self._next :]:
            for _, fut in job.windows:
                fut.cancel()
        self._next = len(self._jobs)


def _token_frames(
    piece: Piece,
) -> tuple[list[int], list[tuple[float, float] | None]]:
    """Per token of the piece: its first frame and its (start, end) seconds in the piece."""
    ends = np.cumsum(piece.frames)
    starts = ends - piece.frames
    first: list[int] = [0] * piece.n_tokens
    spans: list[tuple[float, float] | None] = [None] * piece.n_tokens
    for i, owner in enumerate(piece.owners):
        if owner < 0:
            continue
        s, e = float(starts[i] * HOP / SAMPLE_RATE), float(ends[i] * HOP / SAMPLE_RATE)
        cur = spans[owner]
        if cur is None:
            spans[owner], first[owner] = (s, e), int(starts[i])
        else:
            spans[owner] = (min(cur[0], s), max(cur[1], e))
            first[owner] = min(first[owner], int(starts[i]))
    return first, spans


class Pending:
    """A segment's parts while its acoustic piece may still be queued or running: the first
    ``next`` waits for it, then the :class:`Parts` it made take over."""

    def __init__(self, future: Future[Parts]) -> None:
        self._future = future
        self._parts: Parts | None = None

    def __iter__(self) -> Iterator[Rendered]:
        return self

    def __next__(self) -> Rendered:
        if self._parts is None:  # a cancelled flow raises CancelledError: nothing is cut short
            self._parts = self._future.result()
        return next(self._parts)

    def close(self) -> None:
        """Drop the work not yet done, now or as soon as a running acoustic piece ends."""
        if self._parts is not None:
            self._parts.close()
        elif not self._future.cancel():
            self._future.add_done_callback(_close_parts)


def _close_parts(future: Future[Parts]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()
