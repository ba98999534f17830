"""The minimal web chat page works in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from assistant import continuation
from assistant.catalog import load_catalog
from assistant.config import to_async_url
from assistant.store import SqlConversationStore
from tests.stackutil import SIGNING_KEY, Stack

pytestmark = pytest.mark.rasa

MOVING_EN = f"[{load_catalog().packages['moving'].name.en}]"


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

    # Help offers the customised services; its "Life events", then a move: the checklist.
    page.get_by_label("Message").fill("what can you do")
    page.get_by_role("button", name="Send").click()
    log.get_by_role("button", name="Life events").last.click()
    log.get_by_role("button", name="Moving house").last.click()
    expect(log.locator("li.bot").last).to_contain_text(MOVING_EN)
    # The quick replies above the conversation, in English now.
    quick = page.get_by_role("region", name="Common services")
    quick.get_by_role("button", name="Basic pension").click()
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


def _sms_conversation_with_a_link(stack: Stack) -> str:
    """An SMS conversation in the stack's database, and a continuation link's token."""
    import asyncio
    import concurrent.futures

    async def make() -> str:
        url = to_async_url(f"sqlite:///{stack.var_dir / 'sotong.db'}")
        store = SqlConversationStore.from_url(url)
        try:
            sms = await store.start_conversation("sms", "+821055501234", "ko")
            await store.record_inbound(sms.id, "기초연금", "ko")
            await store.record_outbound(sms.id, "[기초연금] 만 65세 이상이면 …", "ko")
            token = continuation.new_token(SIGNING_KEY.encode())
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
            await store.add_continuation(continuation.token_hash(token), sms.id, expires)
            return token
        finally:
            await store.close()

    # Playwright's sync API runs an event loop in this thread: the store gets its own.
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, make()).result()


def test_a_texted_link_continues_an_sms_conversation_once(browser: Any, stack: Stack) -> None:
    from playwright.sync_api import expect

    token = _sms_conversation_with_a_link(stack)
    page = browser.new_page()
    page.goto(f"{stack.gateway.url}/?continue={token}")
    log = page.get_by_role("log")
    expect(log.locator("li.bot").first).to_contain_text("문자 상담을 여기서 이어 갑니다")
    expect(log.locator("li.bot").first).to_contain_text("기초연금")
    # The link works once: it leaves the address bar, and a reload keeps the new session.
    assert "continue" not in page.url
    page.reload()
    expect(log.locator("li.bot").first).to_contain_text("문자 상담을 여기서 이어 갑니다")
    page.close()

    # Opened again (another device, or forwarded): refused in plain words, and the
    # citizen can still ask here.
    second = browser.new_page()
    second.goto(f"{stack.gateway.url}/?continue={token}")
    expect(second.locator("#status")).to_contain_text("이미 쓰였습니다")
    second.get_by_label("메시지").fill("안녕하세요")
    second.get_by_label("메시지").press("Enter")
    expect(second.get_by_role("log").locator("li.bot").last).to_contain_text("소통")
    second.close()
