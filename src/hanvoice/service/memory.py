"""The server process's memory: how glibc's allocator is set, and giving freed memory back.

Only ``hanvoice serve`` calls these (a library user's process is theirs to tune).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import os
from typing import Any


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def tune_malloc() -> None:
    """Two glibc malloc arenas instead of up to eight per core, and a fixed threshold above
    which blocks are mapped (and given back to the system when freed).

    Each thread that allocates gets its own arena; the audio buffers of requests handled on
    different worker threads then fragment many heaps and resident memory creeps up. With
    two, the server stays ~16 MB lower under 16 clients (docs/performance.md).

    glibc's mmap threshold is dynamic: freeing a mapped block raises it to that block's size
    (up to 32 MB). After the first long answer (a 3,000-character text is ~30 MB of PCM) every
    later buffer below that size came from the heaps, whose freed middles are never returned:
    under eight clients sending long texts the server sat ~110 MB higher. A fixed 1 MB
    threshold keeps large audio buffers mapped, so their memory leaves with them; the small
    ones (a vocoder window is ~0.25 MB) stay on the heaps. ``MALLOC_ARENA_MAX`` /
    ``MALLOC_MMAP_THRESHOLD_`` in the environment win; elsewhere than glibc this does
    nothing.
    """
    libc = _libc()
    if libc is None:
        return
    with contextlib.suppress(AttributeError):
        if "MALLOC_ARENA_MAX" not in os.environ:
            libc.mallopt(M_ARENA_MAX, 2)
        if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
            libc.mallopt(M_TRIM_THRESHOLD, 4 * MMAP_THRESHOLD)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
"""glibc's ``mallopt`` parameter numbers (malloc.h)."""
MMAP_THRESHOLD = 1 << 20
TRIM_EVERY = 2.0
"""Seconds between two :func:`trim` calls in a running server."""


def trim() -> None:
    """Give the free pages inside the malloc heaps back to the system (``malloc_trim``).

    A heap only shrinks from its top; a long answer's buffers freed in its middle stay
    resident. After rounds of long texts from eight clients the heaps held ~150 MB of such
    pages with nothing in flight."""
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc is not None:
            libc.malloc_trim(0)


async def trim_periodically(every: float = TRIM_EVERY) -> None:
    """:func:`trim` every ``every`` seconds, off the event loop (it takes a few ms)."""
    while True:
        await asyncio.sleep(every)
        await asyncio.to_thread(trim)
