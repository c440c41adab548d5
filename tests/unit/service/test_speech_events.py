"""OpenAI's speech events (``stream_format: "sse"``): framing, order, and a late error."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

from hanvoice.service.errors import RequestTimeout
from hanvoice.service.streaming import speech_events


async def _chunks(parts: list[bytes], fail: bool = False) -> AsyncIterator[bytes]:
    for p in parts:
        yield p
    if fail:
        raise RequestTimeout("synthesis took longer than 1 s")


def _events(parts: list[bytes], fail: bool = False) -> list[dict[str, object]]:
    async def collect() -> bytes:
        return b"".join([e async for e in speech_events(_chunks(parts, fail), 7)])

    text = asyncio.run(collect()).decode()
    assert text.endswith("\n\n") and all(b.startswith("data: ") for b in text.split("\n\n")[:-1])
    return [json.loads(block[6:]) for block in text.split("\n\n")[:-1]]


def test_deltas_then_done_and_the_bytes_join_up() -> None:
    parts = [b"RIFF\x00\x01", bytes(range(256)), b"\xff" * 1000]
    events = _events(parts)
    assert [e["type"] for e in events] == ["speech.audio.delta"] * 3 + ["speech.audio.done"]
    assert b"".join(base64.b64decode(str(e["audio"])) for e in events[:3]) == b"".join(parts)
    assert events[-1]["usage"] == {"input_tokens": 7, "output_tokens": 0, "total_tokens": 7}


def test_an_error_after_the_first_event_is_an_error_event() -> None:
    events = _events([b"abc"], fail=True)
    assert [e["type"] for e in events] == ["speech.audio.delta", "error"]
    assert events[-1]["error"] == {"code": "timeout", "message": "synthesis took longer than 1 s"}
