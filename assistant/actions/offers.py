"""Offer deadline reminders (one of the seeds' customised services) on every channel.

Reminders are set up by text message (assistant/reminders): a citizen already texting
is told the word to send; on the web chat and the phone they are told which number to
text, because the gateway knows it and a citizen does not. Where this deployment has no
SMS number, they are told so plainly rather than sent looking for one.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.context import current_channel, current_language
from assistant.catalog.schema import Language
from assistant.handoff.phone_numbers import national
from assistant.reminders.texts import SETUP_WORD

_WHAT: dict[Language, str] = {
    "ko": "신청이나 신고 기한이 다가오면 문자로 미리 알려 드립니다.",
    "en": "I can text you before a deadline to apply or report.",
}


def reminders_offer(language: Language, channel: str | None, sms_number: str | None) -> str:
    """What reminders are and how to start them, for a citizen on ``channel``."""
    if channel == "sms":
        how = {
            "ko": f"'{SETUP_WORD.ko}'이라고 보내 주세요.",
            "en": f"Reply {SETUP_WORD.en}.",
        }[language]
    elif sms_number:
        number = national(sms_number)
        how = {
            "ko": f"휴대전화로 {number}에 '{SETUP_WORD.ko}'이라고 문자를 보내 주세요.",
            "en": f"From a mobile phone, text {SETUP_WORD.en} to {number}.",
        }[language]
    else:
        how = {
            "ko": "이곳에서는 아직 문자를 보낼 수 없습니다. 기한은 주민센터에서 확인해 주세요.",
            "en": "Texts are not set up here yet. Please check deadlines at a community centre.",
        }[language]
    return f"{_WHAT[language]} {how}"


class ActionOfferReminders(Action):
    """Say what deadline reminders are and how this citizen starts them."""

    def __init__(self, sms_number: str | None) -> None:
        self._sms_number = sms_number

    def name(self) -> str:
        return "action_offer_reminders"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = current_language(tracker)
        text = reminders_offer(language, current_channel(tracker), self._sms_number)
        dispatcher.utter_message(text=text)
        return []
