"""The voice catalogue: which voices exist here and loading them on first use.

The bundled voice ``baker`` is always present; the 24 Mellotron voices join it when their
optional set is set up (``scripts/setup.sh --voices``). More voices come from a YAML file
(``HANVOICE_VOICES_FILE`` or ``--voices``) listing ``id``, ``engine``, ``path`` and
engine options, e.g. a local Sambert model folder.

Listing is cheap (``info``/``infos`` describe a voice without loading it where its engine
can), and OpenAI's voice names map to installed voices by ``data/openai_voices.yaml``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hanvoice.engines import describe_voice, load_engine, offered_voices, unavailable_reason
from hanvoice.engines.base import VoiceConfig, VoiceInfo
from hanvoice.errors import VoiceNotFound
from hanvoice.scheduler import Scheduler
from hanvoice.synth import Synthesizer
from hanvoice.text import Frontend

DEFAULT_VOICE = "baker"


def builtin_voices() -> list[VoiceConfig]:
    """The voices the installed engines bring: the bundled voice, then the Mellotron set's
    if it is set up (each engine says, through :func:`hanvoice.engines.offered_voices`)."""
    return offered_voices()


def openai_preferences() -> dict[str, list[str]]:
    """OpenAI voice name -> our voice ids, most preferred first (``data/openai_voices.yaml``)."""
    text = resources.files("hanvoice").joinpath("data/openai_voices.yaml").read_text("utf-8")
    data: Any = yaml.safe_load(text)
    return {str(k): [str(v) for v in vs] for k, vs in data["openai"].items()}


def voices_from_file(path: Path) -> list[VoiceConfig]:
    data: Any = yaml.safe_load(path.read_text("utf-8")) or {}
    out = []
    for entry in data.get("voices", []):
        options = {k: v for k, v in entry.items() if k not in ("id", "engine", "path")}
        p = entry.get("path")
        out.append(
            VoiceConfig(str(entry["id"]), str(entry["engine"]), Path(p) if p else None, options)
        )
    return out


class VoiceCatalog:
    """Voices by id; each is loaded once, on first use, and shared (thread-safe)."""

    def __init__(
        self,
        configs: Iterable[VoiceConfig] | None = None,
        frontend: Frontend | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.configs = {c.id: c for c in (configs if configs is not None else builtin_voices())}
        self.frontend = frontend or Frontend()
        self.scheduler = scheduler or Scheduler()
        """Where every voice of the catalogue runs its work (one per node)."""
        self._loaded: dict[str, Synthesizer] = {}
        self._openai: dict[str, str] | None = None
        self._lock = threading.Lock()

    @property
    def ids(self) -> list[str]:
        return list(self.configs)

    def get(self, voice_id: str | None = None) -> Synthesizer:
        vid = voice_id or DEFAULT_VOICE
        config = self.require(vid)
        with self._lock:
            synth = self._loaded.get(vid)
            if synth is None:
                synth = Synthesizer(load_engine(config), self.frontend, scheduler=self.scheduler)
                self._loaded[vid] = synth
            return synth

    def info(self, voice_id: str | None = None) -> VoiceInfo:
        """A voice's listing, without loading it when its engine can describe it unloaded
        (the Mellotron set reads one small manifest instead of loading its model)."""
        vid = voice_id or DEFAULT_VOICE
        config = self.require(vid)
        with self._lock:
            loaded = self._loaded.get(vid)
        if loaded is not None:
            return loaded.info
        described = describe_voice(config)
        return described if described is not None else self.get(vid).info

    def infos(self) -> list[VoiceInfo]:
        return [self.info(vid) for vid in self.configs]

    def openai_voices(self) -> dict[str, str]:
        """Each OpenAI voice name -> the first of its preferred voices installed here."""
        if self._openai is None:
            out = {}
            for name, preferred in openai_preferences().items():
                found = next((v for v in preferred if v in self.configs), None)
                if found is not None:
                    out[name] = found
            self._openai = out
        return dict(self._openai)

    def require(self, vid: str) -> VoiceConfig:
        """The voice's config, or VoiceNotFound saying why (unknown, withheld, not set up)."""
        config = self.configs.get(vid)
        if config is not None:
            return config
        reason = unavailable_reason(vid)
        hint = f" ({reason})" if reason else ""
        raise VoiceNotFound(f"unknown voice {vid!r}{hint}; available: {', '.join(self.configs)}")

    def close(self) -> None:
        with self._lock:
            for s in self._loaded.values():
                s.engine.close()
            self._loaded.clear()
