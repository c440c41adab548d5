"""The service runs the bundled voice one core per request (it serves requests side by side)."""

from __future__ import annotations

import pytest

from hanvoice.engines.base import VoiceConfig
from hanvoice.service.app import _one_core_per_request


@pytest.mark.parametrize(
    ("config", "workers"),
    [
        (VoiceConfig("baker", "fastspeech2"), 0),
        (VoiceConfig("baker", "fastspeech2", None, {"workers": 2}), 2),  # a voices file wins
        (VoiceConfig("zhitian", "sambert", None, {"speaker": "x"}), None),  # other engines
    ],
)
def test_one_core_per_request(
    config: VoiceConfig, workers: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANVOICE_VOCODER_WORKERS", raising=False)
    assert _one_core_per_request(config).options.get("workers") == workers


def test_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANVOICE_VOCODER_WORKERS", "2")
    config = VoiceConfig("baker", "fastspeech2")
    assert _one_core_per_request(config) == config
