"""Debian's Chromium driven by Playwright (its own browser download fails here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
"""Screenshots and downloads the page tests keep for a person to look at."""


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run scripts/system-deps.sh")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@contextmanager
def web_page(browser: Browser, url: str) -> Iterator[Page]:
    """The service's page, loaded (its emotion list filled in); fails on any script error,
    any error in the console and any answer of 400 or more (a missing icon included)."""
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    pg.goto(url + "/")
    expect(pg.locator("#emotion option")).not_to_have_count(0)
    yield pg
    context.close()
    assert not errors, errors
