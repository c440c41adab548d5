"""Engines are found through the ``hanvoice.engines`` entry-point group, so a separate
package can add one by declaring ``[project.entry-points."hanvoice.engines"]``."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import cast

from hanvoice.engines.base import Controls, Engine, EngineFactory, Rendered, VoiceConfig, VoiceInfo
from hanvoice.errors import VoiceNotFound

_BUILTIN = {
    "fastspeech2": "hanvoice.engines.fastspeech2:FastSpeech2Engine",
    "sambert": "hanvoice.engines.sambert:SambertEngine",
    "mellotron": "hanvoice.engines.mellotron:MellotronEngine",
}

__all__ = [
    "Controls",
    "Engine",
    "EngineFactory",
    "Rendered",
    "VoiceConfig",
    "VoiceInfo",
    "engine_names",
    "load_engine",
]


def _targets() -> dict[str, str]:
    found = {ep.name: ep.value for ep in entry_points(group="hanvoice.engines")}
    return {**_BUILTIN, **found}


def engine_names() -> list[str]:
    return sorted(_targets())


def load_engine(config: VoiceConfig) -> Engine:
    """Build the engine named in ``config``; unknown engines are an error, never a fallback."""
    target = _targets().get(config.engine)
    if target is None:
        raise VoiceNotFound(
            f"voice {config.id!r} needs engine {config.engine!r}, which is not installed; "
            f"installed engines: {', '.join(engine_names())}"
        )
    module_name, _, attr = target.partition(":")
    import importlib

    factory = cast(EngineFactory, getattr(importlib.import_module(module_name), attr))
    return factory(config)
