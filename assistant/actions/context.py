"""Slots that mirror what the gateway decided for this message (language, channel)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.catalog.schema import Language

LANGUAGES: tuple[Language, ...] = ("ko", "en")

# Channels that get the short form of an answer (a fuller one goes to the web).
SHORT_FORM_CHANNELS = frozenset({"sms", "voice"})


def message_metadata(tracker: Tracker) -> dict[str, Any]:
    """Metadata the gateway sent with the latest user message."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def current_language(tracker: Tracker) -> Language:
    """The conversation's language: this message's metadata, else the slot, else Korean."""
    language = message_metadata(tracker).get("language") or tracker.get_slot("language")
    return "en" if language == "en" else "ko"


def current_channel(tracker: Tracker) -> str | None:
    """The channel of this message: its metadata, else the slot."""
    channel = message_metadata(tracker).get("channel") or tracker.get_slot("channel")
    return channel if isinstance(channel, str) else None


def wants_short_form(tracker: Tracker) -> bool:
    """True on channels (SMS, voice) that get the short form of an answer."""
    return current_channel(tracker) in SHORT_FORM_CHANNELS


def wants_easy_read(tracker: Tracker) -> bool:
    """The citizen chose easy read (web chat setting): one short step per message."""
    accessibility = message_metadata(tracker).get("accessibility") or {}
    return isinstance(accessibility, dict) and accessibility.get("easy_read") is True


class ActionReadMessageContext(Action):
    """Custom slot mapping: copy language and channel from the message metadata.

    Rasa runs it after every user message (``action_extract_slots``), so responses
    conditioned on the ``language`` slot always follow the gateway's choice.
    """

    def name(self) -> str:
        return "action_read_message_context"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        metadata = message_metadata(tracker)
        events: list[EventType] = []
        language = metadata.get("language")
        if language in LANGUAGES and language != tracker.get_slot("language"):
            events.append(SlotSet("language", language))
        channel = metadata.get("channel")
        if isinstance(channel, str) and channel != tracker.get_slot("channel"):
            events.append(SlotSet("channel", channel))
        return events
