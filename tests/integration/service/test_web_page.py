"""The page in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import json
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
    for _ in range(16):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
    assert {"text", "ssml", "emotion", "voice", "intensity", "speed", "pitch", "volume",
            "format", "go"} <= reached  # fmt: skip
    page.screenshot(path=str(ARTIFACTS / "web-page-english.png"), full_page=True)


def test_nothing_is_missing_on_load(page: Page, server: Server) -> None:
    """The page loads with no console error and no 404 (the icon was one)."""
    page.wait_for_load_state("networkidle")
    icon = page.request.get(server.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    # what Chrome asks for while its DevTools are open (the other 404 in their console)
    devtools = page.request.get(server.url + "/.well-known/appspecific/com.chrome.devtools.json")
    assert devtools.status == 200 and devtools.json() == {}
    # web_page's own check fails the test on any console error or answer >= 400


def _synthesize(page: Page) -> None:
    page.click("#go")
    page.wait_for_function(
        "() => !document.getElementById('go').disabled && document.getElementById('audio').src",
        timeout=60_000,
    )
    expect(page.locator("#error")).to_be_hidden()


def _highlighted(page: Page) -> tuple[str, str]:
    """(the sentence, the character) highlighted now."""
    return (
        page.locator("#reading .sentence.current").inner_text(),
        page.locator("#reading .char.current").first.inner_text(),
    )


@pytest.mark.parametrize("voice", ["baker", "aibao"])
def test_the_text_follows_the_voice(page: Page, voice: str) -> None:
    """While the audio plays, the sentence and the character being spoken are highlighted,
    from the timestamps the voice gives (any voice: the bundled one and a Mellotron one)."""
    text = "今天天气很好。我们去公园散步吧！"
    page.fill("#text", text)
    page.select_option("#voice", voice)
    page.select_option("#format", "wav")
    _synthesize(page)
    expect(page.locator("#reading")).to_be_visible()
    # while playing, something is highlighted (it moves with the audio)
    page.wait_for_function("() => document.querySelector('#reading .char.current')")
    page.evaluate("document.getElementById('audio').pause()")
    stamps = page.evaluate("state.stamps")
    assert len(stamps) >= 14, stamps
    for k in (2, 9, len(stamps) - 2):  # in the first sentence, the second, near the end
        stamp = stamps[k]
        at = (stamp["start"] + stamp["end"]) / 2
        page.evaluate(f"document.getElementById('audio').currentTime = {at}")
        page.wait_for_function(
            f"() => document.querySelector('#reading .char.current')?.textContent === "
            f"{text[stamp['source'][0]]!r}"
        )
        sentence, char = _highlighted(page)
        assert char == text[stamp["source"][0]]
        expected = "今天天气很好。" if stamp["source"][0] < 7 else "我们去公园散步吧！"
        assert sentence == expected, (k, sentence)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-page-follow-{voice}.png"), full_page=True)


def test_pitch_and_volume_sliders(page: Page) -> None:
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    page.fill("#text", "你好，世界。")
    page.locator("#pitch").focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")  # +0.5 st a step
    page.locator("#volume").focus()
    for _ in range(6):
        page.keyboard.press("ArrowLeft")  # -1 dB a step
    expect(page.locator("#pitch-out")).to_have_text("+2")
    expect(page.locator("#volume-out")).to_have_text("-6")
    _synthesize(page)
    body = json.loads(sent[0])
    assert body["pitch"] == 2 and body["volume"] == -6, body
    assert page.evaluate("document.getElementById('audio').duration") > 0.5


def test_ssml_mode_points_at_the_mistake(page: Page) -> None:
    page.locator("#ssml").focus()
    page.keyboard.press("Space")  # keyboard alone
    expect(page.locator("#ssml")).to_be_checked()
    expect(page.locator("#ssml-hint")).to_be_visible()
    bad = "<speak>\n你好<prosody rate='fast'>世界</speak>"
    page.fill("#text", bad)
    page.click("#go")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("第 2 行，第 26 列")
    # the cursor is on the mistake: line 2, column 26 is the "<" of "</speak>"
    assert page.evaluate("document.activeElement.id") == "text"
    start = page.evaluate("document.getElementById('text').selectionStart")
    assert bad[start:].startswith("</speak>"), start
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-page-ssml-error.png"), full_page=True)

    good = "<speak>你好，<break time='300ms'/>世界。</speak>"
    page.fill("#text", good)
    page.select_option("#format", "wav")
    _synthesize(page)
    assert page.locator("#reading").inner_text() == "你好，世界。"  # the markup left out


def test_keyboard_alone(page: Page, tmp_path: Path) -> None:
    """From the top of the page with Tab, typing and keys only: synthesize and download."""
    page.locator("body").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "text":
            break
    assert page.evaluate("document.activeElement.id") == "text"
    page.keyboard.type("键盘也能用。")
    page.keyboard.press("Control+Enter")
    assert _duration(page) > 0.5
    page.locator("#download").focus()
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    assert info.value.suggested_filename.endswith(".mp3")
