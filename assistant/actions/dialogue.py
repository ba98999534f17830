"""Conversation-level actions: repeat, start over, offer choices, ask for a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.context import (
    current_channel,
    current_language,
    message_metadata,
    wants_easy_read,
    wants_short_form,
)
from assistant.actions.routing import (
    SIGN_LANGUAGE_SERVICE,
    asks_for_sign_language,
    clarification_candidates,
)
from assistant.actions.services import answer_for_channel, services_in_message, utter_services
from assistant.catalog import Catalog
from assistant.catalog.nlu_export import intent_for
from assistant.messages import HANDOFF_KEY


class ActionRepeat(Action):
    """Say again everything the bot said in its previous turn."""

    def name(self) -> str:
        return "action_repeat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        previous: list[dict[str, Any]] = []
        seen_current_user = False
        for event in reversed(tracker.events):
            kind = event.get("event")
            if kind == "user":
                if seen_current_user and previous:
                    break
                seen_current_user = True
            elif kind == "bot" and seen_current_user and (event.get("text") or event.get("data")):
                previous.append(event)
        if not previous:
            dispatcher.utter_message(response="utter_nothing_to_repeat")
            return []
        for event in reversed(previous):
            data = event.get("data") or {}
            dispatcher.utter_message(text=event.get("text"), buttons=data.get("buttons") or None)
        return []


class ActionStartOver(Action):
    """Forget the conversation so far but keep the citizen's language and channel."""

    def name(self) -> str:
        return "action_start_over"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = current_language(tracker)
        events: list[EventType] = [AllSlotsReset(), SlotSet("language", language)]
        if tracker.get_slot("channel"):
            events.append(SlotSet("channel", tracker.get_slot("channel")))
        # Rasa renders the response before applying these events, in the current language.
        dispatcher.utter_message(response="utter_started_over")
        return events


class ActionOfferChoices(Action):
    """Fallback: never "I don't understand".

    A service named in the message is answered (the classifier hesitated, the name did
    not); when the classifier hesitated between services, ask which of those is meant;
    otherwise offer the common choices.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def name(self) -> str:
        return "action_offer_choices"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = current_language(tracker)
        named = services_in_message(tracker.latest_message or {}, self._catalog)
        if named:
            return utter_services(
                dispatcher,
                self._catalog,
                named,
                language,
                wants_short_form(tracker),
                wants_easy_read(tracker),
                current_channel(tracker),
            )
        candidates = clarification_candidates(tracker.latest_message or {}, self._catalog)
        if not candidates:
            dispatcher.utter_message(response="utter_offer_choices")
            return []
        buttons = []
        for service_id in candidates:
            service = self._catalog.get(service_id)
            if service is not None:
                buttons.append(
                    {"title": service.name.get(language), "payload": f"/{intent_for(service_id)}"}
                )
        other = "다른 것" if language == "ko" else "Something else"
        buttons.append({"title": other, "payload": "/help"})
        dispatcher.utter_message(response="utter_which_of_these", buttons=buttons)
        return []


class ActionRequestHandoff(Action):
    """Ask for a person: tell the citizen, and tell the gateway through a custom payload.

    A request for sign language also gets the interpreting and 107 relay service's
    answer after the handoff message: a deaf citizen learns what they can use any time
    (107 by video call) while the interpreter is on the way.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        metadata = message_metadata(tracker)
        text = (tracker.latest_message or {}).get("text") or ""
        # The slot is filled from an entity, so any text can land in it (a citizen's
        # "/request_human{\"service\": …}", review L6): only a catalog service goes on.
        slot = tracker.get_slot("service")
        service = slot if isinstance(slot, str) and self._catalog.get(slot) else None
        # A keypad choice on the phone says it in the metadata, words say it in the text.
        sign_language = metadata.get("sign_language") is True or asks_for_sign_language(text)
        dispatcher.utter_message(
            json_message={
                HANDOFF_KEY: {
                    "reason": "sign_language" if sign_language else "person",
                    # What the citizen was asking about, for the person who takes over.
                    "service": service,
                    "channel": metadata.get("channel"),
                }
            }
        )
        dispatcher.utter_message(response="utter_handoff_requested")
        relay = self._catalog.get(SIGN_LANGUAGE_SERVICE)
        if sign_language and relay is not None:
            # Said, not made the topic: the ``service`` slot keeps what they asked about.
            # Without its note on SMS: the place in line and how to cancel follow, and
            # must stay on the first page.
            language = current_language(tracker)
            short = wants_short_form(tracker)
            dispatcher.utter_message(
                text=answer_for_channel(relay, language, short, with_note=False)
            )
        return []


class ActionResumeAssistant(Action):
    """The bot picks up again: after a person hands the citizen back (the gateway
    triggers ``resume_assistant``), or when the citizen asks for the bot.

    With context: the service the conversation was about is named, so the citizen does
    not have to say it again.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def name(self) -> str:
        return "action_resume_assistant"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = current_language(tracker)
        service_id = tracker.get_slot("service")
        service = self._catalog.get(service_id) if isinstance(service_id, str) else None
        if language == "en":
            text = "I am here to help you again."
            if service is not None:
                text += f" We were talking about {service.name.get(language)}."
            text += " What else do you need?"
        else:
            text = "다시 소통이 도와드립니다."
            if service is not None:
                text += f" 앞에서 {service.name.get(language)}에 대해 이야기했습니다."
            text += " 더 필요한 것이 있으면 말씀해 주세요."
        buttons = []
        if service is not None:
            again = "Tell me again" if language == "en" else "다시 안내 듣기"
            buttons.append({"title": again, "payload": f"/{intent_for(service.id)}"})
        dispatcher.utter_message(text=text, buttons=buttons or None)
        return []
