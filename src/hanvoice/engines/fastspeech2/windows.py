"""Where a segment's mel is cut for vocoding, and where its audio is cut into parts.

The vocoder is convolutional: an output frame depends on a few input frames either side of
it only (measured: a change in input frame ``t`` moves samples of output frames
``t-16 .. t+17`` and nothing else). A window that produces output frames ``[start, stop)``
from input frames ``[start - BEFORE, stop + AFTER)`` therefore gives
the samples that vocoding the whole mel would, up to float rounding (onnxruntime's kernels
round a little differently at different offsets; through the graph's int8 sub-band
quantizer that now and then flips one step: at most 0.008, SNR above 60 dB, see
``tests/unit/engines/test_fs2_windows.py``). A plan is a pure function of the segment, so
the same request always gets the same bytes. Windows decide what can run at once (two
windows on two cores) and what can be sent early (a short first window makes a stream's
first audio arrive after a few dozen milliseconds).

Frames whose samples :func:`envelope` zeroes anyway (the inside of long pauses) are not
vocoded at all when the silence is long enough to pay for the context around it.

Windows are grouped into *parts*, the pieces of audio an engine hands out one by one. Parts
are cut only at the first-window cut or inside silence, so a consumer that processes each
part on its own (a peak limiter) cannot make a click at their joins.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

HOP = 300
"""Waveform samples per mel frame."""
SAMPLE_RATE = 24000
BEFORE = 17
"""Input frames before its first output frame that a window needs (receptive field)."""
AFTER = 16
"""Input frames after its last output frame that a window needs."""
CONTEXT = BEFORE + AFTER
"""A silence at least this long costs less to skip than to vocode through."""
LONGEST = 256
"""Most output frames in one window (2.56 s of audio). The vocoder's working memory grows
with its input, about 0.13 MB a frame under onnxruntime: this keeps one call under ~40 MB,
whatever the segment. The cuts this adds cost ~3 % more frames on a paragraph, which the
smaller windows' better cache use (~3 % less time a frame) pays back."""
SHORTEST = 10
"""Fewest input frames the vocoder takes: its residual stacks reflect-pad by up to 27
samples after the first 3x upsampling, which needs more than 27 (9 frames give 27 + 3).
A whole mel this short (one syllable at double speed: 地 at speed 2) is padded."""
RAMP = 0.015
"""Seconds of fade at each edge of a silenced pause."""


@dataclass(frozen=True, slots=True)
class Window:
    start: int
    """First output frame this window fills."""
    stop: int
    """One past the last output frame."""
    lo: int
    """First input frame: ``BEFORE`` the first sounding frame, clipped to the mel
    (frames that will be silenced need no context, so a cut in a pause costs less)."""
    hi: int
    """One past the last input frame."""
    part: int
    """Index of the part whose audio this window fills."""


@dataclass(frozen=True, slots=True)
class Plan:
    windows: tuple[Window, ...]
    parts: tuple[tuple[int, int], ...]
    """Frame ranges ``[a, b)`` tiling ``[0, n_frames)``; concatenated, they are the audio."""

    @property
    def vocoded_frames(self) -> int:
        return sum(w.hi - w.lo for w in self.windows)


def envelope(frames: npt.NDArray[np.int32], pauses: list[bool]) -> npt.NDArray[np.float32]:
    """Gain per sample that silences the inside of every pause symbol (sil, #3).

    15 ms raised-cosine ramps at edges next to speech; pauses shorter than three ramps are
    left alone. The vocoder leaves a low hiss in pauses; listeners hear it as background
    noise (DNSMOS's background score drops about 0.15 against digital silence).
    """
    ramp = int(RAMP * SAMPLE_RATE)
    total = int(np.sum(frames)) * HOP
    env = np.ones(total, np.float32)
    ends = np.cumsum(frames) * HOP
    down = np.cos(np.linspace(0.0, np.pi / 2, ramp, dtype=np.float32)) ** 2
    for i, is_pause in enumerate(pauses):
        start, end = int(ends[i] - frames[i] * HOP), min(int(ends[i]), total)
        if not is_pause or end - start < 3 * ramp:
            continue
        seg = np.zeros(end - start, np.float32)
        if start > 0:  # speech before: fade out into the pause
            seg[:ramp] = down
        if end < total:  # speech after: fade back in
            seg[-ramp:] = down[::-1]
        env[start:end] = seg
    return env


def padded(mel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``mel`` (1, frames, bins) with its last frame repeated up to :data:`SHORTEST` frames.

    Only a whole segment's mel can be this short (a window inside one has a context either
    side), so its last frame is the sentence's closing silence; repeating it adds a little
    more of that silence, which the caller cuts off again (``frames * HOP`` samples).
    """
    short = SHORTEST - mel.shape[1]
    return np.pad(mel, ((0, 0), (0, short), (0, 0)), mode="edge") if short > 0 else mel


def silent_frames(env: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Frames whose every sample the envelope zeroes."""
    n = env.size // HOP
    sounding: npt.NDArray[np.bool_] = np.any(env[: n * HOP].reshape(n, HOP), axis=1)
    return ~sounding


