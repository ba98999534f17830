"""Plain records the reminder store hands out; ORM objects never leave the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from assistant.language import Language


class ReminderStatus(StrEnum):
    """Where a reminder is in its life."""

    SCHEDULED = "scheduled"  # waiting for its send time
    SENT = "sent"  # handed to the outbox
    CANCELLED = "cancelled"  # the citizen stopped reminders, or set this one up again
    # Not sent because it no longer helps: its deadline passed while the gateway was down,
    # or a later reminder for the same deadline was due at the same time.
    EXPIRED = "expired"


@dataclass(frozen=True)
class Reminder:
    """One SMS to send at ``send_at`` about the deadline of one service."""

    id: int
    phone: str
    service_id: str
    event_date: dt.date
    due_date: dt.date
    send_at: dt.datetime  # aware, UTC
    language: Language
    status: ReminderStatus
    created_at: dt.datetime
    sent_at: dt.datetime | None = None


class DraftStage(StrEnum):
    """Which answer a reminder set-up is waiting for."""

    CHOOSING = "choosing"  # the menu of life events was sent: waiting for a number
    AWAITING_DATE = "awaiting_date"  # a service was chosen: waiting for the event's date


@dataclass(frozen=True)
class ReminderDraft:
    """A reminder set-up in progress over SMS (kept so it survives a restart)."""

    phone: str
    stage: DraftStage
    language: Language
    updated_at: dt.datetime
    service_id: str | None = None
    # Answers not understood so far at this stage (the second one ends the set-up).
    attempts: int = 0
