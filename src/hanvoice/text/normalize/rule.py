"""One normalization rule: a pattern and what to put in place of its matches."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hanvoice.text.buffer import Replacement


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    """For logs and tests (``"date"``, ``"phone"`` ...)."""
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], Replacement]
    """Returns the new text (or pieces with fixed readings), or ``None`` to skip the match."""
