from __future__ import annotations

import pytest

from hanvoice.cache.entry import CachedAudio, CorruptEntry
from hanvoice.cache.memory import MemoryLRU


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def entry(n: int, tag: str = "") -> CachedAudio:
    return CachedAudio(b"x" * n, "wav", "audio/wav", 24000, 1.0, {"tag": tag})


def test_entry_round_trip() -> None:
    e = CachedAudio(b"RIFF\x00audio", "mp3", "audio/mpeg", 16000, 1.25, {"timestamps": [1, 2]})
    assert CachedAudio.from_bytes(e.to_bytes()) == e


@pytest.mark.parametrize(
    "blob", [b"", b"HVC1", b"nope" * 10, b"HVC1\x00\x00\xff\xff{}", b"HVC1\x00\x00\x00\x02{}"]
)
def test_corrupt_entries_are_refused(blob: bytes) -> None:
    with pytest.raises(CorruptEntry):
        CachedAudio.from_bytes(blob)


def test_bounded_in_bytes_evicts_least_recently_used() -> None:
    lru = MemoryLRU(3 * entry(1000).size, max_entry_bytes=10_000)
    for k in "abc":
        assert lru.set(k, entry(1000, k), ttl=60)
    assert lru.get("a") is not None  # a is now the most recent
    lru.set("d", entry(1000, "d"), ttl=60)
    assert lru.get("b") is None
    assert [k for k in "acd" if lru.get(k) is not None] == ["a", "c", "d"]
    assert lru.bytes_used <= lru.max_bytes


def test_a_large_entry_evicts_several_small_ones() -> None:
    small = entry(100).size
    lru = MemoryLRU(10 * small, max_entry_bytes=10 * small)
    for i in range(10):
        lru.set(str(i), entry(100), ttl=60)
    lru.set("big", entry(5 * small), ttl=60)
    assert lru.get("big") is not None
    assert lru.bytes_used <= lru.max_bytes
    assert len(lru) < 10


def test_oversized_entries_are_not_kept() -> None:
    lru = MemoryLRU(100_000)  # default max entry: an eighth
    assert not lru.set("big", entry(50_000), ttl=60)
    assert lru.get("big") is None and lru.bytes_used == 0


def test_entries_expire() -> None:
    clock = Clock()
    lru = MemoryLRU(100_000, clock=clock)
    lru.set("k", entry(10), ttl=5)
    clock.now = 4.9
    assert lru.get("k") is not None
    clock.now = 5.0
    assert lru.get("k") is None
    assert lru.bytes_used == 0


def test_replacing_a_key_keeps_the_byte_count_right() -> None:
    lru = MemoryLRU(100_000)
    lru.set("k", entry(1000), ttl=60)
    lru.set("k", entry(2000), ttl=60)
    assert len(lru) == 1 and lru.bytes_used == entry(2000).size


def test_zero_ttl_is_not_stored() -> None:
    lru = MemoryLRU(100_000)
    assert not lru.set("k", entry(10), ttl=0)
