"""A session passed on from one interpreter to another, in three real browsers.

A citizen in the web chat (real Rasa) asks for a sign-language interpreter; the first
interpreter takes it, answers, and passes it on with a note to a colleague who is
available; the colleague's console offers it to them, they accept and read the note;
the citizen is told someone else goes on and then who joined, and the colleague's
message reaches the chat. axe checks both consoles in the states that are new here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.consoles import create_account, sign_in
from tests.stackutil import Stack, running_stack

pytestmark = pytest.mark.rasa

NOTE = "기초연금 서류를 함께 확인하는 중입니다. 통장 사본만 남았습니다."


@pytest.fixture(scope="module")
def hand_over_stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: nobody else's interpreters or requests in its queue."""
    env = {"SOTONG_VOICE_PRELOAD": "false"}  # no call comes in: no speech model needed
    with running_stack(rasa_model, tmp_path_factory.mktemp("handover"), extra_env=env) as stack:
        yield stack


def test_an_interpreter_passes_a_session_on_with_a_note(
    browser: Any, hand_over_stack: Stack
) -> None:
    from playwright.sync_api import expect

    stack = hand_over_stack

    first, second = f"kim.{secrets.token_hex(3)}", f"lee.{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    create_account(stack, first, password, "--name", "김수어", "--role", "interpreter")
    create_account(stack, second, password, "--name", "이수어", "--role", "interpreter")
    contexts = [browser.new_context() for _ in range(3)]
    try:
        citizen, kim, lee = (context.new_page() for context in contexts)
        # The colleague is signed in and available first (only they could take it).
        sign_in(lee, stack, "/interpreter", second, password)
        lee.locator("#available").check()
        sign_in(kim, stack, "/interpreter", first, password)
        kim.locator("#available").check()

        citizen.goto(stack.gateway.url + "/")
        log = citizen.get_by_role("log")
        message = citizen.get_by_label("메시지")
        message.fill("수어 통역 요청")
        message.press("Enter")
        expect(log.locator("li.bot").first).to_be_visible(timeout=30_000)

        kim.get_by_role("button", name=re.compile("^수락 · Accept")).first.click()
        expect(kim.locator("#session")).to_be_visible()
        expect(log).to_contain_text("김수어 님이 연결되었습니다")
        kim.get_by_text("다른 담당자에게 넘기기").click()
        colleague = kim.get_by_label(re.compile("넘겨받을 사람"))
        expect(colleague.locator("option")).to_have_count(1)
        expect(colleague).to_contain_text("이수어")
        colleague.select_option(value=second)
        kim.get_by_label(re.compile("전달 메모")).fill(NOTE)
        assert_accessible(kim, "interpreter console, passing a session on")
        kim.get_by_role("button", name="넘기기 · Pass on").click()
        expect(kim.locator("#session")).to_be_hidden()
        expect(log).to_contain_text("다른 담당자가 이어서 도와드립니다")

        # The colleague is offered it, accepts, and reads the note.
        offered = lee.locator("#queue-body tr.offered")
        expect(offered).to_have_count(1, timeout=15_000)
        offered.get_by_role("button", name=re.compile("^수락 · Accept")).click()
        expect(lee.locator("#context")).to_contain_text(NOTE)
        assert_accessible(lee, "interpreter console, a session passed on to me")
        expect(log).to_contain_text("이수어 님이 연결되었습니다")
        lee.get_by_label(re.compile("시민에게 보낼 메시지")).fill(
            "안녕하세요, 이어서 도와드릴게요."
        )
        lee.get_by_role("button", name="보내기 · Send").click()
        expect(log).to_contain_text("이어서 도와드릴게요")
    finally:
        for context in contexts:
            context.close()
