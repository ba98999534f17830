"""A call-back, end to end in two real browsers against the real stack.

A citizen in the web chat (real Rasa) asks for a person when nobody is available,
chooses "call me back" and types their number. An interpreter (created with the admin
command, with their own phone) takes the request on the console, sees the number
masked, shows it whole, and calls: the gateway asks Twilio (the local double, through
the real SDK) to ring the interpreter's phone and then the citizen. The double plays
Twilio's ``<Dial action>``: nobody answered. The console shows the miss and when the
next try is due; the citizen's chat says so, and a text reaches their mobile. axe
checks the console in each state.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.consoles import become_available_and_accept, create_account, sign_in
from tests.stackutil import Stack, running_stack
from tests.twilio_double import TwilioDouble

pytestmark = pytest.mark.rasa

CITIZEN_TYPES = "010-9876-5432"
CITIZEN = "+821098765432"
OWN_PHONE = "+821055550000"


@pytest.fixture(scope="module")
def callback_stack(
    rasa_model: Path, tmp_path_factory: pytest.TempPathFactory, twilio: TwilioDouble
) -> Iterator[Stack]:
    env = {
        "SOTONG_TWILIO_API_URL": twilio.url,
        "SOTONG_OUTBOX_POLL_SECONDS": "0.2",
        "SOTONG_VOICE_PRELOAD": "false",  # no call comes in: no speech model needed
    }
    with running_stack(rasa_model, tmp_path_factory.mktemp("callback"), extra_env=env) as stack:
        yield stack


def _wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_person_calls_a_web_citizen_back_who_misses_it(
    browser: Any, callback_stack: Stack, twilio: TwilioDouble
) -> None:
    from playwright.sync_api import expect

    stack = callback_stack
    username, password = f"sangdam.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    create_account(
        stack, username, password, "--name", "김상담", "--role", "interpreter",
        "--phone", "010-5555-0000",
    )  # fmt: skip
    citizen_context, person_context = browser.new_context(), browser.new_context()
    try:
        # Nobody is available: the citizen chooses a call-back and gives their number.
        chat = citizen_context.new_page()
        chat.goto(stack.gateway.url + "/")
        log = chat.get_by_role("log")
        message = chat.get_by_label("메시지")
        message.fill("상담원 연결해 주세요")
        message.press("Enter")
        expect(log).to_contain_text("지금은 연결할 수 있는 사람이 없습니다", timeout=30_000)
        chat.get_by_role("button", name="전화 예약").last.click()
        expect(log).to_contain_text("전화받을 번호를 보내 주세요")
        message.fill(CITIZEN_TYPES)
        message.press("Enter")
        expect(log).to_contain_text(f"{CITIZEN_TYPES}(으)로 전화드립니다")

        # The interpreter takes it and sees the number masked, then whole.
        console = person_context.new_page()
        sign_in(console, stack, "/interpreter", username, password)
        become_available_and_accept(
            console, console.get_by_role("button", name=re.compile("^수락 · Accept")).first
        )
        panel = console.locator("#callback")
        expect(panel).to_be_visible()
        expect(panel).to_contain_text("010-****-5432")
        expect(panel).not_to_contain_text("9876")
        assert_accessible(console, "interpreter console, a call-back held")
        console.get_by_role("button", name=re.compile("번호 전체 보기")).click()
        expect(panel).to_contain_text(CITIZEN_TYPES)

        # The call: the interpreter's own phone first, then the citizen.
        console.get_by_role("button", name=re.compile("지금 전화 걸기")).click()
        assert _wait_for(lambda: twilio.created_calls), "no call reached Twilio"
        (call,) = twilio.created_calls
        assert (call.to, call.dialled) == (OWN_PHONE, CITIZEN)
        expect(panel).to_contain_text("거는 중")
        answer = twilio.post_dial_action(call, "no-answer", base_url=stack.gateway.url)
        assert answer.status_code == 200, answer.text
        twilio.post_call_status(call, "completed", base_url=stack.gateway.url)

        expect(panel).to_contain_text("받지 않음")
        expect(panel).to_contain_text("다음 시도")
        assert_accessible(console, "interpreter console, a call-back missed")
        expect(log).to_contain_text("다시 전화드립니다")
        texted = _wait_for(lambda: [m for m in twilio.received if m.to == CITIZEN])
        assert len(texted) == 1 and "다시 전화드립니다" in texted[0].body
    finally:
        citizen_context.close()
        person_context.close()
