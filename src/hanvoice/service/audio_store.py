"""Results kept for ``"return": "url"``: ``/audio/<id>.<ext>`` for a while, bounded in bytes.

Ids are random (192 bits): an id derived from the audio could be computed by anyone who
guesses a text, and its 200/404 would tell that someone else had it spoken. A link may
belong to the identity that made it (``owner``): then only that identity gets it, anyone
else a 404 as for an id that does not exist. Each owner holds at most a quarter of the store
(its own oldest links go first), so one client cannot push out everyone else's. Names are
checked against a strict pattern before any lookup: no path ever reaches the file system.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from hanvoice.errors import AnswerTooLarge

NAME = re.compile(r"^([A-Za-z0-9_-]{32})\.([a-z0-9]{2,4})$")


@dataclass(frozen=True, slots=True)
class Stored:
    data: bytes
    media_type: str
    expires: float
    """``time.time()`` after which it is gone."""
    owner: str | None = None
    """The identity that may fetch it (``None``: anyone with the link)."""


class AudioStore:
    def __init__(self, max_bytes: int, ttl: float) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._items: OrderedDict[str, Stored] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def max_entry(self) -> int:
        """Largest answer kept: a quarter of the store, so one cannot push out every other."""
        return self.max_bytes // 4

    def put(self, data: bytes, extension: str, media_type: str, owner: str | None = None) -> str:
        """Keep ``data``; return its file name (``<id>.<ext>``). AnswerTooLarge beyond
        :attr:`max_entry`."""
        if len(data) > self.max_entry:
            raise AnswerTooLarge(
                f"the answer is {len(data) / 2**20:.1f} MB; links keep at most "
                f"{self.max_entry / 2**20:.1f} MB each: ask for base64, or stream it"
            )
        name = f"{secrets.token_urlsafe(24)}.{extension}"
        with self._lock:
            self._items[name] = Stored(data, media_type, time.time() + self.ttl, owner)
            self._bytes += len(data)
            self._evict(owner)
        return name

    def get(self, name: str, who: str | None = None) -> Stored | None:
        """The link's audio for ``who``; ``None`` when unknown, expired or someone else's."""
        if not NAME.match(name):
            return None
        with self._lock:
            item = self._items.get(name)
            if item is None or (item.owner is not None and item.owner != who):
                return None
            if item.expires <= time.time():
                self._drop(name)
                return None
            return item

    def _drop(self, name: str) -> None:
        item = self._items.pop(name)
        self._bytes -= len(item.data)

    def _evict(self, owner: str | None) -> None:
        now = time.time()
        for name in [n for n, it in self._items.items() if it.expires <= now]:
            self._drop(name)
        if owner is not None:  # the owner's own oldest first, beyond its share
            mine = [n for n, it in self._items.items() if it.owner == owner]
            held = sum(len(self._items[n].data) for n in mine)
            for name in mine:
                if held <= self.max_entry:
                    break
                held -= len(self._items[name].data)
                self._drop(name)
        while self._bytes > self.max_bytes and self._items:
            self._drop(next(iter(self._items)))

    @property
    def size(self) -> int:
        return self._bytes
