from __future__ import annotations

import time

import pytest

from hanvoice.errors import AnswerTooLarge
from hanvoice.service.audio_store import AudioStore


def test_ids_are_random_not_derived_from_the_audio() -> None:
    store = AudioStore(max_bytes=1000, ttl=60)
    name = store.put(b"abc", "wav", "audio/wav")
    assert len(name) == 36 and name.endswith(".wav")
    item = store.get(name)
    assert item is not None and item.data == b"abc" and item.media_type == "audio/wav"
    again = store.put(b"abc", "wav", "audio/wav")
    assert again != name and store.size == 6  # the same audio twice: two links


def test_a_link_belongs_to_its_maker() -> None:
    store = AudioStore(max_bytes=1000, ttl=60)
    mine = store.put(b"abc", "wav", "audio/wav", owner="api_key:a")
    assert store.get(mine, "api_key:a") is not None
    assert store.get(mine, "api_key:b") is None and store.get(mine) is None
    anyone = store.put(b"abc", "wav", "audio/wav")
    assert store.get(anyone, "api_key:b") is not None


def test_one_identity_holds_a_quarter_at_most() -> None:
    store = AudioStore(max_bytes=400, ttl=60)
    other = store.put(b"o" * 100, "wav", "audio/wav", owner="jwt:other")
    links = [store.put(bytes([i]) * 40, "wav", "audio/wav", owner="jwt:flood") for i in range(10)]
    kept = [n for n in links if store.get(n, "jwt:flood") is not None]
    assert kept == links[-2:]  # 80 bytes of its own newest: within its 100
    assert store.get(other, "jwt:other") is not None


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
