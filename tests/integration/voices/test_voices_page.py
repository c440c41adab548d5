"""The page's voice picker and preview, in a real headless Chromium (Debian's)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect
from service_audio import check_speech
from voices_common import MALE, SENTENCE

from support.audio import measure
from support.browser import ARTIFACTS, chromium, web_page
from support.serve import Server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser: Browser, voices_server: Server) -> Iterator[Page]:
    with web_page(browser, voices_server.url) as pg:
        yield pg


def test_picker_lists_every_voice_with_gender(page: Page, api: httpx.Client) -> None:
    voices = api.get("/voices").json()["voices"]
    options = page.locator("#voice option")
    expect(options).to_have_count(len(voices))
    assert page.input_value("#voice") == "baker"
    labels = options.all_text_contents()
    male = next(v for v in voices if v["id"] == MALE)
    label = labels[[v["id"] for v in voices].index(MALE)]
    assert label.startswith(male["name"]) and "男声" in label and "较慢" in label
    page.click("#lang")
    assert "male" in page.locator(f"#voice option[value={MALE}]").text_content()


def test_preview_plays_the_chosen_voice(page: Page) -> None:
    page.select_option("#voice", MALE)
    with page.expect_request(lambda r: "/tts?" in r.url) as info:
        page.click("#preview")
    request: Request = info.value
    assert f"voice={MALE}" in request.url
    page.wait_for_function(
        """() => { const a = document.getElementById('preview-audio');
                   return Number.isFinite(a.duration) && a.duration > 0.5; }""",
        timeout=60_000,
    )
    response = request.response()
    assert response is not None and response.status == 200
    audio, sr = check_speech(response.body(), "mp3", "你好我是艾诚")
    assert measure(audio, sr).f0_median < 165  # a male voice


def test_synthesize_with_the_chosen_voice(page: Page) -> None:
    page.fill("#text", SENTENCE)
    page.select_option("#voice", MALE)
    page.select_option("#format", "wav")
    sent: list[str] = []  # the page synthesizes over /ws/tts (it follows the timestamps)
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    page.click("#go")
    page.wait_for_function(
        """() => { const a = document.getElementById('audio');
                   return Number.isFinite(a.duration) && a.duration > 1
                          && !document.getElementById('go').disabled; }""",
        timeout=60_000,
    )
    assert json.loads(sent[0])["voice"] == MALE
    expect(page.locator("#error")).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-page-voices.png"), full_page=True)
