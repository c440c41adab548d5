"""Pitch level, range and contour realised on the model's own pitch, before the decoder.

The encoder predicts one normalized pitch value per symbol. TensorFlowTTS trained the
voice on per-phone F0 averages normalized as ``(f0 - mean) / std`` (unvoiced phones left at
0), so a value ``p`` stands for ``f0 = mean * (1 + ratio * p)`` with ``ratio = std / mean``.
Working in that ratio domain, a shift of ``s`` semitones is ``u * 2**(s/12)`` on every
symbol, and a range factor scales ``log u`` around the segment's median: the same edit
:func:`hanvoice.audio.effects.edit_contour` does on a WORLD contour, but done here it costs
nothing (the decoder runs anyway) and the waveform never leaves the model.

Each segment's plan, in semitones per symbol, is the caller's level plus the emotion's
contour: a declination (sad falls across the segment), a final rise (surprise), a rise on
questions, and an accent that widens the peaks above the median (angry). The decoder
smooths what it is given, so the realised range moves less than the per-symbol values do;
:class:`Calibration` holds the measured curves that map a wanted change to the edit that
gives it, and the reach beyond which the model saturates or degrades
(``data/fastspeech2_prosody.yaml``; the measurements are in its comments). What is wanted
beyond that reach is left to the synthesizer's signal processing
(:meth:`Calibration.remainder`, the engine's ``dsp_remainder``).

Six semitones up from the training mean (``p = 0``) is ``f0 x 1.414``, so ``p = 2.76``:

>>> cal = Calibration(ratio=0.15)  # an uncalibrated voice: heard = asked
>>> up = edit_pitch(np.zeros(2, np.float32), [False, True], Plan(level=6.0), cal)
>>> [round(float(x), 2) for x in up]
[2.76, 2.76]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from hanvoice.engines.base import Controls
from hanvoice.errors import EngineError

log = logging.getLogger(__name__)

Values = npt.NDArray[np.float32]
_LN_SEMITONE = float(np.log(2.0) / 12.0)
_FLOOR = 0.3
"""Lowest F0 ratio to the training mean an edit may ask for (a value below ``-1/ratio``
would stand for a negative frequency)."""
QUESTION_MARKS = ("？", "?")
RISE_SYLLABLES = 2
"""A final rise climbs over the segment's last two syllables (half, then all of it)."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """How one voice's normalized pitch answers to edits (measured; see the data file).

    ``level`` and ``range`` are measured curves, ``(asked, heard)`` pairs sorted by both:
    the semitones (range factors) asked of the per-symbol values and the shift of the
    median F0 (the factor on the p5-p95 spread) heard in the audio, pyin medians over the
    bench sentences. Edits are made by reading a curve backwards; their ends are the
    furthest the model goes cleanly, and what is wanted beyond them is left to signal
    processing (:meth:`remainder`).
    """

    ratio: float
    """``std / mean`` of the training F0 normalization: ``f0 = mean * (1 + ratio * p)``."""
    level: tuple[tuple[float, float], ...] = ((-6.0, -6.0), (0.0, 0.0), (6.0, 6.0))
    range: tuple[tuple[float, float], ...] = ((0.25, 0.25), (1.0, 1.0), (4.0, 4.0))

    @classmethod
    def load(cls, model_id: str, path: Path | None = None) -> Calibration:
        """The calibration of ``model_id`` from ``path`` (default: the bundled file)."""
        if path is None:
            res = resources.files("hanvoice").joinpath("data/fastspeech2_prosody.yaml")
            text = res.read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data: dict[str, Any] = yaml.safe_load(text) or {}
        voices: dict[str, Any] = data.get("voices") or {}
        if model_id not in voices:
            raise EngineError(f"no prosody calibration for {model_id!r} (have: {sorted(voices)})")
        v: dict[str, Any] = voices[model_id]
        unknown = set(v) - {"ratio", "level", "range"}
        if unknown:
            raise EngineError(f"prosody calibration {model_id!r}: unknown fields {sorted(unknown)}")
        cal = cls(float(v["ratio"]), _curve(v["level"]), _curve(v["range"]))
        for name, curve in (("level", cal.level), ("range", cal.range)):
            a, h = zip(*curve, strict=True)
            if list(a) != sorted(a) or list(h) != sorted(h) or len(set(h)) != len(h):
                raise EngineError(f"prosody calibration {model_id!r}: {name} is not monotonic")
        return cal

    def level_edit(self, heard: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Semitones to ask so that ``heard`` is heard, within the model's clean reach."""
        asked, got = zip(*self.level, strict=True)
        out: npt.NDArray[np.float64] = np.interp(heard, got, asked)
        return out

    def range_edit(self, heard: float) -> float:
        """Range factor to ask so that ``heard`` is heard, within the model's clean reach."""
        asked, got = zip(*self.range, strict=True)
        return float(np.exp(np.interp(np.log(heard), np.log(got), np.log(asked))))

    def remainder(self, c: Controls) -> Controls:
        """What of ``c``'s level and range the model cannot give: the synthesizer's share.

        >>> Calibration(0.15, level=((-3, -2.5), (0, 0), (3, 2.5))).remainder(
        ...     Controls(pitch=4.0)).pitch
        1.5
        """
        lo, hi = self.level[0][1], self.level[-1][1]
        rlo, rhi = self.range[0][1], self.range[-1][1]
        pitch = c.pitch - float(np.clip(c.pitch, lo, hi))
        rng = c.pitch_range / float(np.clip(c.pitch_range, rlo, rhi))
        return replace(c, pitch=pitch, pitch_range=rng)


