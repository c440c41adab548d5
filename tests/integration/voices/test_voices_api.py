"""The voice set through the HTTP service: listing, every voice on one sentence, the OpenAI
names, the WebSocket, unknown voices."""

from __future__ import annotations

import base64
import itertools
import json
import math

import httpx
import numpy as np
import pytest
from service_audio import check_speech
from voices_common import FEMALE, MALE, SENTENCE, timbre
from websockets.sync.client import connect

from hanvoice.engines.mellotron.speakers import speakers
from support.audio import measure
from support.serve import Server

OFFERED = [s for s in speakers() if not s.withheld]
TIMBRE_APART = 13.0
"""Same-sentence MFCC distance between two different voices (measured 16.6-65 between the
offered ones; 6-9 between aiyue and the withheld xiaoxue, which sound the same)."""
PITCH_APART = 0.08


def _tts(api: httpx.Client, voice: str, text: str = SENTENCE, **extra: object) -> httpx.Response:
    return api.post("/tts", json={"text": text, "voice": voice, "format": "wav", **extra})


def test_voices_lists_the_set_with_what_a_picker_needs(api: httpx.Client) -> None:
    body = api.get("/voices").json()
    ids = [v["id"] for v in body["voices"]]
    assert ids[0] == "baker" == body["default"]
    assert set(ids[1:]) == {s.id for s in OFFERED}
    for v in body["voices"]:
        assert v["name"] and v["gender"] in ("female", "male")
        assert v["speed_class"] in ("fast", "medium") and v["emotions"]
    genders = {v["id"]: v["gender"] for v in body["voices"]}
    mapping = body["openai_voices"]
    assert mapping["alloy"] == "baker"
    assert genders[mapping["onyx"]] == genders[mapping["echo"]] == "male"
    assert genders[mapping["nova"]] == genders[mapping["shimmer"]] == "female"
    assert len({mapping[n] for n in ("echo", "fable", "onyx", "nova", "shimmer")}) == 5


def test_every_voice_speaks_the_same_sentence_and_each_is_distinct(api: httpx.Client) -> None:
    found = {}
    for voice in ["baker", *(s.id for s in OFFERED)]:
        r = _tts(api, voice)
        assert r.status_code == 200, (voice, r.text)
        body = r.json()
        assert body["voice"] == voice
        audio, sr = check_speech(base64.b64decode(body["audio"]), "wav", SENTENCE)
        assert sr == (24000 if voice == "baker" else 22050)
        found[voice] = (timbre(audio, sr), measure(audio, sr).f0_median)
    alike = []
    for a, b in itertools.combinations(found, 2):
        distance = float(np.linalg.norm(found[a][0] - found[b][0]))
        pitch = abs(math.log(found[a][1] / found[b][1]))
        if distance < TIMBRE_APART and pitch < PITCH_APART:
            alike.append((a, b, round(distance, 1), round(pitch, 3)))
    assert not alike


@pytest.mark.parametrize(("name", "male"), [("onyx", True), ("nova", False), (MALE, True)])
def test_openai_endpoint_speaks_the_mapped_voice(api: httpx.Client, name: str, male: bool) -> None:
    r = api.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "input": SENTENCE, "voice": name, "response_format": "wav"},
    )
    assert r.status_code == 200, r.text
    audio, sr = check_speech(r.content, "wav", SENTENCE)
    f0 = measure(audio, sr).f0_median
    assert (f0 < 165) == male, f0


def test_emotion_and_timestamps_on_a_voice_of_the_set(api: httpx.Client) -> None:
    neutral = _tts(api, FEMALE, timestamps=True).json()
    sad = _tts(api, FEMALE, emotion="sad").json()
    a, sr = check_speech(base64.b64decode(neutral["audio"]), "wav", SENTENCE)
    b, _ = check_speech(base64.b64decode(sad["audio"]), "wav", SENTENCE)
    assert b.size > a.size * 1.1  # sad is slower
    assert measure(b, sr).f0_median < measure(a, sr).f0_median
    stamps = neutral["timestamps"]
    assert "".join(s["char"] for s in stamps) == "欢迎使用多地域语音合成服务今天天气很好"
    assert stamps[-1]["end"] <= neutral["duration"] + 1e-6


@pytest.mark.parametrize("voice", ["nobody", "xiaowei", "Aiyue"])
def test_unknown_or_withheld_voice_is_404(api: httpx.Client, voice: str) -> None:
    for r in (
        _tts(api, voice),
        api.get("/tts", params={"text": "你好", "voice": voice}),
        api.post("/v1/audio/speech", json={"model": "tts-1", "input": "你好", "voice": voice}),
    ):
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "voice_not_found"
    assert "withheld" in _tts(api, "xiaowei").json()["error"]["message"]


def test_websocket_with_a_voice(voices_server: Server) -> None:
    url = voices_server.url.replace("http://", "ws://") + "/ws/tts"
    with connect(url, open_timeout=10) as ws:
        ws.send(json.dumps({"text": SENTENCE, "voice": MALE}))
        start = json.loads(ws.recv(timeout=60))
        assert start["type"] == "start" and start["voice"] == MALE
        assert start["sample_rate"] == 22050
        frames = b""
        while isinstance(msg := ws.recv(timeout=60), bytes):
            frames += msg
        assert json.loads(msg)["type"] == "end"
        audio, sr = check_speech(frames, "pcm", SENTENCE, rate=22050)
        assert measure(audio, sr).f0_median < 165
        ws.send(json.dumps({"text": "你好", "voice": "nobody"}))
        err = json.loads(ws.recv(timeout=10))
        assert err["type"] == "error" and err["error"]["code"] == "voice_not_found"
