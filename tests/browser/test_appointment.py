"""A video appointment, end to end in two real browsers, with the gateway's clock moved
by hand (tests/shifted_clock/sitecustomize.py: SIGUSR1 and an offset file).

It is Friday evening in Seoul and nobody is available: a citizen in the web chat (real
Rasa) books a video call, gets the first free time (Monday 09:00, the default hours of
an interpreter without fixed ones) and gives a mobile number for the reminders. The
clock moves to Sunday morning: the day-before reminder reaches the chat and the phone
(the local Twilio double, through the outbox) with the signed link; then to 08:51 on
Monday: the ten-minutes-before one. The interpreter signs in, sees the appointment in
their day, takes it; the citizen opens the link from the text and the call page opens.
axe checks the console with the day filled in.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.consoles import become_available_and_accept, create_account, sign_in
from tests.stackutil import (
    PUBLIC_URL,
    Stack,
    hand_moved_clock_env,
    move_clock,
    running_stack,
)
from tests.twilio_double import TwilioDouble

pytestmark = pytest.mark.rasa

SEOUL = ZoneInfo("Asia/Seoul")
CITIZEN_TYPES = "010-9876-5432"
CITIZEN = "+821098765432"
JOIN_LINK = re.compile(r"https?://[^\s]+/video/\d+\?t=[\w.-]+")


def _next_friday_evening() -> dt.datetime:
    """20:00 in Seoul on the next Friday at least a day away."""
    day = (dt.datetime.now(SEOUL) + dt.timedelta(days=1)).date()
    while day.weekday() != 4:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(20, 0), SEOUL)


@pytest.fixture(scope="module")
def appointment_stack(
    rasa_model: Path, tmp_path_factory: pytest.TempPathFactory, twilio: TwilioDouble
) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("appointment")
    env = {
        "SOTONG_TWILIO_API_URL": twilio.url,
        "SOTONG_OUTBOX_POLL_SECONDS": "0.2",
        "SOTONG_VOICE_PRELOAD": "false",  # no call comes in: no speech model needed
        "SOTONG_HANDOFF_UPKEEP_SECONDS": "0.5",  # reminders go out within half a second
        # The clock jumps days: the citizen's chat must not count as idle meanwhile.
        "SOTONG_WEBCHAT_IDLE_HOURS": "168",
        **hand_moved_clock_env(var_dir),
    }
    with running_stack(rasa_model, var_dir, extra_env=env) as stack:
        yield stack


def _texted(twilio: TwilioDouble, number: str) -> str:
    """Everything texted to ``number`` so far (a long text goes as several messages,
    each within the SMS page budget)."""
    return "\n".join(m.body for m in twilio.received if m.to == number)


def _wait_for_text(twilio: TwilioDouble, number: str, containing: str) -> str:
    deadline = time.monotonic() + 20
    while containing not in _texted(twilio, number) and time.monotonic() < deadline:
        time.sleep(0.2)
    said = _texted(twilio, number)
    assert containing in said, f"no text with {containing!r} to {number}: {said}"
    return said


def _link_after(twilio: TwilioDouble, number: str, marker: str) -> str:
    """The join link texted to ``number`` after the text that says ``marker``."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        said = _texted(twilio, number)
        found = JOIN_LINK.search(said[said.index(marker) :]) if marker in said else None
        if found is not None:
            return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no link after {marker!r} to {number}: {_texted(twilio, number)}")


def test_a_booked_video_call_is_reminded_with_its_link_and_happens(
    browser: Any, appointment_stack: Stack, twilio: TwilioDouble
) -> None:
    from playwright.sync_api import expect

    stack = appointment_stack
    friday = _next_friday_evening()
    monday_9 = friday + dt.timedelta(days=2, hours=13)
    move_clock(stack, friday.timestamp())
    username, password = f"yeyak.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    create_account(stack, username, password, "--name", "김예약", "--role", "interpreter")
    citizen_context, person_context = browser.new_context(), browser.new_context()
    try:
        chat = citizen_context.new_page()
        chat.goto(stack.gateway.url + "/")
        log = chat.get_by_role("log")
        message = chat.get_by_label("메시지")
        message.fill("상담원 연결해 주세요")
        message.press("Enter")
        expect(log).to_contain_text("지금은 연결할 수 있는 사람이 없습니다", timeout=30_000)
        chat.get_by_role("button", name="영상 통화 예약").last.click()
        slot = f"{monday_9.month}월 {monday_9.day}일(월) 오전 9시"
        expect(log).to_contain_text(f"영상 통화를 {slot}(으)로 예약했습니다")
        expect(log).to_contain_text("'예약변경'")
        chat.get_by_role("button", name="문자로 알림 받기").last.click()
        expect(log).to_contain_text("휴대전화 번호를 보내 주세요")
        message.fill(CITIZEN_TYPES)
        message.press("Enter")
        expect(log).to_contain_text(f"{CITIZEN_TYPES}(으)로도 문자로 보냅니다")
        assert slot in _wait_for_text(twilio, CITIZEN, "예약했습니다")

        # Sunday 09:05: the day-before reminder, in the chat and by text, with the link.
        move_clock(stack, (monday_9 - dt.timedelta(hours=23, minutes=55)).timestamp())
        expect(log).to_contain_text("영상 통화 예약이", timeout=15_000)
        _link_after(twilio, CITIZEN, "그 시간에 이 링크를 여세요")

        # Monday 08:51: ten minutes before.
        move_clock(stack, (monday_9 - dt.timedelta(minutes=9)).timestamp())
        expect(log).to_contain_text("10분 뒤 영상 통화가 시작됩니다", timeout=15_000)
        link = _link_after(twilio, CITIZEN, "10분 뒤 영상 통화가 시작됩니다")

        # The interpreter's day shows it; they take it.
        console = person_context.new_page()
        sign_in(console, stack, "/interpreter", username, password)
        day_table = console.locator("#day-table")
        expect(day_table).to_be_visible()
        expect(day_table).to_contain_text("09:00")
        expect(day_table).to_contain_text("영상 통화 · Video call")
        expect(day_table).to_contain_text("기다리는 중 · Booked")
        assert_accessible(console, "interpreter console, the day's appointments")
        become_available_and_accept(
            console, console.get_by_role("button", name=re.compile("^수락 · Accept")).first
        )
        expect(console.locator("#session")).to_be_visible()
        expect(console.locator("#context")).to_contain_text("영상 통화 예약 · Video appointment")

        # The citizen opens the link from the text: the call page (the token is good
        # until three hours after the slot, on the gateway's moved clock).
        call_page = citizen_context.new_page()
        call_page.goto(link.replace(PUBLIC_URL, stack.gateway.url))
        expect(call_page.get_by_role("heading", level=1)).to_contain_text("영상 통화")
    finally:
        citizen_context.close()
        person_context.close()
