"""The handoff queue's algorithm, independent of where the rows live.

A request for a person (``ConversationStore.request_handoff``) waits in the queue until
an interpreter or staff member accepts it:

    waiting → offered → accepted → in_session → resolved | abandoned | expired

(accepted may also end directly; a citizen may leave at any point before the end; an
offer may be declined back to waiting; a held request goes back to waiting when its
holder is released, and is timed out when its holder shows no sign for too long).
Every change is one conditional UPDATE whose WHERE clause is the allowed "from"
states, so a change either happens exactly once or is refused (False/None) — never
half-done, whichever process asks.

The guarantee of the queue is ``accept``: however many interpreters accept the same
request at the same moment, through however many processes, exactly one succeeds, and
nobody holds more sessions than their capacity (see ``_accept``).

Subclasses provide the storage primitives (the ``_``-prefixed methods).
"""

from __future__ import annotations

import abc
import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from assistant.handoff.records import (
    MINUTES_PER_DAY,
    CallbackState,
    Interpreter,
    Outcome,
    QueueEntry,
    QueueState,
)
from assistant.privacy import mask_rrn
from assistant.store.base import StoreError, utcnow

QUEUED = (QueueState.WAITING, QueueState.OFFERED)  # still in the queue
HELD = (QueueState.ACCEPTED, QueueState.IN_SESSION)  # held by a person
_MAX_ID = 64
_MAX_NOTES = 4000
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_REMINDER_COLUMNS = {"day": "reminded_day_at", "soon": "reminded_soon_at"}


def _check_interpreter(interpreter: Interpreter) -> None:
    if not interpreter.id or len(interpreter.id) > _MAX_ID:
        raise ValueError("an interpreter id is 1 to 64 characters")
    if not interpreter.name:
        raise ValueError("an interpreter has a name")
    if interpreter.capacity < 0:
        raise ValueError("capacity cannot be negative")
    if (interpreter.work_start is None) != (interpreter.work_end is None):
        raise ValueError("working hours need both a start and an end")
    for minute in (interpreter.work_start, interpreter.work_end):
        if minute is not None and not 0 <= minute <= MINUTES_PER_DAY:
            raise ValueError("working hours are minutes of the day (0 to 1440)")
    if interpreter.phone is not None and not _E164.fullmatch(interpreter.phone):
        raise ValueError("a phone number is '+', the country code and the number")


def wait_for_place(
    place: int, people: Sequence[Interpreter], now: dt.datetime, minutes_per_session: int
) -> dt.timedelta | None:
    """The wait at ``place`` with ``people`` (those with the request's skill): None if none
    of them is available and on duty at ``now`` (see ``HandoffQueue.estimated_wait``)."""
    if minutes_per_session <= 0:
        raise ValueError("minutes_per_session must be positive")
    serving = [p for p in people if p.available and p.capacity > 0 and p.on_duty(now)]
    if not serving:
        return None
    return dt.timedelta(minutes=math.ceil(place / len(serving)) * minutes_per_session)


