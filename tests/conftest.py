from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hanvoice.synth import Synthesizer
from hanvoice.voices import VoiceCatalog


@pytest.fixture(scope="session")
def catalog() -> VoiceCatalog:
    return VoiceCatalog()


@pytest.fixture(scope="session")
def voice(catalog: VoiceCatalog) -> Synthesizer:
    return catalog.get()
