"""``hanvoice serve``: run the service with uvicorn, draining gracefully on SIGTERM.

On SIGTERM (or the first Ctrl-C): ``/ready`` answers 503 at once; the server keeps serving
for ``drain_delay`` seconds (load balancers notice), waits until the in-flight syntheses are
done (at most ``drain_timeout``), then stops accepting connections, lets the responses
finish, and exits. A second Ctrl-C quits at once.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("serve", help="run the HTTP service and web page (port 5000)")
    p.add_argument("--host", default=None, help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default 5000)")
    p.add_argument("--config", default=None, help="YAML settings file (or HANVOICE_CONFIG)")
    p.add_argument("--workers", type=int, default=None, help="inference threads (0 = cores)")
    p.add_argument("--voices-file", default=None, help="YAML file of extra voices")
    p.add_argument(
        "--print-config", action="store_true", help="print the effective settings and exit"
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    import json

    from hanvoice.config import Settings

    settings = Settings.load(
        args.config,
        host=args.host,
        port=args.port,
        workers=args.workers,
        voices_file=args.voices_file,
    )
    if args.print_config:
        print(json.dumps(settings.public(), indent=2, ensure_ascii=False))
        return 0
    serve(settings)
    return 0


def serve(settings: Any) -> None:
    from hanvoice.service.server import run

    _tune_malloc()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    run(settings)


GIL_SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (Python's default: 5 ms).
The event loop needs the GIL a dozen times per request; behind threads walking requests
through their pieces it waited up to 5 ms each time, so a 503 or a cache hit took tens of
milliseconds under full load. Inference itself runs with the GIL released."""


def _tune_malloc() -> None:
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
    import contextlib
    import ctypes
    import ctypes.util
    import os

    name = ctypes.util.find_library("c")
    if not name:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(name)
        if "MALLOC_ARENA_MAX" not in os.environ:
            libc.mallopt(M_ARENA_MAX, 2)
        if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
            libc.mallopt(M_TRIM_THRESHOLD, 4 * MMAP_THRESHOLD)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
"""glibc's ``mallopt`` parameter numbers (malloc.h)."""
MMAP_THRESHOLD = 1 << 20