def plan(
    silent: npt.NDArray[np.bool_],
    *,
    first: int = 0,
    ways: int = 1,
    longest: int = LONGEST,
) -> Plan:
    """Windows and parts for a mel of ``len(silent)`` frames.

    ``first`` > 0 makes the first ``first`` frames of sound (with the silence before them) a
    window and part of their own, for a stream's first audio; not when the sound is to be
    shared by ``ways`` > 1 workers and is no longer than ``longest``: then it is all done in
    about the time that first window would take (~30 ms), which would only cost frames.
    ``ways`` > 1 cuts each
    stretch of sound into that many windows so that as many workers share it (with a first
    window, the one after it gets as much more, since the worker that did the first also
    does the last); stretches longer than ``longest`` are cut too. Cuts go to the middle of
    the longest silence near where they are wanted. Stretches shorter than a context per
    window are not cut. The same arguments always give the same plan.
    """
    n = int(silent.size)
    if n == 0:
        return Plan((), ())
    runs = _runs(silent, CONTEXT)
    if not runs:  # all silence: one part, nothing to vocode
        return Plan((), ((0, n),))
    spans: list[tuple[int, int]] = []
    part_cuts = [(b + a2) // 2 for (_, b), (a2, _) in itertools.pairwise(runs)]
    for k, (a, b) in enumerate(runs):
        head = 0
        # a lead window only when sound is left after it: a first sentence shorter than the
        # lead (发。) is a window of its own already
        if k == 0 and 0 < first < b - a and (ways == 1 or b - a > longest):
            head = first
            spans.append((a, a + head))
            part_cuts.append(a + head)
            a += head
        spans.extend(_split(silent, a, b, ways, longest, head))
    edges = [0, *sorted(part_cuts), n]
    parts = tuple((edges[i], edges[i + 1]) for i in range(len(edges) - 1))
    windows = []
    for a, b in spans:
        sounding = np.flatnonzero(~silent[a:b])
        lo, hi = (a + int(sounding[0]), a + int(sounding[-1]) + 1) if sounding.size else (a, b)
        windows.append(Window(a, b, max(0, lo - BEFORE), min(n, hi + AFTER), _part_of(a, edges)))
    return Plan(tuple(windows), parts)


def _split(
    silent: npt.NDArray[np.bool_], a: int, b: int, ways: int, longest: int, head: int
) -> list[tuple[int, int]]:
    """``[a, b)`` in pieces: ``ways`` of them (the last ``head`` frames shorter), or more so
    that none is longer than ``longest``; each cut moved into a nearby silence if any."""
    count = max(1, min(ways, (b - a) // CONTEXT), -(-(b - a + head) // longest))
    if count == 1:
        return [(a, b)]
    size = (b - a + head) / count
    if size - head < CONTEXT:  # the worker with the head window takes no more
        size, head = (b - a) / (count - 1), 0
        count -= 1
    bounds = [a]
    for i in range(1, count):
        cut = _snap(silent, a + round(i * size), max(1, round(size / 4)))
        # a cut moved into a silence must not leave a piece over ``longest``, here or in
        # what is left for the cuts after it
        least, most = b - (count - i) * longest, bounds[-1] + longest
        bounds.append(min(max(cut, least, bounds[-1] + 1), most))
    bounds.append(b)
    return [(x, y) for x, y in itertools.pairwise(bounds) if y > x]


def _snap(silent: npt.NDArray[np.bool_], at: int, reach: int) -> int:
    """The middle of the longest run of silent frames within ``reach`` of ``at``, or ``at``."""
    lo, hi = max(0, at - reach), min(silent.size, at + reach)
    best, best_len, i = at, 0, lo
    while i < hi:
        if not silent[i]:
            i += 1
            continue
        j = i
        while j < silent.size and silent[j]:
            j += 1
        if j - i > best_len:
            best, best_len = (i + j) // 2, j - i
        i = j
    return best


def _runs(silent: npt.NDArray[np.bool_], min_gap: int) -> list[tuple[int, int]]:
    """Ranges of sounding frames, joined across silences shorter than ``min_gap``."""
    sounding = np.flatnonzero(~silent)
    if sounding.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(sounding) > min_gap)
    starts = [int(sounding[0]), *(int(sounding[i + 1]) for i in breaks)]
    stops = [*(int(sounding[i]) + 1 for i in breaks), int(sounding[-1]) + 1]
    return list(zip(starts, stops, strict=True))


def _part_of(frame: int, edges: list[int]) -> int:
    return int(np.searchsorted(edges, frame, side="right")) - 1
