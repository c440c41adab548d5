"""The page in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from service_audio import check_speech

from support.browser import ARTIFACTS, chromium, web_page
from support.serve import Server

TEXT = "欢迎使用多地域语音合成服务，今天天气很好。"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser: Browser, server: Server) -> Iterator[Page]:
    with web_page(browser, server.url) as pg:
        yield pg


def _duration(page: Page) -> float:
    page.wait_for_function(
        """() => {
            const a = document.getElementById('audio');
            const busy = document.getElementById('go').disabled;
            return Number.isFinite(a.duration) && a.duration > 0 && !busy;
        }""",
        timeout=60_000,
    )
    return float(page.evaluate("document.getElementById('audio').duration"))


@pytest.mark.parametrize("fmt", ["mp3", "wav"])
def test_synthesize_play_and_download(page: Page, fmt: str, tmp_path: Path) -> None:
    page.fill("#text", TEXT)
    expect(page.locator("#count")).to_have_text(f"{len(TEXT)} / 5000")
    page.select_option("#emotion", "happy")
    page.select_option("#format", fmt)
    page.fill("#speed", "1.2")
    page.get_by_role("button", name="合成语音").click()
    duration = _duration(page)
    assert 1.0 < duration < 10.0, duration
    src = page.evaluate("document.getElementById('audio').src")
    assert src.startswith("blob:")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("完成")
    expect(page.locator("#recent li")).to_have_count(1)

    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename.endswith("." + fmt)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    audio, sr = check_speech(saved.read_bytes(), fmt, TEXT)
    assert abs(audio.size / sr - duration) < 0.3

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-page-{fmt}.png"), full_page=True)


def test_mp3_plays_while_streaming(page: Page) -> None:
    """With MP3 the player gets a MediaSource and starts before the whole file is there."""
    long_text = "在一个阳光明媚的早晨，小明背着书包走进了学校。" * 12
    page.fill("#text", long_text)
    page.select_option("#format", "mp3")
    page.click("#go")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('边合成边播放')",
        timeout=30_000,
    )
    # playing already, while the response is still arriving (no download link yet)
    assert page.evaluate("document.getElementById('download').hidden")
    assert page.evaluate("document.getElementById('go').disabled")
    duration = _duration(page)
    assert duration > 20, duration
    assert not page.evaluate("document.getElementById('download').hidden")


def test_empty_text_shows_an_error(page: Page) -> None:
    page.fill("#text", "   ")
    page.click("#go")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_have_text("请输入要合成的文字。")
    assert page.evaluate("document.getElementById('audio').src") == ""


def test_server_errors_are_shown(page: Page) -> None:
    page.fill("#text", "？！")  # nothing speakable: the server's 400 message is shown
    page.click("#go")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("nothing that can be spoken")


def test_english_toggle_and_keyboard(page: Page) -> None:
    page.click("#lang")
    expect(page.locator("#go")).to_have_text("Synthesize")
    expect(page.locator("label[for=text]")).to_have_text("Text to speak")
    expect(page.locator("#lang")).to_have_text("中文")
    # keyboard only: focus the text box, type, Ctrl+Enter synthesizes
    page.locator("#text").focus()
    page.keyboard.type("你好，世界。")
    page.keyboard.press("Control+Enter")
    assert _duration(page) > 0.5
    expect(page.locator("#status")).to_contain_text("Done")
    # every control is reachable with Tab
    reached = set()
    page.locator("#lang").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
    assert {"text", "emotion", "voice", "intensity", "speed", "format", "go"} <= reached
    page.screenshot(path=str(ARTIFACTS / "web-page-english.png"), full_page=True)
