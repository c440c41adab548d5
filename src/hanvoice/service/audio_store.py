"""Results kept for ``"return": "url"``: ``/audio/<id>.<ext>`` for a while, bounded in bytes.

The id is the SHA-256 of the audio bytes (first 32 hex digits), so the same audio always has
the same URL and an id cannot be guessed without the audio. Names are checked against a
strict pattern before any lookup: no path ever reaches the file system.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from hanvoice.errors import AnswerTooLarge

NAME = re.compile(r"^([0-9a-f]{32})\.([a-z0-9]{2,4})$")


@dataclass(frozen=True, slots=True)
class Stored:
    data: bytes
    media_type: str
    expires: float
    """``time.time()`` after which it is gone."""


class AudioStore:
    def __init__(self, max_bytes: int, ttl: float) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._items: OrderedDict[str, Stored] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def name_for(data: bytes, extension: str) -> str:
        return f"{hashlib.sha256(data).hexdigest()[:32]}.{extension}"

    @property
    def max_entry(self) -> int:
        """Largest answer kept: a quarter of the store, so one cannot push out every other."""
        return self.max_bytes // 4

    def put(self, data: bytes, extension: str, media_type: str) -> str:
        """Keep ``data``; return its file name (``<id>.<ext>``). AnswerTooLarge beyond
        :attr:`max_entry`."""
        if len(data) > self.max_entry:
            raise AnswerTooLarge(
                f"the answer is {len(data) / 2**20:.1f} MB; links keep at most "
                f"{self.max_entry / 2**20:.1f} MB each: ask for base64, or stream it"
            )
        name = self.name_for(data, extension)
        with self._lock:
            old = self._items.pop(name, None)
            if old is not None:
                self._bytes -= len(old.data)
            self._items[name] = Stored(data, media_type, time.time() + self.ttl)
            self._bytes += len(data)
            self._evict()
        return name

    def get(self, name: str) -> Stored | None:
        if not NAME.match(name):
            return None
        with self._lock:
            item = self._items.get(name)
            if item is None:
                return None
            if item.expires <= time.time():
                self._drop(name)
                return None
            return item

    def _drop(self, name: str) -> None:
        item = self._items.pop(name)
        self._bytes -= len(item.data)

    def _evict(self) -> None:
        now = time.time()
        for name in [n for n, it in self._items.items() if it.expires <= now]:
            self._drop(name)
        while self._bytes > self.max_bytes and self._items:
            self._drop(next(iter(self._items)))

    @property
    def size(self) -> int:
        return self._bytes
