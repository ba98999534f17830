"""The full answer after a short one: "자세히"/"DETAIL" on SMS, sections by keypad on the
phone (issue 20, item 3).

SMS and voice answer a service in its short form, with one choice after it: "자세히
보기" (SMS, by its number or the word) or "자세히 듣기" (phone, by its key).

- On SMS the whole answer follows (what, deadline, who, documents, fee, how, how long,
  help); the gateway pages it to the SMS budget ("더보기" for the next page) and adds a
  signed, expiring link that opens it on the web chat (``WEB_LINK_KEY``).
- On the phone a caller cannot scroll: the sections are choices, one heard at a time,
  and after each the choices again.
- On the web chat the full answer is what it always gets.
"""

from __future__ import annotations

from typing import Any, Final

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.context import (
    current_channel,
    current_language,
    wants_easy_read,
)
from assistant.actions.detail_choice import detail_payload
from assistant.actions.services import utter_services
from assistant.catalog import Catalog, Service
from assistant.catalog.schema import Language
from assistant.messages import WEB_LINK_KEY

# The sections a caller chooses from, in the order of the written answer.
SECTIONS: Final = ("who", "documents", "fee", "how", "time")

_SECTION_TITLES: Final[dict[str, dict[Language, str]]] = {
    "who": {"ko": "신청할 수 있는 분", "en": "Who can apply"},
    "documents": {"ko": "준비할 것", "en": "What to bring"},
    "fee": {"ko": "비용", "en": "Cost"},
    "how": {"ko": "신청 방법", "en": "How to apply"},
    "time": {"ko": "기한과 걸리는 시간", "en": "Deadline and time"},
}
_WHICH_SECTION: Final[dict[Language, str]] = {
    "ko": "{name}에서 무엇을 들으시겠어요?",
    "en": "What would you like to hear about {name}?",
}


def section_text(service: Service, section: str, language: Language) -> str:
    """One section of the full answer, as heard on the phone."""
    title = _SECTION_TITLES[section][language]
    if section == "who":
        body = service.who_can_apply.get(language)
    elif section == "documents":
        body = ", ".join(service.documents.get(language))
    elif section == "fee":
        body = service.cost(language)
    elif section == "how":
        body = service.how_to_apply.get(language)
    else:
        body = service.processing_time.get(language)
        if service.deadline is not None:
            deadline = service.deadline.describe(language)
            first = f"{deadline}에 하세요." if language == "ko" else f"Do it {deadline}."
            body = f"{first} {body}"
    return f"{title}: {body}"


def section_buttons(service: Service, language: Language) -> list[dict[str, str]]:
    """Every section as a choice (five: what a caller can hold)."""
    return [
        {"title": _SECTION_TITLES[s][language], "payload": detail_payload(service.id, s)}
        for s in SECTIONS
    ]


class ActionAnswerDetail(Action):
    """The full answer about the service asked about (or the one just answered)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def name(self) -> str:
        return "action_answer_detail"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = current_language(tracker)
        channel = current_channel(tracker)
        message = tracker.latest_message or {}
        # The service the choice names, else the one just answered. Not the near-match
        # of the message's words: "자세히" is no service's misspelt name.
        named = _entity(message, "service") or tracker.get_slot("service")
        service = self._catalog.get(named) if isinstance(named, str) else None
        if service is None:
            dispatcher.utter_message(response="utter_ask_which_service")
            return []
        if channel == "voice":
            section = _section_in(message)
            if section is None:
                text = _WHICH_SECTION[language].format(name=service.name.get(language))
            else:
                text = section_text(service, section, language)
            dispatcher.utter_message(text=text, buttons=section_buttons(service, language))
            return [SlotSet("service", service.id)]
        events = utter_services(
            dispatcher, self._catalog, [service.id], language, False, wants_easy_read(tracker)
        )
        if channel == "sms":
            dispatcher.utter_message(json_message={WEB_LINK_KEY: {"service": service.id}})
        return events


def _entity(message: dict[str, Any], name: str) -> str | None:
    for entity in message.get("entities") or []:
        if entity.get("entity") == name and isinstance(entity.get("value"), str):
            return str(entity["value"])
    return None


def _section_in(message: dict[str, Any]) -> str | None:
    section = _entity(message, "section")
    return section if section in SECTIONS else None
