from __future__ import annotations

import pytest

from hanvoice.asr.engine import Recognizer


@pytest.fixture(scope="session")
def recognizer() -> Recognizer:
    """The real Whisper base model, loaded once for the session."""
    return Recognizer.load()
