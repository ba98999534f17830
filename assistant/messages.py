"""The normalised messages every channel adapter exchanges with the conversation core."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.store.records import Button

# Custom payloads an action sends back to the core (Rasa's ``json_message``).
HANDOFF_KEY = "sotong_handoff"
"""A person was asked for: the request (why, the service)."""
WEB_LINK_KEY = "sotong_web_link"
"""The answer is long: the channel adds a link that opens it on the web chat."""


@dataclass(frozen=True)
class IncomingMessage:
    """One message from a citizen, whatever the channel.

    ``payload`` is what a quick-reply button carries (sent to the dialogue instead of the
    text): the core takes it only if it was offered (review L6), unless
    ``payload_from_gateway`` says the adapter chose it itself, never the citizen's
    client (the phone menu's keypad choices). ``client_message_id`` makes a retried
    delivery idempotent; ``origin`` is where it came from, for the limits on requests
    for a person.
    """

    conversation_id: str
    text: str
    channel: str
    payload: str | None = None
    client_message_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # Who sent it, for abuse limits only (a web client's address, a phone number);
    # never sent to the dialogue and never stored in clear.
    origin: str | None = None
    payload_from_gateway: bool = False


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to a citizen. Channels without buttons render them as numbered text."""

    text: str
    buttons: tuple[Button, ...] = ()
    turn_id: int | None = None
    author: str | None = None  # "person:<username>" when a person wrote it, not the bot

    def as_plain_text(self) -> str:
        """Text with buttons as a numbered list (for SMS and voice)."""
        if not self.buttons:
            return self.text
        lines = [self.text, *(f"{i}. {b.title}" for i, b in enumerate(self.buttons, 1))]
        return "\n".join(lines)


@dataclass(frozen=True)
class TurnResult:
    """What the core did with one incoming message."""

    conversation_id: str
    language: str
    replies: tuple[OutgoingMessage, ...]
    inbound_turn_id: int
    degraded: bool = False  # the dialogue was unreachable; the message is kept
    duplicate: bool = False  # a retried delivery of a message already answered
    handoff: str | None = None  # why a person was asked for in this turn ("person", …)
    relayed: bool = False  # a person holds the conversation: the message went to them
    web_link: bool = False  # the dialogue asked for a link to the answer on the web


class OutputChannel(Protocol):
    """How the core reaches a citizen outside a request (answers to kept messages, …).

    The one required method sends text; rich output degrades to text.
    """

    async def send(self, conversation_id: str, message: OutgoingMessage) -> None:
        """Deliver ``message`` to the citizen of ``conversation_id``."""
        ...
