"""The HTTP service (FastAPI). The only package of hanvoice that imports FastAPI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hanvoice.service.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from hanvoice.service.app import create_app

        return create_app
    raise AttributeError(name)
