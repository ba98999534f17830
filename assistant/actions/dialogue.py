"""Conversation-level actions: repeat, start over, offer choices, ask for a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.context import current_language, message_metadata

HANDOFF_KEY = "sotong_handoff"  # read by the conversation core


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
    """Fallback: never "I don't understand"; offer the common choices instead."""

    def name(self) -> str:
        return "action_offer_choices"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_offer_choices")
        return []


class ActionRequestHandoff(Action):
    """Ask for a person: tell the citizen, and tell the gateway through a custom payload."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        metadata = message_metadata(tracker)
        text = (tracker.latest_message or {}).get("text") or ""
        sign_language = any(word in text.lower() for word in ("수어", "수화", "sign"))
        dispatcher.utter_message(
            json_message={
                HANDOFF_KEY: {
                    "reason": "sign_language" if sign_language else "person",
                    "service": tracker.get_slot("service"),
                    "channel": metadata.get("channel"),
                }
            }
        )
        dispatcher.utter_message(response="utter_handoff_requested")
        return []
