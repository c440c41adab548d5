"""A lean HTTP/1.1 load generator: one keep-alive connection per client, JSON in, the whole
answer read back.

Why not httpx: a flood of refused requests (hundreds per second) costs httpx ~1.4 ms of CPU
per request in the benchmark's own process, more than the server spends on a 503, and the
two share the machine's cores. The load generator must not be what is measured, so the
overload figures use this client; the bodies are still read whole and the statuses checked.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One persistent connection to ``url``'s host; ``post`` sends a JSON body."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._rw: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: Any) -> Answer:
        data = json.dumps(body, ensure_ascii=False).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        if self._rw is None:
            self._rw = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._rw
        writer.write(head + data)
        status_line = await reader.readline()
        if not status_line:  # the server closed a kept-alive connection: once more, fresh
            await self.close()
            return await self.post(path, body)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise ValueError(f"no Content-Length in the answer to {path}")
        payload = await reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Answer(int(status_line.split()[1]), headers, payload)

    async def close(self) -> None:
        if self._rw is not None:
            self._rw[1].close()
            self._rw = None