def _curve(points: Any) -> tuple[tuple[float, float], ...]:
    return tuple((float(a), float(h)) for a, h in points)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one segment's pitch should do, in realised units (semitones, range factors)."""

    level: float = 0.0
    """Semitones added everywhere."""
    range: float = 1.0
    """Factor on the excursions around the segment's median."""
    accent: float = 1.0
    """Extra factor on the excursions above the median (the peaks)."""
    declination: float = 0.0
    """Semitones from the first voiced symbol to the last, centred (negative falls)."""
    final_rise: float = 0.0
    """Semitones added over the last syllables."""

    @property
    def identity(self) -> bool:
        return self == Plan()


def plan(c: Controls, text: str) -> Plan:
    """The segment's plan from its controls; ``text`` tells whether it asks a question.

    >>> plan(Controls(pitch=2.0, question_rise=3.0), "好吗？").final_rise
    3.0
    """
    question = text.rstrip().endswith(QUESTION_MARKS)
    return Plan(
        level=c.pitch,
        range=c.pitch_range,
        accent=c.accent,
        declination=c.declination,
        final_rise=c.final_rise + (c.question_rise if question else 0.0),
    )


def finals(symbols: list[str]) -> list[bool]:
    """Which symbols are syllable finals (the voiced part carrying the tone): ``uo1``, ``er5``.

    >>> finals(["sil", "h", "ao3", "#1", "eos"])
    [False, False, True, False, False]
    """
    return [len(s) > 1 and s[-1] in "12345" and s[0] != "#" for s in symbols]


def contour(voiced: list[bool], frames: npt.NDArray[np.int32], p: Plan) -> Values:
    """Semitones to add to each symbol: level, declination and final rise.

    Declination runs linearly in time (frame centres) from ``-d/2`` at the first voiced
    symbol to ``+d/2`` at the last (``d = -2`` falls two semitones), so the segment's
    median stays put. The final rise
    climbs over the last :data:`RISE_SYLLABLES` finals; symbols after the last final (the
    trailing pause) keep its value so the decoder sees no jump.
    """
    n = len(voiced)
    out = np.full(n, p.level, np.float64)
    idx = [i for i, v in enumerate(voiced) if v]
    if not idx:
        return out.astype(np.float32)
    if p.declination:
        centre = np.cumsum(frames) - frames / 2.0
        t0, t1 = centre[idx[0]], centre[idx[-1]]
        pos = np.clip((centre - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)
        out += p.declination * (pos - 0.5)
    if p.final_rise:
        last = idx[-RISE_SYLLABLES:]
        for k, i in enumerate(last):
            out[i] += p.final_rise * (k + 1) / len(last)
        for i in range(last[-1] + 1, n):
            out[i] += p.final_rise
        if len(last) > 1:  # the markers between the rising syllables climb with them
            for i in range(last[0] + 1, last[-1]):
                if not voiced[i]:
                    out[i] += p.final_rise / len(last)
    return out.astype(np.float32)


def edit_pitch(
    pitch: Values,
    voiced: list[bool],
    p: Plan,
    cal: Calibration,
    frames: npt.NDArray[np.int32] | None = None,
) -> Values:
    """The per-symbol normalized pitch after the plan, as the decoder takes it.

    Wanted semitones and range factors are turned into asked ones through the calibration
    curves, which also stop them at the model's clean reach (the rest is
    :meth:`Calibration.remainder`'s). The median is taken over the voiced symbols
    (finals); every symbol is moved, so unvoiced initials and pauses keep their place
    relative to their neighbours.
    """
    if p.identity:
        return pitch
    if frames is None:
        frames = np.ones(len(voiced), np.int32)
    u = np.maximum(1.0 + cal.ratio * pitch.astype(np.float64), _FLOOR)
    log_u = np.log(u)
    mask = np.asarray(voiced, bool)
    median = float(np.median(log_u[mask])) if mask.any() else 0.0
    dev = log_u - median
    down = cal.range_edit(p.range)
    up = cal.range_edit(p.range * p.accent)
    dev = np.where(dev > 0, dev * up, dev * down)
    shift = cal.level_edit(contour(voiced, frames, p).astype(np.float64))
    edited = np.exp(median + dev + shift * _LN_SEMITONE)
    return ((np.maximum(edited, _FLOOR) - 1.0) / cal.ratio).astype(np.float32)


CONTOUR_CONTROLS = ("accent", "declination", "final_rise", "question_rise")
"""The :class:`~hanvoice.engines.base.Controls` fields only this module realises."""
