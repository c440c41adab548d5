from __future__ import annotations

import pytest

from hanvoice.engines.fastspeech2.assets import find_asset_dir
from hanvoice.engines.fastspeech2.symbols import SymbolTable
from hanvoice.text import Frontend


@pytest.fixture(scope="session")
def frontend() -> Frontend:
    return Frontend()


@pytest.fixture(scope="session")
def table() -> SymbolTable:
    return SymbolTable(find_asset_dir() / "baker_mapper.json")
