"""Where the node is in its life: starting -> ready -> draining. Read by /ready and serve."""

from __future__ import annotations

import enum
import time


class Phase(enum.StrEnum):
    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"


class Lifecycle:
    def __init__(self) -> None:
        self.phase = Phase.STARTING
        self.model_loaded = False
        self.started_at = time.time()
        self.draining_since: float | None = None

    def loaded(self) -> None:
        self.model_loaded = True

    def ready(self) -> None:
        if self.phase is Phase.STARTING:
            self.phase = Phase.READY

    def drain(self) -> None:
        """Stop advertising readiness (SIGTERM); requests still in flight finish."""
        if self.phase is not Phase.DRAINING:
            self.phase = Phase.DRAINING
            self.draining_since = time.monotonic()
