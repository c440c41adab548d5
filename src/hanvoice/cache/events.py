"""How the cache reports what happens to it, without knowing about Prometheus.

The service passes an observer that increments its metrics; the CLI and tests use
:class:`NullObserver` or a recording one.
"""

from __future__ import annotations

from typing import Protocol


class CacheObserver(Protocol):
    def hit(self, tier: str) -> None: ...

    def miss(self) -> None: ...

    def error(self, tier: str, op: str) -> None:
        """A backend call failed (timeout, refused, protocol error)."""

    def bypass(self, tier: str, op: str) -> None:
        """A backend call was skipped because the backend is known to be down."""

    def health(self, tier: str, up: bool) -> None: ...


class NullObserver:
    def hit(self, tier: str) -> None:
        pass

    def miss(self) -> None:
        pass

    def error(self, tier: str, op: str) -> None:
        pass

    def bypass(self, tier: str, op: str) -> None:
        pass

    def health(self, tier: str, up: bool) -> None:
        pass
