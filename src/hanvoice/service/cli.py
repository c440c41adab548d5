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
    from hanvoice.service import memory
    from hanvoice.service.server import run

    memory.tune_malloc()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    run(settings)


GIL_SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (Python's default: 5 ms).
The event loop needs the GIL a dozen times per request; behind threads walking requests
through their pieces it waited up to 5 ms each time, so a 503 or a cache hit took tens of
milliseconds under full load. Inference itself runs with the GIL released."""
