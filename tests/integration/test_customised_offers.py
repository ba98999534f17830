"""The seeds' customised services offered on every channel, through the real stack: the
greeting and help name life events, the screenings and reminders, and each offer leads
on to what it names (issue 20, item 4). The phone menu's keys are walked in
tests/unit/test_call_dialogue.py and on a real call in test_voice_call.py."""

from __future__ import annotations

import httpx
import pytest

from assistant.catalog import load_catalog
from assistant.text_me import TEXT_ME_PAYLOAD, text
from assistant.texts import say
from tests.integration.conftest import Citizen, texts
from tests.integration.test_sms_webhook import new_number, send
from tests.stackutil import TWILIO_PHONE_NUMBER

pytestmark = pytest.mark.rasa

CATALOG = load_catalog()
OFFERS = ["/ask_life_events", "/ask_find_services", "/ask_reminders"]


def _payloads(turn: dict) -> list[str]:
    return [b["payload"] for m in turn["messages"] for b in m.get("buttons") or []]


def test_web_greeting_offers_life_events_screenings_and_reminders(citizen: Citizen) -> None:
    greeting = citizen.say("안녕하세요")
    assert "생활 속 큰일" in texts(greeting) and "기한 알림" in texts(greeting)
    assert _payloads(greeting) == OFFERS
    # The first offer, then a life event from its buttons: the checklist.
    events = citizen.say("생활 속 큰일", payload="/ask_life_events")
    assert sorted(_payloads(events)) == sorted(f"/package_{p}" for p in CATALOG.packages)
    moving = citizen.say("이사", payload="/package_moving")
    assert f"[{CATALOG.packages['moving'].name.ko}]" in texts(moving)
    # ... which can be texted to a mobile: asked for, sent through the outbox.
    assert _payloads(moving)[-1] == TEXT_ME_PAYLOAD
    asked = citizen.say("문자로 받기", payload=TEXT_ME_PAYLOAD)
    assert texts(asked) == text("ask", "ko")
    sent = citizen.say("010-2345-6789")
    assert texts(sent) == text("sent", "ko", number="010-****-6789")


def test_web_help_in_english_offers_the_same(gateway: httpx.Client) -> None:
    citizen = Citizen(gateway, language="en")
    help_turn = citizen.say("what can you do")
    assert "life event" in texts(help_turn)
    assert _payloads(help_turn)[:3] == OFFERS
    # "Services for you", as the web chat's quick reply sends it (its words).
    found = citizen.say("Services for you")
    assert _payloads(found) == ["/screen_elderly", "/screen_disabled", "/screen_mothers_newborns"]
    # Choosing one starts that screening's first question.
    assert "How old" in texts(citizen.say("An older person", payload="/screen_elderly"))


def test_web_reminders_offer_names_the_number_to_text(citizen: Citizen) -> None:
    answer = texts(citizen.say("기한 알림 받고 싶어요"))
    assert "070-1234-5678" in answer and "'알림'" in answer, answer
    assert TWILIO_PHONE_NUMBER.endswith("7012345678")


def test_sms_greeting_offers_by_number_and_help_names_the_words(
    gateway: httpx.Client,
) -> None:
    phone = new_number()
    greeting = " ".join(send(gateway, phone, "안녕하세요"))
    assert "1. 생활 속 큰일" in greeting and "3. 기한 알림" in greeting, greeting
    # "2" picks the second offer: the screenings, numbered in turn.
    screenings = " ".join(send(gateway, phone, "2"))
    assert "1. 어르신" in screenings and "3. 임신과 아기" in screenings, screenings
    # The SMS help keyword names the words that reach the offers; each word works.
    assert send(gateway, phone, "도움말") == [say("sms_help", "ko")]
    assert "생활 속 큰일" in say("sms_help", "ko") and "서비스 찾기" in say("sms_help", "ko")
    events = " ".join(send(gateway, phone, "생활 속 큰일"))
    assert "1. 이사" in events and "5. 장애가 생김" in events, events
    found = " ".join(send(gateway, phone, "서비스 찾기"))
    assert "1. 어르신" in found, found
    # On SMS the reminders offer gives the word to send here, not a number.
    reminders = " ".join(send(gateway, phone, "기한 알림 어떻게 받아요"))
    assert "'알림'이라고 보내 주세요" in reminders and "070" not in reminders, reminders


def test_sms_help_in_english_names_words_the_dialogue_knows(gateway: httpx.Client) -> None:
    phone = new_number()
    assert send(gateway, phone, "HELP") == [say("sms_help", "en")]
    events = " ".join(send(gateway, phone, "LIFE EVENTS"))
    assert "1. Moving house" in events, events
    found = " ".join(send(gateway, phone, "SERVICES FOR ME"))
    assert "1. An older person" in found, found
