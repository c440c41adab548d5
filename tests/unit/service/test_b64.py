"""Base64 answers: remembered when short (frequent phrases), never when long (memory)."""

from __future__ import annotations

import base64

import pytest

from hanvoice.service.routes import _common
from hanvoice.service.routes._common import B64_MEMO_MAX_BYTES, b64


@pytest.mark.parametrize(
    ("size", "remembered"),
    [(10, True), (B64_MEMO_MAX_BYTES, True), (B64_MEMO_MAX_BYTES + 1, False)],
)
def test_only_short_answers_are_remembered(size: int, remembered: bool) -> None:
    _common._b64_memo.cache_clear()
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert base64.b64decode(b64(data)) == data
    assert (_common._b64_memo.cache_info().currsize == 1) is remembered
