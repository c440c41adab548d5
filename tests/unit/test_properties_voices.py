"""Every voice speaks whatever the front end accepts: generated text, SSML and parameters
give audio or a client error (a 4xx), never an exception (``support.generators``).

CI runs a few hundred examples; ``python -m bench.fuzz`` runs thousands. A failing example
becomes a table row (``tests/unit/engines/test_short_sentences.py`` holds the first class
this found: one-character sentences)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hanvoice.synth import Synthesizer
from hanvoice.voices import VoiceCatalog
from support.generators import PARAMS, SSML, TEXT, attempt

FIXTURE_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURE_OK)
@given(text=TEXT, params=PARAMS, early=st.booleans())
def test_bundled_voice_any_text(voice: Synthesizer, text: str, params: dict[str, Any],
                                early: bool) -> None:  # fmt: skip
    attempt(voice, text, params=params, early=early)


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURE_OK)
@given(doc=SSML, params=PARAMS)
def test_bundled_voice_any_ssml(voice: Synthesizer, doc: str, params: dict[str, Any]) -> None:
    attempt(voice, doc, ssml=True, params=params, early=True)


@pytest.fixture(scope="module")
def mellotron(catalog: VoiceCatalog) -> Synthesizer:
    others = [v for v in catalog.ids if catalog.configs[v].engine == "mellotron"]
    if not others:
        pytest.fail("the Mellotron voice set is not installed: run scripts/setup.sh --voices")
    return catalog.get(others[0])


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(text=st.one_of(TEXT, SSML), params=PARAMS)
def test_mellotron_voice_any_text(mellotron: Synthesizer, text: str,
                                  params: dict[str, Any]) -> None:  # fmt: skip
    attempt(mellotron, text, ssml=text.startswith("<speak"), params=params)
