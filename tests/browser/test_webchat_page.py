"""The minimal web chat page works in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.stackutil import Stack

pytestmark = pytest.mark.rasa


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


def test_asking_for_a_person_shows_the_queue_and_cancels(browser: Any, stack: Stack) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(stack.gateway.url + "/")
    log = page.get_by_role("log")
    page.get_by_label("메시지").fill("안녕하세요")
    page.get_by_label("메시지").press("Enter")
    expect(log.locator("li.bot").last).to_contain_text("소통")

    page.get_by_role("button", name="상담원 · 수어 통역 요청").click()
    expect(log).to_contain_text("사람 상담을 요청했습니다")
    banner = page.locator("#handoff")
    expect(banner).to_be_visible()
    # Place and wait, or (nobody available) the plain "nobody now" line.
    expect(banner).to_contain_text(re.compile("번째|다음 차례|없습니다"))
    banner.get_by_role("button", name="요청 취소").click()
    expect(log.locator("li.bot").last).to_contain_text("취소했습니다")
    expect(banner).to_be_hidden()
    page.close()
