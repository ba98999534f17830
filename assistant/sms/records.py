"""Plain records of the SMS state store; ORM objects never leave the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class RateDecision(StrEnum):
    """What the per-number rate limit says about one incoming message."""

    ALLOWED = "allowed"
    REFUSED_NOTIFY = "refused_notify"  # the first refused message of the window: say why
    REFUSED_SILENT = "refused_silent"  # every later one: say nothing (no auto-reply loops)

    @property
    def refused(self) -> bool:
        """Whether the message is over the limit."""
        return self is not RateDecision.ALLOWED


class MessageStatus(StrEnum):
    """Where an incoming message (by its MessageSid) is in its processing."""

    PROCESSING = "processing"  # claimed by a request that is answering it
    DONE = "done"  # answered; the answer is stored


@dataclass(frozen=True)
class NumberState:
    """What the gateway remembers about one phone number on SMS."""

    phone: str
    opted_out: bool = False
    provider_blocked: bool = False  # Twilio blocks the number too (it answered the STOP)
    restart_hint_sent: bool = False  # the "send START to restart" reply went out
    opted_out_at: dt.datetime | None = None
    opted_in_at: dt.datetime | None = None
    pages: tuple[tuple[str, ...], ...] = ()  # the rest of the last long reply, for MORE


@dataclass(frozen=True)
class MessageRecord:
    """One incoming message's idempotency record and, once answered, its answer."""

    message_sid: str
    phone: str
    status: MessageStatus
    messages: tuple[str, ...]  # the SMS texts answered (bot texts only, masked)
    outcome: str | None
    claimed_at: dt.datetime
    completed_at: dt.datetime | None


@dataclass(frozen=True)
class Claim:
    """The result of claiming a MessageSid.

    ``owned``: this request must process the message (then complete or release it).
    Otherwise the message was already answered and ``messages`` is that answer.
    """

    owned: bool
    messages: tuple[str, ...] = ()
    outcome: str | None = None


class ClaimTimeout(RuntimeError):
    """Another request holds the message and did not answer within the wait."""
