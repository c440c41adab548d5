"""The voice catalogue: which voices exist here and loading them on first use.

The bundled voice ``baker`` is always present. More voices come from a YAML file
(``HANVOICE_VOICES_FILE`` or ``--voices``) listing ``id``, ``engine``, ``path`` and
engine options, e.g. a local Sambert model folder.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from hanvoice.engines import load_engine
from hanvoice.engines.base import VoiceConfig
from hanvoice.errors import VoiceNotFound
from hanvoice.synth import Synthesizer
from hanvoice.text import Frontend

DEFAULT_VOICE = "baker"


def builtin_voices() -> list[VoiceConfig]:
    return [VoiceConfig(id=DEFAULT_VOICE, engine="fastspeech2")]


def voices_from_file(path: Path) -> list[VoiceConfig]:
    data: Any = yaml.safe_load(path.read_text("utf-8")) or {}
    out = []
    for entry in data.get("voices", []):
        options = {k: v for k, v in entry.items() if k not in ("id", "engine", "path")}
        p = entry.get("path")
        out.append(VoiceConfig(str(entry["id"]), str(entry["engine"]), Path(p) if p else None, options))
    return out


class VoiceCatalog:
    """Voices by id; each is loaded once, on first use, and shared (thread-safe)."""

    def __init__(
        self, configs: Iterable[VoiceConfig] | None = None, frontend: Frontend | None = None
    ) -> None:
        self.configs = {c.id: c for c in (configs if configs is not None else builtin_voices())}
        self.frontend = frontend or Frontend()
        self._loaded: dict[str, Synthesizer] = {}
        self._lock = threading.Lock()

    @property
    def ids(self) -> list[str]:
        return list(self.configs)

    def get(self, voice_id: str | None = None) -> Synthesizer:
        vid = voice_id or DEFAULT_VOICE
        config = self.configs.get(vid)
        if config is None:
            raise VoiceNotFound(f"unknown voice {vid!r}; available: {', '.join(self.configs)}")
        with self._lock:
            synth = self._loaded.get(vid)
            if synth is None:
                synth = Synthesizer(load_engine(config), self.frontend)
                self._loaded[vid] = synth
            return synth

    def close(self) -> None:
        with self._lock:
            for s in self._loaded.values():
                s.engine.close()
            self._loaded.clear()
