"""Plain records of the call store; ORM objects never leave the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class CallStatus(StrEnum):
    """Twilio's CallStatus values (status callbacks and the Call resource)."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """The call is over; no later status changes it."""
        return STATUS_RANK[self] == FINAL_RANK


# How far along each status is: an update only ever moves a call forward, so a
# "ringing" that arrives after "completed" changes nothing. The final states share a
# rank: the first one recorded stays.
FINAL_RANK = 3
STATUS_RANK: dict[CallStatus, int] = {
    CallStatus.QUEUED: 0,
    CallStatus.RINGING: 1,
    CallStatus.IN_PROGRESS: 2,
    CallStatus.COMPLETED: FINAL_RANK,
    CallStatus.BUSY: FINAL_RANK,
    CallStatus.FAILED: FINAL_RANK,
    CallStatus.NO_ANSWER: FINAL_RANK,
    CallStatus.CANCELED: FINAL_RANK,
}


class StreamClaim(StrEnum):
    """What ``CallStore.claim_stream`` found: the stream may start, or why not."""

    CLAIMED = "claimed"  # this is the call's first stream: it may start
    UNKNOWN = "unknown"  # no record of the call (never answered here, or erased)
    ENDED = "ended"  # not in progress: over (a final status, an ended stream) or unanswered
    ALREADY_STARTED = "already_started"  # a stream of this call started before


def parse_call_status(raw: str) -> CallStatus | None:
    """Twilio's CallStatus string as a CallStatus, or None when it is not one."""
    try:
        return CallStatus(raw.strip().lower())
    except ValueError:
        return None


@dataclass(frozen=True)
class CallRecord:
    """One phone call, as far as the gateway knows it.

    ``caller`` is kept in full (E.164): a callback or a handoff needs it. Logs show
    ``assistant.privacy.phone_tail(caller)`` only. Fields the gateway has not learnt yet
    are None: a status callback may arrive before the media stream tells who is calling
    and in which conversation.
    """

    call_sid: str
    status: CallStatus
    caller: str | None = None  # the citizen's number (Twilio's From)
    called: str | None = None  # our number (Twilio's To)
    conversation_id: str | None = None
    language: str | None = None
    started_at: dt.datetime | None = None  # the voice webhook answered (the bot took the call)
    ended_at: dt.datetime | None = None  # Twilio's final status, else the stream's end
    duration_seconds: int | None = None  # Twilio's CallDuration
    outcome: str | None = None  # how the voice session ended (e.g. "hung_up", "transferred")
    turns: int = 0  # dialogue turns in the call
    handoff: bool = False  # the caller was handed to a person
    # The call's one media stream started (a second ``start`` is refused: review L1).
    stream_started_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
