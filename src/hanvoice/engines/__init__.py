"""Engines are found through the ``hanvoice.engines`` entry-point group, so a separate
package can add one by declaring ``[project.entry-points."hanvoice.engines"]``.

An engine describes its own voices through this seam; the catalogue knows no engine's
insides. Besides being called with a :class:`VoiceConfig`, an engine class may offer:

* ``describe(config) -> VoiceInfo``: the listing without loading the weights;
* ``offered_voices() -> list[VoiceConfig]``: the voices it brings where it is installed
  (the bundled voice; the Mellotron set once set up);
* ``unavailable_reason(voice_id) -> str``: why one of its voice ids is not offered here
  ("" when the id is not its own).
"""

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
    "offered_voices",
    "unavailable_reason",
]


def _targets() -> dict[str, str]:
    found = {ep.name: ep.value for ep in entry_points(group="hanvoice.engines")}
    return {**_BUILTIN, **found}


def engine_names() -> list[str]:
    return sorted(_targets())


def _factory(config: VoiceConfig) -> EngineFactory:
    factory = _by_name(config.engine)
    if factory is None:
        raise VoiceNotFound(
            f"voice {config.id!r} needs engine {config.engine!r}, which is not installed; "
            f"installed engines: {', '.join(engine_names())}"
        )
    return factory


def _by_name(name: str) -> EngineFactory | None:
    target = _targets().get(name)
    if target is None:
        return None
    module_name, _, attr = target.partition(":")
    import importlib

    return cast(EngineFactory, getattr(importlib.import_module(module_name), attr))


def _engines() -> list[EngineFactory]:
    """Every engine that imports here, in registration order (built-in ones first)."""
    out = []
    for name in _targets():
        try:
            factory = _by_name(name)
        except ImportError:  # a plug-in whose own dependencies are missing offers nothing
            continue
        if factory is not None:
            out.append(factory)
    return out


def offered_voices() -> list[VoiceConfig]:
    """The voices the installed engines bring, without any voices file."""
    out: list[VoiceConfig] = []
    for factory in _engines():
        offer = getattr(factory, "offered_voices", None)
        if callable(offer):
            out += cast(list[VoiceConfig], offer())
    return out


def unavailable_reason(voice_id: str) -> str:
    """Why ``voice_id`` is not offered here, if an engine knows it ("" otherwise)."""
    for factory in _engines():
        why = getattr(factory, "unavailable_reason", None)
        reason = cast(str, why(voice_id)) if callable(why) else ""
        if reason:
            return reason
    return ""


def describe_voice(config: VoiceConfig) -> VoiceInfo | None:
    """The voice's listing without loading it, if its engine offers a ``describe(config)``;
    ``None`` otherwise (the caller then loads the voice to ask it)."""
    describe = getattr(_factory(config), "describe", None)
    return cast(VoiceInfo, describe(config)) if callable(describe) else None


def load_engine(config: VoiceConfig) -> Engine:
    """Build the engine named in ``config``; unknown engines are an error, never a fallback."""
    return _factory(config)(config)
