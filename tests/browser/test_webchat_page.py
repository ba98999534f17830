"""The minimal web chat page works in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import missing_part
from tests.stackutil import Stack

pytestmark = pytest.mark.rasa

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: stop Chromium from calling home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing_part("Debian's chromium (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


def test_a_citizen_chats_on_the_page(browser: Any, stack: Stack) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(stack.gateway.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    log = page.get_by_role("log")

    message = page.get_by_label("메시지")
    message.fill("안녕하세요")
    message.press("Enter")
    expect(log.locator("li.bot").last).to_contain_text("소통")

    message.fill("English please")
    message.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(log.locator("li.bot").last).to_contain_text("English")

    page.get_by_label("Message").fill("what can you do")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("button", name="Basic pension").last.click()
    expect(log.locator("li.bot").last).to_contain_text("[Basic pension]")

    # A reload keeps the session and shows the transcript again.
    page.reload()
    expect(log.locator("li.bot").last).to_contain_text("[Basic pension]")
    page.close()
