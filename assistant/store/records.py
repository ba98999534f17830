"""Plain records the store hands out; ORM objects never leave the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TurnDirection(StrEnum):
    """Who spoke."""

    INBOUND = "inbound"  # the citizen
    OUTBOUND = "outbound"  # the bot (later also staff and interpreters)


class TurnStatus(StrEnum):
    """Where a turn is in its life."""

    RECEIVED = "received"  # inbound, stored, not yet answered
    ANSWERED = "answered"  # inbound, the dialogue answered it
    PENDING = "pending"  # inbound, the dialogue was unreachable: answer it later
    UNANSWERED = "unanswered"  # inbound, the dialogue ran but produced nothing
    RELAYED = "relayed"  # inbound, a person held the conversation: shown to them, not the bot
    SENT = "sent"  # outbound


@dataclass(frozen=True)
class Button:
    """A quick reply: what the citizen sees and what the dialogue receives."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """A message to the citizen about to be stored (``ConversationStore.record_answer``)."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Conversation:
    """One citizen's conversation on one channel."""

    id: str
    channel: str
    address: str
    language: str
    created_at: dt.datetime
    updated_at: dt.datetime
    accessibility: dict[str, Any] = field(default_factory=dict)
    last_buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Turn:
    """One message in a transcript."""

    id: int
    conversation_id: str
    direction: TurnDirection
    text: str
    language: str
    status: TurnStatus
    created_at: dt.datetime
    payload: str | None = None
    buttons: tuple[Button, ...] = ()
    client_message_id: str | None = None
    reply_to: int | None = None
    author: str | None = None  # None: the citizen or the bot; "person:<username>": a person


@dataclass(frozen=True)
class HandoffRequest:
    """A request for a person (staff or sign-language interpreter)."""

    id: int
    conversation_id: str
    reason: str
    service: str | None
    channel: str
    language: str
    accessibility: dict[str, Any]
    status: str
    created_at: dt.datetime
