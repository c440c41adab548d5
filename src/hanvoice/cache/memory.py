"""In-process LRU bounded in bytes, with a per-entry expiry.

Bounded in bytes rather than entries because one entry can be 2 KB (a short prompt in mp3)
or 2 MB (a paragraph in wav); a count limit would either waste memory or blow it.
Thread-safe: the CLI warmer and the service's worker threads may share one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from hanvoice.cache.entry import CachedAudio


class MemoryLRU:
    """Least-recently-used cache of :class:`CachedAudio`, at most ``max_bytes`` in total.

    An entry larger than ``max_entry_bytes`` (default: an eighth of the budget) is not kept,
    so one long text cannot flush every greeting.
    """

    name = "memory"

    def __init__(
        self,
        max_bytes: int,
        *,
        max_entry_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes if max_entry_bytes is not None else max_bytes // 8
        self._clock = clock
        self._items: OrderedDict[str, tuple[CachedAudio, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> CachedAudio | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            entry, expires = item
            if expires <= self._clock():
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return entry

    def set(self, key: str, entry: CachedAudio, ttl: float) -> bool:
        """Store ``entry`` for ``ttl`` seconds; False when it is too large to keep."""
        size = entry.size
        if ttl <= 0 or size > self.max_entry_bytes or size > self.max_bytes:
            return False
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = (entry, self._clock() + ttl)
            self._bytes += size
            while self._bytes > self.max_bytes:
                oldest = next(iter(self._items))
                self._drop(oldest)
        return True

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _drop(self, key: str) -> None:
        entry, _ = self._items.pop(key)
        self._bytes -= entry.size
