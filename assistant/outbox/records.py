"""Plain records of the outbox; ORM objects never leave the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class OutboxStatus(StrEnum):
    """Where an outbound SMS is in its life."""

    QUEUED = "queued"  # stored, waiting for its turn (or for a retry)
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"  # accepted by Twilio (it has a MessageSid)
    DELIVERED = "delivered"  # the carrier confirmed delivery
    UNDELIVERED = "undelivered"  # the carrier could not deliver it
    FAILED = "failed"  # refused by Twilio, or given up after retries
    SUPPRESSED = "suppressed"  # never sent: the citizen opted out

    @property
    def is_open(self) -> bool:
        """Still to be sent: a later message to the same number must wait for it."""
        return self in (OutboxStatus.QUEUED, OutboxStatus.SENDING)


# How far along each status is: a status callback only ever moves a message forward.
# Twilio's final states share a rank, except that a delivery receipt wins over all.
STATUS_RANK: dict[OutboxStatus, int] = {
    OutboxStatus.QUEUED: 0,
    OutboxStatus.SENDING: 1,
    OutboxStatus.SENT: 2,
    OutboxStatus.UNDELIVERED: 3,
    OutboxStatus.FAILED: 3,
    OutboxStatus.SUPPRESSED: 3,
    OutboxStatus.DELIVERED: 4,
}

# Twilio's MessageStatus values (REST resource and status callbacks) in our terms.
# Twilio's own "accepted", "queued" and "sending" all mean Twilio holds the message.
# "read" exists only on channels with read receipts; it implies delivery.
TWILIO_STATUSES: dict[str, OutboxStatus] = {
    "accepted": OutboxStatus.SENT,
    "scheduled": OutboxStatus.SENT,
    "queued": OutboxStatus.SENT,
    "sending": OutboxStatus.SENT,
    "sent": OutboxStatus.SENT,
    "delivered": OutboxStatus.DELIVERED,
    "read": OutboxStatus.DELIVERED,
    "undelivered": OutboxStatus.UNDELIVERED,
    "failed": OutboxStatus.FAILED,
}


@dataclass(frozen=True)
class OutboxMessage:
    """One SMS-sized outbound message (a long text is stored as several, in order)."""

    id: int
    recipient: str
    body: str
    kind: str
    conversation_id: str | None
    dedupe_key: str | None
    part: int  # 1-based position within the text it was split from
    parts: int
    status: OutboxStatus
    attempts: int  # claims so far (a claim whose worker died counts too)
    next_attempt_at: dt.datetime
    lease_until: dt.datetime | None
    claim_token: str | None
    provider_sid: str | None
    error_code: str | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    sent_at: dt.datetime | None
