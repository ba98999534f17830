"""A warm transfer from the phone, resolved live on an interpreter's console.

A caller (a real phone call: the signed voice webhook, then the Media Stream, played by
``TwilioMediaPeer`` in real time against real Vosk and real Rasa) presses 0 and then 1
for a person. The gateway queues the request — an interpreter's console in Chromium
shows it waiting, live — texts the officer at the community centre the conversation's
summary, and moves the call to them with ``<Dial action>``. Twilio (the local double's
signature) reports that the officer answered: the request ends as "transferred" and the
console's queue empties without a reload. The caller is the phone call itself: they
have no page, so the second "page" of this test is the call.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.browser.axe import assert_accessible
from tests.browser.consoles import create_account, sign_in
from tests.stackutil import (
    PUBLIC_URL,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    Stack,
    running_stack,
)
from tests.twilio_double import TwilioDouble
from tests.voice_calls import call

pytestmark = pytest.mark.rasa

CALLER = "+821055507777"
TRANSFER_TO = "+821033334444"  # the centre's officer, on a mobile: they get the summary
_ACTION = re.compile(r'action="([^"]+/webhooks/twilio/voice/transfer/\d+)"')


@pytest.fixture(scope="module")
def transfer_stack(
    rasa_model: Path, tmp_path_factory: pytest.TempPathFactory, twilio: TwilioDouble
) -> Iterator[Stack]:
    env = {
        "SOTONG_TWILIO_API_URL": twilio.url,
        "SOTONG_OUTBOX_POLL_SECONDS": "0.2",
        "SOTONG_VOICE_TRANSFER_NUMBER": TRANSFER_TO,
        "SOTONG_VOICE_REPROMPT_SECONDS": "30",
    }
    with running_stack(rasa_model, tmp_path_factory.mktemp("transfer"), extra_env=env) as stack:
        yield stack


def _caller_asks_for_a_person(stack: Stack, twilio: TwilioDouble, done: dict[str, Any]) -> None:
    """The call, in its own thread and event loop (the browser's API is synchronous)."""

    async def place() -> None:
        async with call(stack.gateway.url, CALLER) as (answered, peer):
            await peer.wait_for("media", timeout=30)
            await peer.press("0")
            await asyncio.sleep(2)
            await peer.press("1")
            deadline = time.monotonic() + 30
            while not twilio.call_updates and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            done["call_sid"] = answered.call_sid

    try:
        asyncio.run(place())
    except Exception as exc:  # surfaced by the test's own thread
        done["error"] = exc


def _officer_answered(stack: Stack, action_url: str, call_sid: str) -> httpx.Response:
    """Twilio's signed ``<Dial action>``: the officer took the call."""
    form = {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "From": CALLER,
        "To": "+827012345678",
        "DialCallSid": "CA" + secrets.token_hex(16),
        "DialCallStatus": "completed",
        "DialCallDuration": "42",
    }
    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(action_url, form)
    path = urlsplit(action_url).path
    return httpx.post(
        stack.gateway.url + path, data=form, headers={"X-Twilio-Signature": signature}
    )


def test_a_transferred_call_leaves_the_queue_when_the_officer_answers(
    browser: Any, transfer_stack: Stack, twilio: TwilioDouble
) -> None:
    from playwright.sync_api import expect

    stack = transfer_stack
    username, password = f"jikwon.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    create_account(stack, username, password, "--name", "박직원", "--role", "staff")
    context = browser.new_context()
    try:
        console = context.new_page()
        sign_in(console, stack, "/interpreter", username, password)
        expect(console.locator("#queue-empty")).to_be_visible()

        done: dict[str, Any] = {}
        caller = threading.Thread(target=_caller_asks_for_a_person, args=(stack, twilio, done))
        caller.start()
        caller.join(timeout=120)
        assert not caller.is_alive(), "the call did not end"
        assert "error" not in done, done.get("error")

        # The caller's request is in the queue, live, until the transfer connects.
        row = console.locator("#queue-body tr")
        expect(row).to_have_count(1, timeout=15_000)
        expect(row).to_contain_text("전화 · Phone")
        (update,) = twilio.call_updates
        assert update.twiml is not None and TRANSFER_TO in update.twiml
        found = _ACTION.search(update.twiml)
        assert found is not None, update.twiml
        assert found.group(1).startswith(PUBLIC_URL)
        # The officer's summary, by text, before they answer.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            summary = [m for m in twilio.received if m.to == TRANSFER_TO]
            if summary:
                break
            time.sleep(0.2)
        assert summary and summary[0].body.startswith("[소통] 전화를 연결합니다.")
        assert "끝자리 7777" in summary[0].body

        answered = _officer_answered(stack, found.group(1), done["call_sid"])
        assert answered.status_code == 200, answered.text
        expect(console.locator("#queue-empty")).to_be_visible(timeout=15_000)
        expect(row).to_have_count(0)
        assert_accessible(console, "interpreter console, a transferred call gone from the queue")
    finally:
        context.close()
