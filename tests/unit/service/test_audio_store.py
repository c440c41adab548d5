from __future__ import annotations

import time

import pytest

from hanvoice.errors import AnswerTooLarge
from hanvoice.service.audio_store import AudioStore


def test_put_get_by_content_hash() -> None:
    store = AudioStore(max_bytes=1000, ttl=60)
    name = store.put(b"abc", "wav", "audio/wav")
    assert name == AudioStore.name_for(b"abc", "wav") and len(name) == 36
    item = store.get(name)
    assert item is not None and item.data == b"abc" and item.media_type == "audio/wav"
    assert store.put(b"abc", "wav", "audio/wav") == name and store.size == 3


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef.w/v",
        "0123456789ABCDEF0123456789ABCDEF.wav",
        "",
        "a" * 32 + ".wav/../x",
    ],
)
def test_names_that_are_not_ids(name: str) -> None:
    assert AudioStore(100, 60).get(name) is None


def test_expiry() -> None:
    store = AudioStore(max_bytes=1000, ttl=0.05)
    name = store.put(b"abc", "wav", "audio/wav")
    time.sleep(0.1)
    assert store.get(name) is None and store.size == 0


def test_bounded_in_bytes_oldest_first() -> None:
    store = AudioStore(max_bytes=40, ttl=60)
    a = store.put(b"a" * 10, "wav", "audio/wav")
    b = store.put(b"b" * 10, "wav", "audio/wav")
    c = store.put(b"c" * 10, "wav", "audio/wav")
    d = store.put(b"d" * 10, "wav", "audio/wav")
    e = store.put(b"e" * 10, "wav", "audio/wav")
    assert store.get(a) is None and all(store.get(n) for n in (b, c, d, e))
    assert store.size == 40


def test_one_answer_takes_a_quarter_at_most() -> None:
    store = AudioStore(max_bytes=40, ttl=60)
    store.put(b"x" * 10, "wav", "audio/wav")
    with pytest.raises(AnswerTooLarge, match="at most"):
        store.put(b"y" * 11, "wav", "audio/wav")
