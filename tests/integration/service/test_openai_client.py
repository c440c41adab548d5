"""The official OpenAI Python client, pointed at our server with base_url, gets speech: as it
is made (no extra field needed), as server-sent events, or whole when asked."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import openai
import pytest
from service_audio import check_speech, decode_any

from support.serve import Server
from support.texts import PARAGRAPH

TEXT = "你好，欢迎使用语音合成服务。"
FORMATS = ["mp3", "wav", "opus", "aac", "flac", "pcm"]
"""Every ``response_format`` OpenAI documents."""


@pytest.fixture()
def oa(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_speech_create(oa: openai.OpenAI, fmt: str) -> None:
    resp = oa.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format=fmt)
    check_speech(resp.content, fmt, TEXT)


def test_streams_by_default(oa: openai.OpenAI) -> None:
    """OpenAI's documented way to play speech as it is made, with no extra field: the first
    chunk of a 200-character paragraph comes long before the last."""
    t0 = time.perf_counter()
    stamps: list[float] = []
    parts: list[bytes] = []
    with oa.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="coral", input=PARAGRAPH
    ) as resp:
        assert "content-length" not in resp.headers
        assert resp.headers["content-type"] == "audio/mpeg"
        for chunk in resp.iter_bytes():
            stamps.append(time.perf_counter() - t0)
            parts.append(chunk)
    first, last = stamps[0], stamps[-1]
    print(f"\nopenai client, {len(PARAGRAPH)} chars mp3: first chunk {1000 * first:.0f} ms, "
          f"last {1000 * last:.0f} ms, {len(parts)} chunks")  # fmt: skip
    assert len(parts) > 3 and first < last / 3, (first, last)
    check_speech(b"".join(parts), "mp3", PARAGRAPH)


def test_whole_file_when_asked(oa: openai.OpenAI) -> None:
    """``"stream": false`` (an extension) answers with the whole file and its length."""
    raw = oa.audio.speech.with_raw_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="wav",
        extra_body={"stream": False},
    )  # fmt: skip
    data = raw.content
    assert int(raw.headers["content-length"]) == len(data)
    assert data[4:8] == (len(data) - 8).to_bytes(4, "little")  # a WAV that knows its size
    check_speech(data, "wav", TEXT)


@pytest.mark.parametrize("fmt", FORMATS)
def test_streamed_equals_whole(oa: openai.OpenAI, fmt: str) -> None:
    """Streaming changes when bytes leave, not the audio: the same bytes for pcm, flac and
    aac; wav differs only in its header (a stream cannot know its length), opus in the Ogg
    stream's serial number; mp3 streams at a constant bitrate (its VBR header is patched
    at the end), so its samples match in length."""
    args = {"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": fmt}
    streamed = oa.audio.speech.create(**args).content  # type: ignore[arg-type]
    whole = oa.audio.speech.create(**args, extra_body={"stream": False}).content  # type: ignore[arg-type]
    if fmt in ("pcm", "flac", "aac"):
        assert streamed == whole
    elif fmt == "wav":
        assert streamed[44:] == whole[44:] and streamed[:4] == whole[:4] == b"RIFF"
    a, _ = decode_any(streamed, fmt)
    b, _ = decode_any(whole, fmt)
    if fmt == "opus":
        assert a.size == b.size and np.allclose(a, b, atol=1e-3)
    if fmt == "mp3":
        assert abs(a.size - b.size) <= 1152 * 2  # within two MP3 frames


def test_sse_events_decode_to_the_same_audio(oa: openai.OpenAI) -> None:
    args = {"model": "tts-1", "voice": "alloy", "input": PARAGRAPH, "response_format": "pcm"}
    events: list[dict[str, object]] = []
    with oa.audio.speech.with_streaming_response.create(**args, stream_format="sse") as resp:  # type: ignore[arg-type]
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "speech.audio.done" and set(kinds[:-1]) == {"speech.audio.delta"}
    assert len(kinds) > 3  # really streamed: several deltas
    usage = events[-1]["usage"]
    assert isinstance(usage, dict) and usage["input_tokens"] == len(PARAGRAPH)
    audio = b"".join(base64.b64decode(str(e["audio"])) for e in events[:-1])
    plain = oa.audio.speech.create(**args).content  # type: ignore[arg-type]
    assert audio == plain
    check_speech(audio, "pcm", PARAGRAPH)


def test_instructions_are_read_and_reported(oa: openai.OpenAI) -> None:
    args = {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": TEXT, "response_format": "pcm"}
    plain = oa.audio.speech.create(**args).content  # type: ignore[arg-type]
    raw = oa.audio.speech.with_raw_response.create(**args, instructions="请用悲伤的语气，慢慢地说")  # type: ignore[arg-type]
    assert raw.headers["x-instructions"] == "emotion=sad; speed=x0.85"
    sad = raw.content
    assert len(sad) > len(plain) * 1.25  # slower (x0.85) and sad (x0.84 tempo): clearly longer
    unread = oa.audio.speech.with_raw_response.create(**args, instructions="像海盗一样说话")  # type: ignore[arg-type]
    assert unread.headers["x-instructions"] == "not understood; nothing changed"
    assert unread.content == plain
    named = oa.audio.speech.with_raw_response.create(
        **args,
        instructions="sound happy",
        extra_body={"emotion": "angry"},  # type: ignore[arg-type]
    )
    assert named.headers["x-instructions"] == "emotion=happy (the request's own emotion kept)"


def test_models_list(oa: openai.OpenAI) -> None:
    assert "tts-1" in {m.id for m in oa.models.list()}


def test_errors_become_client_exceptions(oa: openai.OpenAI) -> None:
    """Streamed by default, and still a 4xx: every error that can be known is known before
    the first byte."""
    with pytest.raises(openai.NotFoundError) as info:  # an unknown voice is a 404
        oa.audio.speech.create(model="tts-1", voice="darth", input=TEXT)
    assert "darth" in str(info.value)
    with pytest.raises(openai.NotFoundError):
        oa.audio.speech.create(model="gpt-9", voice="alloy", input=TEXT)
    streamed = oa.audio.speech.with_streaming_response.create
    with (
        pytest.raises(openai.BadRequestError, match="nothing that can be spoken"),
        streamed(model="tts-1", voice="alloy", input="？！") as resp,
    ):
        resp.read()
    with pytest.raises(openai.BadRequestError, match="stream"):
        oa.audio.speech.create(
            model="tts-1", voice="alloy", input=TEXT, stream_format="sse",
            extra_body={"stream": False},
        )  # fmt: skip
