"""Values of SSML attributes: durations, and prosody rate, pitch and volume in any of the
forms SSML allows (``"fast"``, ``"+20%"``, ``"1.2"``; ``"+2st"``, ``"high"``; ``"-6dB"``,
``"loud"``), turned into a multiplier, semitones and dB, and clamped to what the
synthesizer accepts."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from hanvoice.errors import SSMLError

MAX_BREAK = 10.0
_RATE = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
_PITCH = {"x-low": -4.0, "low": -2.0, "medium": 0.0, "default": 0.0, "high": 2.0, "x-high": 4.0}
_VOLUME = {"silent": -30.0, "x-soft": -12.0, "soft": -6.0, "medium": 0.0, "default": 0.0,
           "loud": 6.0, "x-loud": 10.0}  # fmt: skip
RATE_RANGE = (0.5, 2.0)
PITCH_RANGE = (-6.0, 6.0)
VOLUME_RANGE = (-30.0, 12.0)


def number(value: str, bad: Callable[[str], SSMLError]) -> float:
    try:
        x = float(value)
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise bad(f"{value!r} is not a number")
    return x


def duration(value: str, bad: Callable[[str], SSMLError]) -> float:
    m = re.fullmatch(r"(\d{1,9}(?:\.\d{1,9})?)\s*(ms|s)", value.strip())
    if not m:
        raise bad(f'time must look like "500ms" or "1.5s", got {value!r}')
    seconds = float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
    if seconds > MAX_BREAK:
        raise bad(f"a break is at most {MAX_BREAK:g} s, got {value!r}")
    return seconds


def rate(value: str, bad: Callable[[str], SSMLError]) -> float:
    v = value.strip().lower()
    if v in _RATE:
        return _RATE[v]
    if v.endswith("%"):
        x = number(v[:-1], bad)
        return 1.0 + x / 100.0 if v[0] in "+-" else x / 100.0
    return number(v, bad)


def pitch(value: str, bad: Callable[[str], SSMLError]) -> float:
    v = value.strip().lower()
    if v in _PITCH:
        return _PITCH[v]
    if v.endswith("st"):
        return number(v[:-2], bad)
    if v.endswith("%"):
        factor = 1.0 + number(v[:-1], bad) / 100.0
        return 12.0 * math.log2(max(factor, 0.01))
    if v.endswith("hz"):
        factor = 1.0 + number(v[:-2], bad) / 200.0  # relative to a typical 200 Hz voice
        return 12.0 * math.log2(max(factor, 0.01))
    return number(v, bad)


def volume(value: str, bad: Callable[[str], SSMLError]) -> float:
    v = value.strip().lower()
    if v in _VOLUME:
        return _VOLUME[v]
    if v.endswith("db"):
        return number(v[:-2], bad)
    if v.endswith("%"):
        factor = number(v[:-1], bad) / 100.0 + (1.0 if v[0] in "+-" else 0.0)
        return 20.0 * math.log10(max(factor, 0.001))
    return number(v, bad)


def clamp(
    name: str, value: float | None, bounds: tuple[float, float], warnings: list[str]
) -> float | None:
    if value is None:
        return None
    lo, hi = bounds
    if value < lo or value > hi:
        warnings.append(f"prosody {name} {value:g} is outside {lo:g}..{hi:g}; clamped")
        return min(max(value, lo), hi)
    return value
