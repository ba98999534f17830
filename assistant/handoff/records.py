"""Plain records of the handoff queue; rows never leave the store."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
MINUTES_PER_DAY = 24 * 60

_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")

SKILL_KSL = "ksl"  # Korean Sign Language interpreting
SKILL_PERSON = "person"  # any staff member or interpreter
SIGN_LANGUAGE_REASON = "sign_language"  # the reason the dialogue gives for KSL


class QueueState(StrEnum):
    """Where a handoff request is: waiting → offered → accepted → in_session → an end."""

    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    IN_SESSION = "in_session"
    RESOLVED = "resolved"
    ABANDONED = "abandoned"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """The request is over; nothing changes it any more."""
        return self in (QueueState.RESOLVED, QueueState.ABANDONED, QueueState.EXPIRED)


# Before the queue existed, ``ConversationStore.request_handoff`` wrote "requested";
# migration 0006 rewrites those rows, and reading it as waiting keeps an old row valid.
REQUESTED = "requested"
WAITING_VALUES: tuple[str, ...] = (QueueState.WAITING.value, REQUESTED)


def parse_state(raw: str) -> QueueState:
    """The stored status as a QueueState (a pre-0006 "requested" is waiting)."""
    return QueueState.WAITING if raw == REQUESTED else QueueState(raw)


def parse_work_hours(text: str) -> tuple[int, int]:
    """ "09:00-18:00" as minutes of the day (540, 1080); "22:00-06:00" wraps midnight.
    ValueError, saying how to write them, for anything else."""
    match = _HOURS.fullmatch(text.strip())
    if not match:
        raise ValueError("working hours look like 09:00-18:00")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or not 0 <= start <= MINUTES_PER_DAY or not 0 <= end <= MINUTES_PER_DAY:
        raise ValueError("working hours are times from 00:00 to 24:00")
    if start == end:
        raise ValueError("working hours need a start and a different end")
    return start, end


def skill_for_reason(reason: str) -> str:
    """The skill a request needs when none was set: KSL for sign language, else a person."""
    return SKILL_KSL if reason == SIGN_LANGUAGE_REASON else SKILL_PERSON


CONTACT_CALLBACK = "callback"  # a person phones the citizen at the scheduled time
CONTACT_TEXT = "text"  # a person texts the citizen (deaf or hard of hearing: never a call)
CONTACT_VIDEO = "video"  # a video appointment (a join link is sent at the time)


class CallbackState(StrEnum):
    """Where getting the number for a call-back or text stands (``QueueEntry``)."""

    ASKING = "asking"  # the citizen was asked to type or key a number
    CONFIRMING = "confirming"  # a number (the caller ID) awaits the citizen's yes
    CONFIRMED = "confirmed"


class CallOutcome(StrEnum):
    """How one call-back attempt ended (``CallbackAttempt.outcome``)."""

    REACHED = "reached"  # the citizen answered
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"  # the citizen's number could not be dialled
    PERSON_UNREACHED = "person_unreached"  # the person's own phone did not answer
    FAILED = "failed"  # Twilio refused or could not place the call

    @property
    def retried(self) -> bool:
        """Worth trying again later (the citizen may answer then)."""
        return self in (CallOutcome.NO_ANSWER, CallOutcome.BUSY)


@dataclass(frozen=True)
class CallbackAttempt:
    """One try at calling a citizen back, by one person."""

    id: int
    request_id: int
    person: str
    started_at: dt.datetime
    call_sid: str | None = None
    outcome: CallOutcome | None = None
    ended_at: dt.datetime | None = None
    retry_at: dt.datetime | None = None


class Outcome(StrEnum):
    """How a request ended (``QueueEntry.outcome``)."""

    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"  # the person handed the citizen back to the bot
    CANCELLED = "cancelled"  # the citizen cancelled or left (state abandoned)
    EXPIRED = "expired"
    TIMED_OUT = "timed_out"  # the holder showed no sign for too long (state resolved)
    DISMISSED = "dismissed"  # staff cleared a flood from one source (state abandoned)
    TRANSFERRED = "transferred"  # a call reached the community centre (state resolved)
    NO_SHOW = "no_show"  # the citizen did not come to their appointment (state resolved)


@dataclass(frozen=True)
class Interpreter:
    """Someone who takes handoff sessions: a KSL interpreter or centre staff.

    ``skills`` are the request skills they take ("ksl", "person"); ``capacity`` is how
    many sessions they hold at once (accepted or in session). ``work_start``/``work_end``
    are minutes of the day in Asia/Seoul (None: no fixed hours; an end before the start
    is a shift over midnight).
    """

    id: str
    name: str
    centre: str | None = None
    region: str | None = None
    skills: tuple[str, ...] = (SKILL_PERSON,)
    languages: tuple[str, ...] = ("ko",)
    available: bool = False
    capacity: int = 1
    work_start: int | None = None
    work_end: int | None = None
    updated_at: dt.datetime | None = None
    phone: str | None = None  # their own phone (E.164), rung first by a call-back

    def on_duty(self, at: dt.datetime) -> bool:
        """Within working hours at ``at`` (aware); always true without fixed hours."""
        if self.work_start is None or self.work_end is None:
            return True
        local = at.astimezone(SEOUL)
        minute = local.hour * 60 + local.minute
        if self.work_start <= self.work_end:
            return self.work_start <= minute < self.work_end
        return minute >= self.work_start or minute < self.work_end

    def can_take(self, skill: str) -> bool:
        """Whether they take requests needing ``skill``."""
        return skill in self.skills

    def speaks(self, language: str) -> bool:
        """Whether they work in the citizen's ``language`` (Korean when none is set)."""
        return language in (self.languages or ("ko",))


def serves_region(entry: QueueEntry, person: Interpreter) -> bool:
    """A request without a region is anyone's; a person without one takes any region."""
    return entry.region is None or person.region is None or entry.region == person.region


@dataclass(frozen=True)
class QueueEntry:
    """One handoff request in the queue, with every change's time."""

    id: int
    conversation_id: str
    reason: str
    service: str | None
    channel: str
    language: str
    state: QueueState
    skill: str
    created_at: dt.datetime
    accessibility: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    offered_to: str | None = None
    accepted_by: str | None = None
    offered_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    session_started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    outcome: str | None = None
    notes: str | None = None
    contact: str | None = None  # a "callback", "text" or "video" appointment
    scheduled_for: dt.datetime | None = None
    requested_by: str | None = None  # the staff member who asked for a walk-in citizen
    told_position: int | None = None  # what the citizen was last told
    told_wait_minutes: int | None = None
    # Where the request came from, as a keyed hash (review H2): what "the same source" is.
    origin_ref: str | None = None
    callback_number: str | None = None  # E.164, confirmed or typed with consent
    callback_state: CallbackState | None = None
    callback_consent_at: dt.datetime | None = None
    feedback_asked_at: dt.datetime | None = None  # "did it help?" sent on closing
    helpful: bool | None = None  # the citizen's answer, once
    feedback_at: dt.datetime | None = None
    booked_with: str | None = None  # the person an appointment's slot is booked with
    reminded_day_at: dt.datetime | None = None  # the day-before reminder went out
    reminded_soon_at: dt.datetime | None = None  # the ten-minutes-before reminder went out

    @property
    def video_booked(self) -> bool:
        """A video appointment with its time set (its reply words and reminders apply)."""
        return self.contact == CONTACT_VIDEO and self.scheduled_for is not None
