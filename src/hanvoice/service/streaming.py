"""Helpers for streamed audio: a sooner first chunk, and a response that always cleans up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from hanvoice.text import Break, Utterance

if TYPE_CHECKING:
    from hanvoice.service.synthesis import AudioStream

MIN_FIRST_SYLLABLES = 4
"""Do not split off a first clause shorter than this (it would sound clipped)."""


def split_first_clause(utt: Utterance) -> Utterance:
    """Cut the first segment after its first clause break, so the first chunk is short.

    Segments are sentences; the first audio of a stream waits for the whole first sentence.
    Splitting it at its first comma lets the first bytes leave after a few syllables; the
    engine ends each segment with its own short pause, so the seam sounds like the comma.
    ``"在一个阳光明媚的早晨，小明走进了学校。"`` -> ``"在一个阳光明媚的早晨，"`` + the rest.
    """
    if not utt.segments:
        return utt
    first = utt.segments[0]
    toks = first.tokens
    syllables = 0
    for i, tok in enumerate(toks[:-1]):
        if tok.spoken:
            syllables += 1
        if tok.boundary < Break.CLAUSE or syllables < MIN_FIRST_SYLLABLES:
            continue
        cut = i + 1
        while cut < len(toks) and not toks[cut].spoken:  # the comma goes with its clause
            cut += 1
        if not any(t.spoken for t in toks[cut:]):
            return utt
        head = replace(first, tokens=toks[:cut], pause_after=0.0)
        tail = replace(first, tokens=toks[cut:], start=first.start + cut)
        return replace(utt, segments=(head, tail, *utt.segments[1:]))
    return utt


async def audio_bytes(
    stream: AudioStream, on_first: Callable[[float], None] | None = None, start: float = 0.0
) -> AsyncIterator[bytes]:
    """The stream's bytes, skipping empty pieces; ``on_first(seconds)`` at the first bytes."""
    first = True
    async for piece in stream:
        if not piece.data:
            continue
        if first and on_first is not None:
            on_first(time.perf_counter() - start)
        first = False
        yield piece.data


class AudioStreamResponse(StreamingResponse):
    """A chunked audio response that closes its :class:`AudioStream` however it ends
    (finished, client gone, or cancelled before the first byte): the worker slot is always
    released and no synthesis continues for a client that left."""

    def __init__(
        self,
        stream: AudioStream,
        *,
        headers: dict[str, str] | None = None,
        on_first: Callable[[float], None] | None = None,
        start: float | None = None,
    ) -> None:
        t0 = time.perf_counter() if start is None else start
        super().__init__(
            audio_bytes(stream, on_first, t0),
            media_type=stream.format.media_type,
            headers=headers,
        )
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stream.aclose()
