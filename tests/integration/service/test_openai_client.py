"""The official OpenAI Python client, pointed at our server with base_url, gets speech."""

from __future__ import annotations

import openai
import pytest
from service_audio import check_speech

from support.serve import Server

TEXT = "你好，欢迎使用语音合成服务。"


@pytest.fixture()
def oa(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0)


@pytest.mark.parametrize("fmt", ["mp3", "wav", "opus", "aac", "flac", "pcm"])
def test_speech_create(oa: openai.OpenAI, fmt: str) -> None:
    resp = oa.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format=fmt)
    check_speech(resp.content, fmt, TEXT)


def test_streaming_response_with_extensions(oa: openai.OpenAI) -> None:
    with oa.audio.speech.with_streaming_response.create(
        model="tts-1-hd",
        voice="nova",
        input=TEXT,
        response_format="wav",
        speed=1.2,
        extra_body={"emotion": "happy", "stream": True},
    ) as resp:
        data = b"".join(resp.iter_bytes())
    check_speech(data, "wav", TEXT)


def test_models_list(oa: openai.OpenAI) -> None:
    assert "tts-1" in {m.id for m in oa.models.list()}


def test_errors_become_client_exceptions(oa: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:  # an unknown voice is a 404
        oa.audio.speech.create(model="tts-1", voice="darth", input=TEXT)
    assert "darth" in str(info.value)
    with pytest.raises(openai.NotFoundError):
        oa.audio.speech.create(model="gpt-9", voice="alloy", input=TEXT)
