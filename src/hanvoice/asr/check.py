"""Does this audio say this text? The one call ``hanvoice check``, ``batch --verify`` and the
benchmark use: recognize the audio, compare the transcript with the text, say where they
differ and how (:mod:`.compare`).

The reference is the *text*: its syllables as our front end reads it in context (what the
voice was asked to say, honouring SSML and a user lexicon), compared with every reading of
each character Whisper wrote. What the audio says is never taken from the front end's
output for it, so a misread shows whenever Whisper hears it as something else.

Measured on the benchmark's prompts (``bench/check_asr.py``), a second opinion on the text's
readings (pypinyin's own, without our polyphone rules) differed from the front end's on 1
syllable of 80 prompts (还款: huan, where pypinyin says hai), and there the front end was
right; where the front end was wrong (调高 read diao gao), pypinyin was wrong the same way.
Accepting either would only let that one misreading pass, so the front end's reading is the
reference.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hanvoice.asr.audio import Samples, from_array
from hanvoice.asr.compare import Flag, Tolerance, compare, distance_of
from hanvoice.asr.engine import Pending, RecognitionOptions, Recognizer
from hanvoice.asr.units import digit_readings, units
from hanvoice.errors import HanvoiceError
from hanvoice.scheduler import Runner
from hanvoice.text import Frontend


@dataclass(frozen=True, slots=True)
class Verdict:
    """One item's answer."""

    id: str
    ok: bool
    heard: str
    flags: tuple[Flag, ...] = ()
    duration: float = 0.0
    """Seconds of audio checked."""
    error: str | None = None
    """Why the item could not be checked at all (then ``ok`` is false)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "ok": self.ok,
            "heard": self.heard,
            "flags": [f.as_dict() for f in self.flags],
            "duration": round(self.duration, 3),
        }
        if self.error is not None:
            out["error"] = self.error
        return {**out, **self.extra}


AHEAD = 4
"""Items whose audio is made (or read) and queued for recognition ahead of the one being
reported: the cores stay busy, and memory holds a few recordings, not a whole job's."""


@dataclass(frozen=True, slots=True)
class Job:
    """One item to check: its text, and how to get its audio (synthesize it, read a file)."""

    id: str
    text: str
    audio: Callable[[], tuple[npt.NDArray[np.float32], int]]
    """Returns (samples, sample rate); may raise a :class:`HanvoiceError` (the item's)."""
    ssml: bool = False


def options_for(text: str) -> RecognitionOptions:
    """The recognition settings for checking ``text``: Mandarin, no initial prompt (see
    :attr:`RecognitionOptions.prompt` for the measurement)."""
    return RecognitionOptions(language="zh", prompt=None)


class Checker:
    """A recognizer and the front end that reads the reference; thread-safe."""

    def __init__(
        self,
        recognizer: Recognizer,
        frontend: Frontend | None = None,
        tolerance: Tolerance | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.frontend = frontend or Frontend()
        self.tolerance = tolerance or Tolerance()

    def submit(
        self, audio: npt.NDArray[np.float32], sample_rate: int, text: str, runner: Runner
    ) -> Pending:
        """Queue the recognition of ``audio`` (any rate) for ``text`` on ``runner``."""
        samples: Samples = from_array(audio, sample_rate)
        return self.recognizer.submit(samples, options_for(text), runner)

    def verdict(self, item_id: str, text: str, pending: Pending, *, ssml: bool = False) -> Verdict:
        """Wait for the transcript and compare it with ``text``."""
        transcript = pending.result()
        flags = self.compare(text, transcript.text, ssml=ssml)
        return Verdict(item_id, not flags, transcript.text, tuple(flags), transcript.duration)

    def compare(self, text: str, heard: str, *, ssml: bool = False) -> list[Flag]:
        return flags_for(text, heard, self.frontend, self.tolerance, ssml=ssml)

    def check(
        self,
        item_id: str,
        text: str,
        audio: npt.NDArray[np.float32],
        sample_rate: int,
        runner: Runner,
        *,
        ssml: bool = False,
    ) -> Verdict:
        return self.verdict(item_id, text, self.submit(audio, sample_rate, text, runner), ssml=ssml)


def flags_for(
    text: str, heard: str, frontend: Frontend, tolerance: Tolerance, *, ssml: bool = False
) -> list[Flag]:
    """The flags for transcript ``heard`` of audio meant to say ``text``, reading each digit
    run of ``heard`` the way that fits ``text`` best (:func:`~.units.digit_readings`)."""
    ref = units(text, frontend, heard=False, ssml=ssml)
    best = heard
    hyp = units(heard, frontend, heard=True) if heard.strip() else []
    cost = distance_of(ref, hyp, tolerance)
    for _ in range(2):  # a second pass: a run may fit better once another one does
        for other in digit_readings(best):
            alt = units(other, frontend, heard=True)
            alt_cost = distance_of(ref, alt, tolerance)
            if alt_cost < cost:
                best, hyp, cost = other, alt, alt_cost
    return compare(text, ref, heard, hyp, tolerance)


def check_many(
    checker: Checker, jobs: Iterable[Job], runner: Runner, *, strict: bool = False
) -> Iterator[Verdict]:
    """A verdict per job, in order, with up to :data:`AHEAD` jobs' audio made and queued
    ahead. An item whose audio cannot be had gets a verdict with its ``error`` (not ok);
    with ``strict`` the error is raised instead."""
    queue: deque[tuple[Job, Pending | str]] = deque()

    def finish(job: Job, started: Pending | str) -> Verdict:
        if isinstance(started, str):
            return Verdict(job.id, False, "", error=started)
        return checker.verdict(job.id, job.text, started, ssml=job.ssml)

    for job in jobs:
        try:
            audio, rate = job.audio()
            queue.append((job, checker.submit(audio, rate, job.text, runner)))
        except HanvoiceError as exc:
            if strict:
                raise
            queue.append((job, f"{exc.code}: {exc.message}"))
        if len(queue) > AHEAD:
            yield finish(*queue.popleft())
    while queue:
        yield finish(*queue.popleft())