class HandoffQueue(abc.ABC):
    """The queue of handoff requests and the people who take them."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._clock = clock

    # ---- interpreters --------------------------------------------------------------
    async def upsert_interpreter(self, interpreter: Interpreter) -> Interpreter:
        """Create or replace an interpreter's record (id, skills, hours, capacity…)."""
        _check_interpreter(interpreter)
        row: dict[str, Any] = {
            "name": interpreter.name,
            "centre": interpreter.centre,
            "region": interpreter.region,
            "skills": list(interpreter.skills),
            "languages": list(interpreter.languages),
            "available": interpreter.available,
            "capacity": interpreter.capacity,
            "work_start": interpreter.work_start,
            "work_end": interpreter.work_end,
            "phone": interpreter.phone,
            "updated_at": self._clock(),
        }
        if not await self._insert_interpreter({"id": interpreter.id, **row}):
            await self._update_interpreter(interpreter.id, row)
        return await self._require_interpreter(interpreter.id)

    async def set_availability(self, interpreter_id: str, available: bool) -> bool:
        """Set whether they take requests now; False for an unknown interpreter.

        Sessions they already hold stay theirs.
        """
        return await self._update_interpreter(
            interpreter_id, {"available": available, "updated_at": self._clock()}
        )

    async def set_phone(self, interpreter_id: str, phone: str | None) -> bool:
        """Set (or clear) the person's own phone, E.164; False for an unknown person."""
        if phone is not None and not _E164.fullmatch(phone):
            raise ValueError("a phone number is '+', the country code and the number")
        return await self._update_interpreter(
            interpreter_id, {"phone": phone, "updated_at": self._clock()}
        )

    async def get_interpreter(self, interpreter_id: str) -> Interpreter | None:
        """The interpreter's record, or None."""
        return await self._get_interpreter(interpreter_id)

    async def interpreters(self, skill: str | None = None) -> list[Interpreter]:
        """Every interpreter (taking ``skill``, when given), by id."""
        people = await self._list_interpreters()
        return [p for p in people if skill is None or p.can_take(skill)]

    # ---- reading the queue ---------------------------------------------------------
    async def get(self, request_id: int) -> QueueEntry | None:
        """The request, or None."""
        return await self._get(request_id)

    async def waiting(
        self, region: str | None = None, skill: str | None = None
    ) -> list[QueueEntry]:
        """Requests still in the queue (waiting or offered), oldest first.

        ``region`` keeps requests of that region and those without one (anyone may take
        them); ``skill`` keeps requests needing that skill.
        """
        return await self._queued(region=region, skill=skill)

    async def position(self, request_id: int) -> int | None:
        """1-based place among queued requests needing the same skill; None if not queued.

        Appointments whose time has not come are not in line: they wait for their time,
        not ahead of citizens waiting now.
        """
        entry = await self._get(request_id)
        if entry is None or entry.state not in QUEUED:
            return None
        now = self._clock()
        queued = await self._queued(region=None, skill=entry.skill)
        ahead = [
            other
            for other in queued
            if other.id == request_id or other.scheduled_for is None or other.scheduled_for <= now
        ]
        for place, other in enumerate(ahead, start=1):
            if other.id == request_id:
                return place
        return None  # it left the queue meanwhile

    async def estimated_wait(
        self, request_id: int, minutes_per_session: int = 15
    ) -> dt.timedelta | None:
        """About how long until a person takes the request; None if it is not queued or
        nobody with its skill is available and on duty now (offer a callback then).

        Each available interpreter is assumed to finish a session every
        ``minutes_per_session``: the citizen at place p waits ceil(p / n) sessions with
        n of them (cautious: place 1 waits one session, never "0 minutes").
        """
        if minutes_per_session <= 0:
            raise ValueError("minutes_per_session must be positive")
        entry = await self._get(request_id)
        place = await self.position(request_id)
        if entry is None or place is None:
            return None
        people = await self.interpreters(entry.skill)
        return wait_for_place(place, people, self._clock(), minutes_per_session)

    async def active_for_conversation(self, conversation_id: str) -> QueueEntry | None:
        """The conversation's newest request still queued or held, or None."""
        return await self._active_for_conversation(conversation_id)

    async def ask_feedback(self, request_id: int) -> bool:
        """Note that the citizen was asked whether the (ended) session helped."""
        return await self._set_feedback(
            request_id, {"feedback_asked_at": self._clock()}, unanswered=False
        )

    async def record_feedback(self, conversation_ids: Sequence[str], helpful: bool) -> int | None:
        """The citizen's answer, for the newest request of these conversations that
        asked and has none yet (one answer a session); its id, or None."""
        asked = [
            e
            for e in await self.ended_for(conversation_ids)
            if e.feedback_asked_at is not None and e.helpful is None
        ]
        for entry in sorted(asked, key=lambda e: e.feedback_asked_at or e.created_at, reverse=True):
            values = {"helpful": helpful, "feedback_at": self._clock()}
            if await self._set_feedback(entry.id, values, unanswered=True):
                return entry.id
        return None

    async def ended_for(self, conversation_ids: Sequence[str]) -> list[QueueEntry]:
        """Ended requests of these conversations, oldest first (a session's history)."""
        if not conversation_ids:
            return []
        return await self._ended_for(list(conversation_ids))

    async def for_interpreter(self, interpreter_id: str) -> list[QueueEntry]:
        """Requests offered to or held by ``interpreter_id`` (all an interpreter may see)."""
        return await self._for_interpreter(interpreter_id)

    # ---- changes -------------------------------------------------------------------
    async def route(
        self, request_id: int, *, region: str | None = None, skill: str | None = None
    ) -> bool:
        """Set where a waiting request goes (a centre's region, a skill); False if it is
        no longer waiting. A request without a skill needs the one its reason implies."""
        values: dict[str, Any] = {}
        if region is not None:
            values["region"] = region
        if skill is not None:
            values["skill"] = skill
        if not values:
            return False
        return await self._transition(request_id, from_states=(QueueState.WAITING,), values=values)

    async def offer(self, request_id: int, interpreter_id: str) -> bool:
        """Offer a waiting request to one interpreter (only they may accept it now).

        Refused (False) unless the request is waiting and the interpreter exists, is
        available and takes the request's skill.
        """
        if not await self._eligible(request_id, interpreter_id):
            return False
        now = self._clock()
        return await self._transition(
            request_id,
            from_states=(QueueState.WAITING,),
            values={
                "status": QueueState.OFFERED.value,
                "offered_to": interpreter_id,
                "offered_at": now,
                "updated_at": now,
            },
        )

    async def decline(self, request_id: int, interpreter_id: str) -> bool:
        """The interpreter an offer went to declines it: back to waiting for anyone."""
        return await self._transition(
            request_id,
            from_states=(QueueState.OFFERED,),
            offered_to=interpreter_id,
            values={
                "status": QueueState.WAITING.value,
                "offered_to": None,
                "updated_at": self._clock(),
            },
        )

    async def accept(self, request_id: int, interpreter_id: str) -> QueueEntry | None:
        """Take the request: the entry as accepted, or None if refused.

        Refused when the request is no longer waiting/offered, was offered to someone
        else, or the interpreter is unknown, unavailable, lacks its skill or already
        holds ``capacity`` sessions. Exactly one of any number of concurrent accepts of
        the same request succeeds (one conditional UPDATE; see ``_accept``).
        """
        if not await self._eligible(request_id, interpreter_id):
            return None
        if not await self._accept(request_id, interpreter_id, self._clock()):
            return None
        return await self._require(request_id)

    async def start_session(self, request_id: int, interpreter_id: str) -> bool:
        """The holder starts talking with the citizen (accepted → in_session)."""
        now = self._clock()
        return await self._transition(
            request_id,
            from_states=(QueueState.ACCEPTED,),
            held_by=interpreter_id,
            values={
                "status": QueueState.IN_SESSION.value,
                "session_started_at": now,
                "updated_at": now,
            },
        )

    async def resolve(self, request_id: int, interpreter_id: str, notes: str | None = None) -> bool:
        """The holder closes the request (accepted or in_session → resolved) with notes."""
        return await self._end_held(request_id, interpreter_id, Outcome.RESOLVED, notes)

    async def hand_back(
        self, request_id: int, interpreter_id: str, notes: str | None = None
    ) -> bool:
        """The holder hands the citizen back to the bot: resolved, outcome "handed_back"."""
        return await self._end_held(request_id, interpreter_id, Outcome.HANDED_BACK, notes)

    async def abandon(self, request_id: int) -> bool:
        """The citizen cancelled or left (queued or held → abandoned).

        A citizen can always leave, a session in progress included: a person who is
        gone must not keep them from the assistant (review M4).
        """
        now = self._clock()
        return await self._transition(
            request_id,
            from_states=(*QUEUED, *HELD),
            values={
                "status": QueueState.ABANDONED.value,
                "outcome": Outcome.CANCELLED.value,
                "ended_at": now,
                "updated_at": now,
            },
        )

    async def transferred(self, request_id: int, notes: str | None = None) -> bool:
        """A caller's call reached the community centre (a phone transfer): a queued
        request is resolved, outcome "transferred", with ``notes`` (what the officer was
        told); False if it was not queued."""
        if notes is not None and len(notes) > _MAX_NOTES:
            notes = notes[:_MAX_NOTES]
        now = self._clock()
        return await self._transition(
            request_id,
            from_states=QUEUED,
            values={
                "status": QueueState.RESOLVED.value,
                "outcome": Outcome.TRANSFERRED.value,
                "notes": mask_rrn(notes) if notes else None,
                "ended_at": now,
                "updated_at": now,
            },
        )

    async def set_notes(self, request_id: int, notes: str) -> bool:
        """Notes for whoever holds the request next (a hand-over), RRNs masked; False if
        it is over."""
        if len(notes) > _MAX_NOTES:
            raise ValueError("notes are at most 4000 characters")
        return await self._update_open(
            request_id, {"notes": mask_rrn(notes), "updated_at": self._clock()}
        )

    async def release(self, request_id: int, interpreter_id: str) -> bool:
        """Put a request held by ``interpreter_id`` back in the queue for someone else
        (their account was disabled); False if they do not hold it. It keeps its place:
        the queue is ordered by when the citizen asked."""
        return await self._transition(
            request_id,
            from_states=HELD,
            held_by=interpreter_id,
            values={
                "status": QueueState.WAITING.value,
                "offered_to": None,
                "accepted_by": None,
                "accepted_at": None,
                "session_started_at": None,
                "updated_at": self._clock(),
            },
        )

    async def touch(self, interpreter_id: str) -> int:
        """The holder shows a sign of life (a message, an open console): every request
        they hold counts as attended now; how many."""
        return await self._touch_held(interpreter_id, self._clock())

    async def held(self) -> list[QueueEntry]:
        """Every request a person holds now (accepted or in session), oldest first."""
        return await self._held()

    async def time_out_held(self, idle_for: dt.timedelta) -> list[int]:
        """End held requests whose holder showed no sign (``touch``, or any change of the
        request) for ``idle_for``: resolved, outcome "timed_out"; the ids, so their
        citizens can be told."""
        if idle_for <= dt.timedelta(0):
            raise ValueError("idle_for must be positive")
        now = self._clock()
        return await self._time_out_held(now - idle_for, now)

    async def set_details(
        self,
        request_id: int,
        *,
        requested_by: str | None = None,
        contact: str | None = None,
        scheduled_for: dt.datetime | None = None,
    ) -> bool:
        """Note who asked (a staff member) or a scheduled call-back/appointment on a
        request that is not over; False if it is over."""
        values: dict[str, Any] = {"updated_at": self._clock()}
        if requested_by is not None:
            values["requested_by"] = requested_by
        if contact is not None:
            values["contact"] = contact
            values["scheduled_for"] = scheduled_for
        return await self._update_open(request_id, values)

    async def set_callback(
        self,
        request_id: int,
        *,
        state: CallbackState | None,
        number: str | None = None,
        consent_at: dt.datetime | None = None,
    ) -> bool:
        """Where getting the citizen's number stands, and the number (E.164) once known,
        on a request that is not over; False if it is over."""
        if number is not None and not _E164.fullmatch(number):
            raise ValueError("a call-back number is '+', the country code and the number")
        values: dict[str, Any] = {
            "callback_state": state.value if state is not None else None,
            "callback_number": number,
            "updated_at": self._clock(),
        }
        if consent_at is not None:
            values["callback_consent_at"] = consent_at
        return await self._update_open(request_id, values)

    async def move(self, request_id: int, conversation_id: str, channel: str) -> bool:
        """An open request follows its citizen into another conversation (a continuation
        link opened a web chat); False if it is over."""
        return await self._update_open(
            request_id,
            {"conversation_id": conversation_id, "channel": channel, "updated_at": self._clock()},
        )

    async def mark_told(
        self, request_id: int, position: int | None, wait_minutes: int | None
    ) -> bool:
        """Remember the place and wait the citizen was last told (to text only changes)."""
        return await self._update_open(
            request_id, {"told_position": position, "told_wait_minutes": wait_minutes}
        )

    async def expire(self, older_than: dt.timedelta) -> list[int]:
        """Expire requests queued (waiting/offered) since before now − ``older_than``;
        the ids expired, so their citizens can be told."""
        if older_than < dt.timedelta(0):
            raise ValueError("older_than cannot be negative")
        now = self._clock()
        return await self._expire(now - older_than, now)

    # ---- admission: limits on requests (review H2) -----------------------------------
    async def set_origin(self, request_id: int, origin_ref: str) -> bool:
        """Note where an open request came from (a keyed hash; see ``HandoffService``)."""
        return await self._update_open(request_id, {"origin_ref": origin_ref})

    async def count_since(
        self,
        since: dt.datetime,
        *,
        conversation_id: str | None = None,
        origin_ref: str | None = None,
    ) -> int:
        """Requests made since ``since`` (any state) by one conversation or one source."""
        if (conversation_id is None) == (origin_ref is None):
            raise ValueError("count by a conversation or by a source")
        return await self._count_since(
            since, conversation_id=conversation_id, origin_ref=origin_ref
        )

    async def dismiss_source(self, origin_ref: str) -> list[int]:
        """End every request still in the queue that came from ``origin_ref`` (abandoned,
        outcome "dismissed": staff cleared a flood); the ids ended."""
        dismissed = []
        for request_id in await self._queued_from(origin_ref):
            now = self._clock()
            if await self._transition(
                request_id,
                from_states=QUEUED,
                values={
                    "status": QueueState.ABANDONED.value,
                    "outcome": Outcome.DISMISSED.value,
                    "ended_at": now,
                    "updated_at": now,
                },
            ):
                dismissed.append(request_id)
        return dismissed

    async def record_refusal(self, reason: str, channel: str, origin_ref: str | None) -> None:
        """Remember a request that was not queued (for staff to see floods)."""
        await self._insert_refusal(
            {"at": self._clock(), "reason": reason, "channel": channel, "origin_ref": origin_ref}
        )

    async def refusals_since(self, since: dt.datetime) -> list[tuple[str, str | None]]:
        """(reason, source) of every refusal since ``since``."""
        return await self._refusals_since(since)

    async def drop_refusals(self, before: dt.datetime) -> int:
        """Retention: forget refusals older than ``before``; how many."""
        return await self._delete_refusals(before)

    async def clear_callback_numbers(self, ended_before: dt.datetime) -> int:
        """Retention: forget the call-back numbers of requests that ended before
        ``ended_before``; how many."""
        return await self._clear_callback_numbers(ended_before=ended_before)

    async def forget_callback_number(self, phone: str) -> int:
        """FORGET: ``phone`` is no longer kept as any request's call-back number (a web
        chat citizen who gave it); how many requests had it."""
        return await self._clear_callback_numbers(number=phone)

    # ---- appointments ----------------------------------------------------------------
    async def scheduled(
        self, start: dt.datetime, end: dt.datetime, *, open_only: bool = True
    ) -> list[QueueEntry]:
        """Requests scheduled (a call-back, text or video appointment) from ``start`` to
        before ``end``, earliest first; with ``open_only`` False, ended ones too (a
        person's day shows what happened)."""
        return await self._scheduled(start, end, open_only)

    async def open_for_number(self, number: str) -> list[QueueEntry]:
        """Requests not over whose citizen gave ``number`` (E.164) to be reached on,
        oldest first: a web citizen answers their appointment's reminder by SMS."""
        return await self._select_open_for_number(number)

    async def book(
        self,
        request_id: int,
        at: dt.datetime,
        person_id: str | None,
        *,
        day_reminder_due: bool,
    ) -> bool:
        """Book a queued request as a video appointment at ``at`` with ``person_id``
        (None: whoever is on duty). Reminders start again; ``day_reminder_due`` False
        marks the day-before one as done (a booking within a day is its own reminder).
        False if the request is not queued."""
        if at.tzinfo is None:
            raise ValueError("an appointment's time must be timezone-aware")
        now = self._clock()
        return await self._transition(
            request_id,
            from_states=QUEUED,
            values={
                "contact": "video",
                "scheduled_for": at,
                "booked_with": person_id,
                "reminded_day_at": None if day_reminder_due else now,
                "reminded_soon_at": None,
                "updated_at": now,
            },
        )

    async def claim_reminder(self, request_id: int, which: str) -> bool:
        """Claim sending a queued appointment's "day" (before) or "soon" (ten minutes
        before) reminder: True for exactly one caller, whichever process asks."""
        if which not in _REMINDER_COLUMNS:
            raise ValueError(f"no such reminder: {which!r}")
        return await self._claim_reminder(request_id, _REMINDER_COLUMNS[which], self._clock())

    async def no_show(self, request_id: int, interpreter_id: str, notes: str | None = None) -> bool:
        """The citizen did not come to the appointment its holder waited for: resolved,
        outcome "no_show"; False unless ``interpreter_id`` holds it."""
        return await self._end_held(request_id, interpreter_id, Outcome.NO_SHOW, notes)

    # ---- helpers -------------------------------------------------------------------
    async def _end_held(
        self, request_id: int, interpreter_id: str, outcome: Outcome, notes: str | None
    ) -> bool:
        if notes is not None and len(notes) > _MAX_NOTES:
            raise ValueError("notes are at most 4000 characters")
        now = self._clock()
        return await self._transition(
            request_id,
            from_states=HELD,
            held_by=interpreter_id,
            values={
                "status": QueueState.RESOLVED.value,
                "outcome": outcome.value,
                "notes": mask_rrn(notes) if notes else None,
                "ended_at": now,
                "updated_at": now,
            },
        )

    async def _eligible(self, request_id: int, interpreter_id: str) -> bool:
        """The interpreter exists, is available and takes the request's skill.

        Read before the conditional UPDATE: these change rarely, and a change racing an
        accept is the same as one made just after it. What must not race (the request's
        state, the interpreter's load) is checked inside the UPDATE.
        """
        person = await self._get_interpreter(interpreter_id)
        entry = await self._get(request_id)
        return (
            person is not None
            and entry is not None
            and person.available
            and person.can_take(entry.skill)
        )

    async def _require(self, request_id: int) -> QueueEntry:
        entry = await self._get(request_id)
        if entry is None:
            raise StoreError("handoff request vanished after it was written")
        return entry

    async def _require_interpreter(self, interpreter_id: str) -> Interpreter:
        person = await self._get_interpreter(interpreter_id)
        if person is None:
            raise StoreError("interpreter vanished after it was written")
        return person

    # ---- health --------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise StoreError unless the store answers and its tables exist."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # ---- primitives ----------------------------------------------------------------
    @abc.abstractmethod
    async def _insert_interpreter(self, row: dict[str, Any]) -> bool:
        """Insert an interpreter; False (nothing changed) if the id exists."""

    @abc.abstractmethod
    async def _update_interpreter(self, interpreter_id: str, values: dict[str, Any]) -> bool:
        """Set ``values`` on the interpreter; False if unknown."""

    @abc.abstractmethod
    async def _get_interpreter(self, interpreter_id: str) -> Interpreter | None: ...

    @abc.abstractmethod
    async def _list_interpreters(self) -> list[Interpreter]: ...

    @abc.abstractmethod
    async def _get(self, request_id: int) -> QueueEntry | None: ...

    @abc.abstractmethod
    async def _queued(self, *, region: str | None, skill: str | None) -> list[QueueEntry]:
        """Waiting/offered requests, oldest first (region: that one or none)."""

    @abc.abstractmethod
    async def _for_interpreter(self, interpreter_id: str) -> list[QueueEntry]: ...

    @abc.abstractmethod
    async def _active_for_conversation(self, conversation_id: str) -> QueueEntry | None: ...

    @abc.abstractmethod
    async def _update_open(self, request_id: int, values: dict[str, Any]) -> bool:
        """Set ``values`` on a request that is queued or held; False otherwise."""

    @abc.abstractmethod
    async def _transition(
        self,
        request_id: int,
        *,
        from_states: Sequence[QueueState],
        values: dict[str, Any],
        held_by: str | None = None,
        offered_to: str | None = None,
    ) -> bool:
        """In one statement: set ``values`` if the request is in one of ``from_states``
        (and held by / offered to the given interpreter, when given). True if it did."""

    @abc.abstractmethod
    async def _accept(self, request_id: int, interpreter_id: str, now: dt.datetime) -> bool:
        """Atomically: accepted by ``interpreter_id`` iff the request is waiting, or
        offered to nobody or to them, and they hold fewer than ``capacity`` sessions."""

    @abc.abstractmethod
    async def _expire(self, before: dt.datetime, now: dt.datetime) -> list[int]:
        """Expire queued requests created before ``before``; their ids."""

    @abc.abstractmethod
    async def _touch_held(self, interpreter_id: str, now: dt.datetime) -> int:
        """Set ``updated_at`` to ``now`` on requests held by ``interpreter_id``; how many."""

    @abc.abstractmethod
    async def _held(self) -> list[QueueEntry]:
        """Accepted or in-session requests, oldest first."""

    @abc.abstractmethod
    async def _time_out_held(self, before: dt.datetime, now: dt.datetime) -> list[int]:
        """In one statement: held requests last updated before ``before`` → resolved,
        outcome "timed_out"; their ids."""

    @abc.abstractmethod
    async def _count_since(
        self, since: dt.datetime, *, conversation_id: str | None, origin_ref: str | None
    ) -> int:
        """Requests created since ``since`` by the conversation or the source given."""

    @abc.abstractmethod
    async def _queued_from(self, origin_ref: str) -> list[int]:
        """Ids of requests still in the queue (waiting, offered) from ``origin_ref``."""

    @abc.abstractmethod
    async def _insert_refusal(self, row: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    async def _refusals_since(self, since: dt.datetime) -> list[tuple[str, str | None]]: ...

    @abc.abstractmethod
    async def _delete_refusals(self, before: dt.datetime) -> int: ...

    @abc.abstractmethod
    async def _ended_for(self, conversation_ids: list[str]) -> list[QueueEntry]: ...

    @abc.abstractmethod
    async def _set_feedback(
        self, request_id: int, values: dict[str, Any], *, unanswered: bool
    ) -> bool:
        """Set feedback ``values`` on a request (only while asked and unanswered, with
        ``unanswered``)."""

    @abc.abstractmethod
    async def _clear_callback_numbers(
        self, *, ended_before: dt.datetime | None = None, number: str | None = None
    ) -> int:
        """Clear the call-back number of requests ended before ``ended_before``, or of
        every request whose number is ``number``."""

    @abc.abstractmethod
    async def _scheduled(
        self, start: dt.datetime, end: dt.datetime, open_only: bool
    ) -> list[QueueEntry]:
        """Requests with ``scheduled_for`` in [start, end), earliest first."""

    @abc.abstractmethod
    async def _select_open_for_number(self, number: str) -> list[QueueEntry]:
        """Requests not over whose ``callback_number`` is ``number``, oldest first."""

    @abc.abstractmethod
    async def _claim_reminder(self, request_id: int, column: str, now: dt.datetime) -> bool:
        """Set ``column`` to ``now`` on a queued request where it is unset; whether it was."""
