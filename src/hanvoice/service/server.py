"""uvicorn with a graceful drain on SIGTERM (used by ``hanvoice serve``).

On SIGTERM (or the first Ctrl-C): ``/ready`` answers 503 at once; the server keeps serving
for ``drain_delay`` seconds (so load balancers stop sending traffic), waits until the
admitted syntheses are done (at most ``drain_timeout`` more), then uvicorn stops accepting
connections, lets responses finish and exits. A second signal quits at once.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI

from hanvoice.config import Settings
from hanvoice.service.app import create_app, load_catalog
from hanvoice.service.logging import configure_logging
from hanvoice.service.protocol import BoundedWebSocket, bounded_http

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI, delay: float, timeout: float) -> None:
        super().__init__(config)
        self.app = app
        self.delay = delay
        self.timeout = timeout
        self.drain_requested: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_requested is not None or sig not in (signal.SIGTERM, signal.SIGINT):
            self.force_exit = self.drain_requested is not None
            super().handle_exit(sig, frame)
            return
        self._captured_signals.append(sig)
        self.drain_requested = time.monotonic()
        self.app.state.lifecycle.drain()
        log.info("signal %d: draining (ready=503, in-flight requests finish)", sig)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_requested is not None and not self.should_exit:
            waited = time.monotonic() - self.drain_requested
            pool = getattr(self.app.state, "pool", None)
            busy = pool.admitted if pool is not None else 0
            if waited >= self.delay and (busy == 0 or waited >= self.delay + self.timeout):
                log.info("drained (%d still in flight after %.1f s); stopping", busy, waited)
                self.should_exit = True
        return await super().on_tick(counter)


def run(settings: Settings) -> None:
    # one JSON object per line on stderr for every logger, uvicorn's included (issue 5)
    configure_logging(settings.log_level, settings.log_format)
    load_catalog(settings)  # a wrong voice setting: one line and exit 2, before uvicorn
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=max(5, int(settings.drain_timeout)),
        # the door's limits uvicorn lacks (header time and size), a transport to drop for a
        # client that stops reading, and the body limit on WebSocket messages as they arrive
        http=bounded_http(settings),
        ws=BoundedWebSocket,
        ws_max_size=settings.max_body_bytes,
        limit_concurrency=settings.max_connections,
        # who the client is, is decided once, from trusted_proxies (service.clientip):
        # uvicorn's own X-Forwarded-For handling trusts anyone on loopback
        proxy_headers=False,
    )
    DrainingServer(config, app, settings.drain_delay, settings.drain_timeout).run()
