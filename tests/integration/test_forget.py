"""FORGET against the real stack: the dialogue's memory goes with the transcript.

A citizen texts a question, so Rasa's tracker (its SQL tracker store, a SQLite file
beside the gateway's database, as `sotong run` sets it up) holds their words. After
"삭제" the gateway's store has no conversation of the number and Rasa's own HTTP API
shows no user message for the old conversation id: the gateway deleted the tracker's
rows (Rasa 3.6 has no route that does; assistant/trackers.py).
"""

from __future__ import annotations

import asyncio
import secrets
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from assistant.config import to_async_url
from tests.stackutil import Stack
from tests.twilio_wire import SMS_PATH, signed, sms_form

pytestmark = pytest.mark.rasa


def _sms(gateway: httpx.Client, phone: str, body: str) -> list[str]:
    form = sms_form(phone, body)
    response = gateway.post(SMS_PATH, data=form, headers=signed(form))
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.content).findall("Message")]


def _conversations_of(stack: Stack, phone: str) -> list[str]:
    from assistant.store import SqlConversationStore

    async def find() -> list[str]:
        store = SqlConversationStore.from_url(
            to_async_url(f"sqlite:///{stack.var_dir / 'sotong.db'}")
        )
        try:
            return await store.conversations_of_address(phone)
        finally:
            await store.close()

    return asyncio.run(find())


def _user_texts(stack: Stack, conversation_id: str) -> list[Any]:
    """What Rasa's tracker holds of what the citizen wrote (Rasa's HTTP API)."""
    events = stack.tracker_events(conversation_id, include="AFTER_RESTART")
    return [e.get("text") for e in events if e["event"] == "user"]


def test_forget_erases_the_dialogues_memory_too(gateway: httpx.Client, stack: Stack) -> None:
    phone = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
    assert _sms(gateway, phone, "기초연금 신청 방법 알려주세요")
    (conversation_id,) = _conversations_of(stack, phone)
    assert _user_texts(stack, conversation_id) == ["기초연금 신청 방법 알려주세요"]

    assert "모두 지웠습니다" in "\n".join(_sms(gateway, phone, "삭제"))

    assert _conversations_of(stack, phone) == []
    assert _user_texts(stack, conversation_id) == []
    # The number is answered as a newcomer, in a new conversation.
    assert _sms(gateway, phone, "안녕하세요")
    (fresh,) = _conversations_of(stack, phone)
    assert fresh != conversation_id
