"""What the gateway decided for this message (language, channel, accessibility).

The ``language`` and ``channel`` slots are filled by Rasa from the same metadata
(nlu/components/message_context.py); the metadata comes first here because it is
this message's, the slots the conversation's."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from assistant.catalog.schema import Language

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


def offers_text_me(tracker: Tracker) -> bool:
    """Whether a checklist or a result offers "문자로 받기" (assistant/text_me.py):
    everywhere but on SMS, where it is a text already."""
    return current_channel(tracker) != "sms"


def wants_easy_read(tracker: Tracker) -> bool:
    """The citizen chose easy read (web chat setting): one short step per message."""
    accessibility = message_metadata(tracker).get("accessibility") or {}
    return isinstance(accessibility, dict) and accessibility.get("easy_read") is True
