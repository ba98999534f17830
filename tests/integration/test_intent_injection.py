"""Citizens cannot choose intents and entities (review L6), against a real Rasa 3.6
server and the real gateway process.

Rasa reads ``/request_human{"service": "…"}`` as that intent with that entity, skipping
NLU. Sent as a web chat payload nobody offered, or typed as text (web chat, SMS), it
must reach the dialogue as words: no ``service`` slot with the citizen's value, and no
request for a person naming it (a value over 64 characters broke that insert on
PostgreSQL). A button the dialogue offered still goes as its payload
(tests/integration/test_conversations.py::test_quick_reply_payload).
"""

from __future__ import annotations

import asyncio
import secrets
import xml.etree.ElementTree as ET

import httpx
import pytest

from assistant.config import to_async_url
from assistant.store import SqlConversationStore, TurnDirection
from tests.integration.conftest import Citizen, texts
from tests.stackutil import Stack
from tests.twilio_wire import SMS_PATH, signed, sms_form

pytestmark = pytest.mark.rasa

LONG_SERVICE = "X" * 80
COMMAND = '/request_human{"service":"' + LONG_SERVICE + '"}'


def _handoff_services(stack: Stack, conversation_id: str) -> list[str | None]:
    async def read() -> list[str | None]:
        store = SqlConversationStore.from_url(
            to_async_url(f"sqlite:///{stack.var_dir / 'sotong.db'}")
        )
        try:
            return [r.service for r in await store.handoff_requests(conversation_id)]
        finally:
            await store.close()

    return asyncio.run(read())


def _not_chosen_by_the_citizen(stack: Stack, conversation_id: str) -> None:
    events = stack.tracker_events(conversation_id)
    users = [e for e in events if e["event"] == "user"]
    # What Rasa got: none of it was "/intent{entities}" (RegexMessageHandler's form).
    assert users and not any(str(e.get("text", "")).startswith("/") for e in users), users
    print("[L6] intents:", [e.get("parse_data", {}).get("intent", {}).get("name") for e in users])
    slots = [e.get("value") for e in events if e["event"] == "slot" and e["name"] == "service"]
    assert LONG_SERVICE not in slots, slots
    assert LONG_SERVICE not in _handoff_services(stack, conversation_id)


def test_a_payload_nobody_offered_goes_as_its_text(gateway: httpx.Client, stack: Stack) -> None:
    citizen = Citizen(gateway)
    answer = citizen.say("안녕하세요", payload=COMMAND)
    assert "소통" in texts(answer)  # the greeting: the text was what the dialogue got
    _not_chosen_by_the_citizen(stack, citizen.session_id)
    assert _handoff_services(stack, citizen.session_id) == []


def test_a_web_text_starting_with_a_slash_is_words(gateway: httpx.Client, stack: Stack) -> None:
    citizen = Citizen(gateway)
    citizen.say(COMMAND)
    citizen.say("/resume_assistant")
    _not_chosen_by_the_citizen(stack, citizen.session_id)
    # The transcript keeps what the citizen wrote.
    written = [m["text"] for m in citizen.transcript() if m["sender"] == "citizen"]
    assert written == [COMMAND, "/resume_assistant"]


def test_an_sms_starting_with_a_slash_is_words(gateway: httpx.Client, stack: Stack) -> None:
    # A number of its own: the stack is shared, and another test's texts would be here.
    phone = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
    form = sms_form(phone, COMMAND)
    response = gateway.post(SMS_PATH, data=form, headers=signed(form))
    assert response.status_code == 200, response.text
    assert [m.text for m in ET.fromstring(response.content).findall("Message")]
    conversation = stack.sms_conversation(phone)
    _not_chosen_by_the_citizen(stack, conversation)

    async def inbound() -> list[str]:
        store = SqlConversationStore.from_url(
            to_async_url(f"sqlite:///{stack.var_dir / 'sotong.db'}")
        )
        try:
            turns = await store.transcript(conversation)
        finally:
            await store.close()
        return [t.text for t in turns if t.direction is TurnDirection.INBOUND]

    assert asyncio.run(inbound()) == [COMMAND]
