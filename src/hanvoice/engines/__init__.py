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
    "describe_voice",
    "engine_names",
    "load_engine",
]


def _targets() -> dict[str, str]:
    found = {ep.name: ep.value for ep in entry_points(group="hanvoice.engines")}
    return {**_BUILTIN, **found}


def engine_names() -> list[str]:
    return sorted(_targets())


def _factory(config: VoiceConfig) -> EngineFactory:
    target = _targets().get(config.engine)
    if target is None:
        raise VoiceNotFound(
            f"voice {config.id!r} needs engine {config.engine!r}, which is not installed; "
            f"installed engines: {', '.join(engine_names())}"
        )
    module_name, _, attr = target.partition(":")
    import importlib

    return cast(EngineFactory, getattr(importlib.import_module(module_name), attr))


def describe_voice(config: VoiceConfig) -> VoiceInfo | None:
    """The voice's listing without loading it, if its engine offers a ``describe(config)``;
    ``None`` otherwise (the caller then loads the voice to ask it)."""
    describe = getattr(_factory(config), "describe", None)
    return cast(VoiceInfo, describe(config)) if callable(describe) else None


def load_engine(config: VoiceConfig) -> Engine:
    """Build the engine named in ``config``; unknown engines are an error, never a fallback."""
    return _factory(config)(config)
