"""The handoff service: what happens around the queue when a citizen needs a person.

The queue (``HandoffQueue``) guarantees the states; this service is the policy around
them, in one place for every channel and console:

- a request is queued with the skill its reason needs (KSL or any person) and the
  region of the desk that asked, and the citizen is told their place and an estimated
  wait — or, when nobody can come, offered a call-back (a text for deaf citizens) or a
  video appointment and told about the 107 relay centre; the number for a call-back is
  asked for and confirmed by ``callback_booking``, the calls made by ``callback_calls``;
- every change is announced on the push hub (consoles refetch; web chats get a live
  status), and citizens on SMS are texted only when their place changes materially;
- while a person holds the conversation, the citizen's messages go to that person and
  the bot is silent (``ConversationCore`` asks ``held``); the person's text goes out
  over the citizen's own channel; on hand-back the bot resumes through Rasa's HTTP API.

A person is an account (staff or interpreter); their queue identity is the
``Interpreter`` row of the same id as their username, created on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import structlog

from assistant.handoff.appointments import Appointments, JoinLink, confirmation, slot_time
from assistant.handoff.base import HELD, QUEUED, HandoffQueue, wait_for_place
from assistant.handoff.callback_booking import (
    CALLBACK,
    CANCEL,
    COMMAND_PREFIX,
    COMMANDS,
    HELPFUL,
    KEEP_BOOKING,
    NOT_HELPFUL,
    OTHER_NUMBER,
    REMIND_BY_TEXT,
    RESCHEDULE,
    TEXT,
    THIS_NUMBER,
    VIDEO,
    CallbackBooking,
    contact_choices,
    no_voice_call,
)
from assistant.handoff.phone_numbers import is_phone_number, national, read_number
from assistant.handoff.records import (
    CONTACT_CALLBACK,
    CONTACT_TEXT,
    CONTACT_VIDEO,
    SEOUL,
    SKILL_KSL,
    SKILL_PERSON,
    CallbackState,
    Interpreter,
    QueueEntry,
    QueueState,
    serves_region,
    skill_for_reason,
)
from assistant.handoff.texts import relay_centre, say, when
from assistant.messages import OutgoingMessage
from assistant.metrics import Metrics
from assistant.outbox.service import Texter
from assistant.privacy import mask_rrn
from assistant.push import PushHub
from assistant.store import Button, Conversation, ConversationStore, Turn
from assistant.store.base import utcnow

log = structlog.get_logger(__name__)

HANDOFF_QUEUE_TOPIC = "handoff:queue"
PERSON_AUTHOR_PREFIX = "person:"
# Words that take a citizen out of the queue or out of a session with a person, on
# every channel. None is a carrier keyword (Twilio reserves CANCEL, END, STOP…: a
# citizen told to send one would be unsubscribed from every text instead).
_LEAVE_WORDS = frozenset({"대기취소", "대기 취소", "상담종료", "상담 종료", "leave"})
# While still queued a plain "취소"/"cancel" leaves too; in a session with a person it
# is relayed instead — there it is more likely part of what they are discussing.
_CANCEL_WORDS = _LEAVE_WORDS | {"취소", "요청 취소", "취소할게요", "cancel", "cancel request"}
# The buttons' own titles, written out (spaces dropped before comparing).
_HELPFUL_WORDS = frozenset({"도움이됐어요", "도움됐어요", "yes,ithelped", "ithelped"})
_NOT_HELPFUL_WORDS = frozenset({"도움이안됐어요", "도움안됐어요", "no,itdidnot", "itdidnothelp"})
# An appointment's reply words (spaces dropped): another time, or call it off.
_RESCHEDULE_WORDS = frozenset({"예약변경", "시간변경", "change", "changetime", "changethetime"})
_CALL_OFF_WORDS = frozenset({"예약취소", "calloff", "callitoff"})
# An SMS update only when the place moved this much, or the wait by this many minutes.
_MATERIAL_PLACES = 3
_MATERIAL_MINUTES = 30
_DEFAULT_OPENING = dt.time(9, 0)  # Seoul, when no interpreter has fixed hours


def person_topic(username: str) -> str:
    """The push topic of one person's offered and held requests."""
    return f"handoff:person:{username}"


def person_author(username: str) -> str:
    """How a turn written by ``username`` is marked in the transcript."""
    return f"{PERSON_AUTHOR_PREFIX}{username}"


class Person(Protocol):
    """A signed-in staff member or interpreter (``assistant.accounts.Account``)."""

    @property
    def username(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def centre(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...


class CitizenLine(Protocol):
    """How the service reaches a citizen (``assistant.conversation.ConversationCore``)."""

    async def notify(
        self,
        conversation_id: str,
        text: str,
        author: str | None = None,
        buttons: tuple[Button, ...] = (),
    ) -> Turn: ...

    async def resume(self, conversation_id: str) -> list[OutgoingMessage]: ...


class Roster(Protocol):
    """Who may hold requests (``AccountStore``): a disabled account holds none."""

    async def by_username(self, username: str) -> Any: ...


class Auditor(Protocol):
    """Where actions on a citizen's behalf are recorded (``AccountStore``)."""

    async def record_audit(
        self,
        actor: Any,
        action: str,
        conversation_id: str | None,
        detail: dict[str, Any],
    ) -> object: ...


class HandoffRefused(Exception):
    """A request for a person was not queued: past a limit (``reason``: "too_many" per
    conversation or source, "busy" when the queue is full)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AdmissionLimits:
    """How many requests for a person are taken (review H2): per conversation and per
    source in any hour, and waiting at once per skill and region."""

    per_conversation_hour: int = 4
    per_source_hour: int = 10
    queue_cap: int = 50


@dataclass(frozen=True)
class QueueStatus:
    """What the citizen is told about their request."""

    request_id: int
    state: QueueState
    position: int | None
    wait: dt.timedelta | None  # None: nobody with the skill is available now
    after_hours: bool  # nobody with the skill is on duty now
    skill: str = SKILL_PERSON
    contact: str | None = None
    scheduled_for: dt.datetime | None = None
    no_voice_call: bool = False  # offered a text, never a call (see callback_booking)
    callback_number: str | None = None
    day_reminder_due: bool = True  # an appointment's day-before reminder is to come

    @property
    def wait_minutes(self) -> int | None:
        """The estimate in whole minutes (None: nobody available now)."""
        return None if self.wait is None else int(self.wait.total_seconds() // 60)

    def as_json(self) -> dict[str, Any]:
        """The status as the web chat and the consoles receive it."""
        return {
            "request_id": self.request_id,
            "state": self.state.value,
            "position": self.position,
            "wait_minutes": self.wait_minutes,
            "after_hours": self.after_hours,
            "skill": self.skill,
            "contact": self.contact,
            "scheduled_for": self.scheduled_for.isoformat() if self.scheduled_for else None,
        }


@dataclass(frozen=True)
class Refusals:
    """Requests for a person refused lately (see ``HandoffService.refused_recently``)."""

    total: int
    from_one_source: int  # the most from any one source


@dataclass(frozen=True)
class SessionDetail:
    """What the person offered or holding a request may see."""

    entry: QueueEntry
    conversation: Conversation
    transcript: list[Turn]


def handoff_command(text: str, payload: str | None, *, held: bool = False) -> str | None:
    """The gateway command in a citizen's message (``callback_booking.COMMANDS``), or None.

    ``held``: a person holds the conversation, so only a leave word or the button
    leaves (see ``_CANCEL_WORDS``).
    """
    if payload and payload.startswith(COMMAND_PREFIX):
        command = payload.removeprefix(COMMAND_PREFIX)
        known = command in COMMANDS or slot_time(command) is not None
        return command if known else None
    word = " ".join(text.split()).lower().rstrip(".!")
    compact = word.replace(" ", "")
    if word in (_LEAVE_WORDS if held else _CANCEL_WORDS):
        return CANCEL
    if not held and compact in _CALL_OFF_WORDS:
        return CANCEL
    if not held and compact in _RESCHEDULE_WORDS:
        return RESCHEDULE
    # The answer to "did it help?" in words: a caller gets the question by text and
    # answers in their SMS conversation, where no button of it was offered.
    if compact in _HELPFUL_WORDS:
        return HELPFUL
    if compact in _NOT_HELPFUL_WORDS:
        return NOT_HELPFUL
    return None


class HandoffService:
    """Requests for a person, the citizen's view of them, and the people who take them."""

    def __init__(
        self,
        queue: HandoffQueue,
        store: ConversationStore,
        push: PushHub,
        metrics: Metrics,
        *,
        join_link: JoinLink,
        auditor: Auditor | None = None,
        roster: Roster | None = None,
        minutes_per_session: int = 15,
        expire_after: dt.timedelta = dt.timedelta(hours=2),
        hold_timeout: dt.timedelta = dt.timedelta(minutes=15),
        limits: AdmissionLimits | None = None,
        source_key: bytes | None = None,
        callback_number_days: float = 14.0,
        texter: Texter | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.queue = queue
        self._store = store
        self._push = push
        self._metrics = metrics
        self._join_link = join_link
        self._auditor = auditor
        self._minutes = minutes_per_session
        self._expire_after = expire_after
        self._hold_timeout = hold_timeout
        self._roster = roster
        self._limits = limits or AdmissionLimits()
        # Sources are kept as keyed hashes: an IPv4 address hashed without a key is
        # found again by trying them all.
        self._source_key = source_key or secrets.token_bytes(32)
        self._clock = clock
        self._core: CitizenLine | None = None
        self.booking = CallbackBooking(queue, self._next_opening, clock, callback_number_days)
        self.appointments = Appointments(
            queue,
            tell=lambda entry, text, buttons: self.tell(entry, text, buttons=buttons),
            texter=texter,
            join_link=join_link,
            clock=clock,
            minutes_per_session=minutes_per_session,
            keep_number_days=callback_number_days,
        )

    def attach(self, core: CitizenLine) -> None:
        """The conversation core that delivers messages and asks the dialogue to resume."""
        self._core = core

    @property
    def core(self) -> CitizenLine:
        if self._core is None:
            raise RuntimeError("HandoffService.attach(core) was not called")
        return self._core

    # ---- the citizen's side ------------------------------------------------------------
    async def request(
        self,
        conversation: Conversation,
        *,
        reason: str,
        service: str | None,
        language: str,
        region: str | None = None,
        requested_by: Person | None = None,
        origin: str | None = None,
    ) -> QueueStatus:
        """Queue a request for a person (or return the one already open) and its status.

        ``origin`` is where the citizen wrote from (a web client's address, a phone
        number). A citizen's own request past a limit raises ``HandoffRefused`` (and is
        recorded for staff); a staff member's request for a walk-in is always queued.
        """
        existing = await self.queue.active_for_conversation(conversation.id)
        if existing is not None:
            return await self.status_of(existing)
        source = self._source_ref(origin)
        if requested_by is None:
            await self._admit(conversation, source, reason, region)
        record = await self._store.request_handoff(
            conversation.id,
            reason=reason,
            service=service,
            channel=conversation.channel,
            language=language,
            accessibility=conversation.accessibility,
        )
        await self.queue.route(record.id, region=region, skill=skill_for_reason(reason))
        if source is not None:
            await self.queue.set_origin(record.id, source)
        if requested_by is not None:
            await self.queue.set_details(record.id, requested_by=requested_by.username)
            await self.audit(
                requested_by, "handoff.request", conversation.id, {"request_id": record.id}
            )
        self._metrics.handoff_requests.labels(conversation.channel).inc()
        log.info(
            "handoff.requested",
            conversation_id=conversation.id,
            request_id=record.id,
            reason=reason,
        )
        entry = await self._require(record.id)
        status = await self.status_of(entry)
        await self.queue.mark_told(record.id, status.position, status.wait_minutes)
        self.announce(entry)
        return status

    def refusal_message(self, refused: HandoffRefused, language: str) -> OutgoingMessage:
        """Why no request was queued, and the 107 relay centre, which is always there."""
        key = "refused_busy" if refused.reason == "busy" else "refused_too_many"
        return OutgoingMessage(text="\n".join([say(key, language), relay_centre(language)]))

    async def refused_recently(self, within: dt.timedelta = dt.timedelta(hours=1)) -> Refusals:
        """Requests refused lately, and how many of them came from one source: what
        staff see of a flood (the console's queue)."""
        found = await self.queue.refusals_since(self._clock() - within)
        by_source: dict[str, int] = {}
        for _, source in found:
            if source is not None:
                by_source[source] = by_source.get(source, 0) + 1
        return Refusals(total=len(found), from_one_source=max(by_source.values(), default=0))

    async def active(self, conversation_id: str) -> QueueEntry | None:
        """The conversation's open request (queued or held), or None."""
        return await self.queue.active_for_conversation(conversation_id)

    async def follow(self, source_id: str, conversation: Conversation) -> QueueEntry | None:
        """The citizen went on from ``source_id`` in ``conversation`` (a continuation
        link): their open request, queued or held, moves with them, so the person's
        messages and the status banner reach the page they now read."""
        entry = await self.queue.active_for_conversation(source_id)
        if entry is None or not await self.queue.move(
            entry.id, conversation.id, conversation.channel
        ):
            return None
        moved = await self._require(entry.id)
        self.announce(moved)
        return moved

    async def held(self, conversation_id: str) -> QueueEntry | None:
        """The request through which a person holds the conversation now, or None."""
        entry = await self.active(conversation_id)
        return entry if entry is not None and entry.state in HELD else None

    async def status(self, conversation_id: str) -> QueueStatus | None:
        """The status of the conversation's open request, or None."""
        entry = await self.active(conversation_id)
        return await self.status_of(entry) if entry is not None else None

    async def status_of(self, entry: QueueEntry) -> QueueStatus:
        """Place, estimated wait and whether anyone is on duty, for one request."""
        now = self._clock()
        # Only people who work in the citizen's language can take the request.
        people = [p for p in await self.queue.interpreters(entry.skill) if p.speaks(entry.language)]
        on_duty = any(p.on_duty(now) for p in people)
        position = await self.queue.position(entry.id)
        # From what is read already (estimated_wait would read both again).
        wait = None if position is None else wait_for_place(position, people, now, self._minutes)
        return QueueStatus(
            request_id=entry.id,
            state=entry.state,
            position=position,
            wait=wait,
            after_hours=not on_duty,
            skill=entry.skill,
            contact=entry.contact,
            scheduled_for=entry.scheduled_for,
            no_voice_call=no_voice_call(entry),
            callback_number=entry.callback_number,
            day_reminder_due=entry.reminded_day_at is None,
        )

    def status_message(self, status: QueueStatus, language: str) -> OutgoingMessage:
        """The status as one message: place and wait, or the choices when nobody can come."""
        cancel = Button(say("choose_cancel", language), COMMAND_PREFIX + CANCEL)
        if status.contact and status.scheduled_for:
            if status.contact == CONTACT_VIDEO:
                return confirmation(
                    status.scheduled_for,
                    status.callback_number,
                    False,
                    language,
                    day_reminder=status.day_reminder_due,
                )
            text, buttons = self.booking.scheduled_text(
                status.contact, status.callback_number, status.scheduled_for, language
            )
            return OutgoingMessage(text=text, buttons=buttons)
        if status.wait is None:
            key, buttons = contact_choices(status.no_voice_call, language)
            lines = [say(key, language), relay_centre(language)]
            return OutgoingMessage(text="\n".join(lines), buttons=buttons)
        minutes = status.wait_minutes
        if status.position == 1:
            first = say("queued_first", language, minutes=minutes)
        else:
            first = say("queued", language, position=status.position, minutes=minutes)
        lines = [first, say("while_waiting", language)]
        if status.skill == SKILL_KSL:
            lines.append(relay_centre(language))
        return OutgoingMessage(text="\n".join(lines), buttons=(cancel,))

    async def for_citizen(self, conversation: Conversation) -> QueueEntry | None:
        """The conversation's open request, or else ``booked_for_number``'s."""
        entry = await self.active(conversation.id)
        return entry if entry is not None else await self.booked_for_number(conversation)

    async def booked_for_number(self, conversation: Conversation) -> QueueEntry | None:
        """The queued video appointment whose reminders go to the conversation's number
        (a web citizen answering them by SMS), or None."""
        if not is_phone_number(conversation.address):
            return None
        for booked in await self.queue.open_for_number(conversation.address):
            if booked.video_booked and booked.state in QUEUED:
                return booked
        return None

    async def command(
        self, conversation: Conversation, command: str, language: str
    ) -> OutgoingMessage:
        """Carry out a citizen's choice about their request: cancel, a call-back, a
        text, a video appointment (another time, reminders by text), this number or
        another (only a cancel, which ends the session, while a person holds the
        conversation)."""
        entry = await self.for_citizen(conversation)
        if command in (HELPFUL, NOT_HELPFUL):
            return await self.feedback(conversation, command == HELPFUL, language)
        if entry is None or (entry.state not in QUEUED and command != CANCEL):
            return OutgoingMessage(text=say("nothing_to_cancel", language))
        if command == CANCEL:
            if not await self._cancel_entry(entry):
                return OutgoingMessage(text=say("nothing_to_cancel", language))
            if entry.state in HELD:
                key = "left_session"
            elif entry.video_booked:
                key = "appointment_cancelled"
            else:
                key = "cancelled"
            return OutgoingMessage(text=say(key, language))
        reply = await self._appointment_command(entry, conversation.address, command)
        if reply is not None:
            self.announce(await self._require(entry.id))
            return reply
        if command in (CALLBACK, TEXT):
            contact = CONTACT_TEXT if command == TEXT else CONTACT_CALLBACK
            reply = await self.booking.choose(entry, conversation.address, contact)
            self.announce(await self._require(entry.id))
            return reply
        if command == OTHER_NUMBER:
            reply = await self.booking.ask(entry)
            self.announce(await self._require(entry.id))
            return reply
        if command != THIS_NUMBER:
            return OutgoingMessage(text=say("nothing_to_cancel", language))
        if entry.callback_number is None:
            return await self.booking.ask(entry)
        await self.booking.confirmed(entry, entry.callback_number)
        updated = await self._require(entry.id)
        log.info(
            "handoff.scheduled",
            request_id=entry.id,
            contact=updated.contact,
            at=updated.scheduled_for.isoformat() if updated.scheduled_for else None,
        )
        self.announce(updated)
        return self.status_message(await self.status_of(updated), language)

    async def _appointment_command(
        self, entry: QueueEntry, address: str, command: str
    ) -> OutgoingMessage | None:
        """A video appointment's command (book, another time, a slot, reminders by
        text or not): its answer; None for any other command."""
        at = slot_time(command)
        if command == VIDEO or at is not None:
            if at is None:
                return await self.appointments.book_first(entry, address)
            return await self.appointments.pick(entry, at, address)
        if command not in (RESCHEDULE, REMIND_BY_TEXT, KEEP_BOOKING):
            return None
        if not entry.video_booked:
            return OutgoingMessage(text=say("nothing_to_cancel", entry.language))
        if command == RESCHEDULE:
            return await self.appointments.offer_times(entry)
        if command == REMIND_BY_TEXT:
            return await self.appointments.ask_number(entry)
        return await self.appointments.keep_without_texts(entry)

    async def number_reply(self, entry: QueueEntry, text: str) -> OutgoingMessage | None:
        """A citizen's message while their call-back number is asked for: the answer to
        it (scheduled, or what was wrong), or None for a message with no number in it,
        which goes to the assistant as usual."""
        if entry.state in HELD:
            # After a wrong number: the holder calls the new one; nothing is rescheduled.
            number = read_number(text)
            if number is None:
                return None  # relayed to the person, who sees what was sent
            await self.queue.set_callback(
                entry.id, state=CallbackState.CONFIRMED, number=number, consent_at=self._clock()
            )
            self.announce(await self._require(entry.id))
            return OutgoingMessage(
                text=say("callback_new_number", entry.language, number=national(number))
            )
        if entry.contact == CONTACT_VIDEO:
            return await self.appointments.number_given(entry, text)
        problem = await self.booking.typed(entry, text)
        if problem is not None:
            return problem
        updated = await self._require(entry.id)
        if updated.callback_state is not CallbackState.CONFIRMED:
            return None
        log.info("handoff.scheduled", request_id=entry.id, contact=updated.contact)
        self.announce(updated)
        return self.status_message(await self.status_of(updated), entry.language)

    async def book_callback(
        self, conversation: Conversation, number: str, language: str, origin: str | None
    ) -> QueueStatus:
        """A caller keyed (or confirmed) the number to call back on the phone: queue the
        request if there is none, keep the number, schedule it. HandoffRefused past a
        limit."""
        entry = await self.active(conversation.id)
        if entry is None:
            status = await self.request(
                conversation, reason="callback", service=None, language=language, origin=origin
            )
            entry = await self._require(status.request_id)
        await self.booking.confirmed(entry, number, contact=CONTACT_CALLBACK)
        updated = await self._require(entry.id)
        log.info("handoff.scheduled", request_id=entry.id, contact=CONTACT_CALLBACK)
        self.announce(updated)
        return await self.status_of(updated)

    async def transferred(self, request_id: int, summary: str | None) -> bool:
        """A caller's call reached the community centre: their queued request ends
        ("transferred", the officer's summary as its notes); False if it was not queued."""
        if not await self.queue.transferred(request_id, summary):
            return False
        log.info("handoff.transferred", request_id=request_id)
        self.announce(await self._require(request_id))
        await self.refresh_positions()
        return True

    async def cancel(self, conversation_id: str) -> bool:
        """The citizen leaves: their queued request is cancelled, or the session with a
        person ends (its holder's console is told); False if nothing was open."""
        entry = await self.active(conversation_id)
        return entry is not None and await self._cancel_entry(entry)

    async def _cancel_entry(self, entry: QueueEntry) -> bool:
        if not await self.queue.abandon(entry.id):
            return False
        log.info("handoff.cancelled", request_id=entry.id, held=entry.state in HELD)
        self.announce(entry)
        await self.refresh_positions()
        return True

    def accepted_message(self, name: str, language: str) -> OutgoingMessage:
        """Who joined, and how to leave the session (words and a button)."""
        leave = Button(say("choose_leave", language), COMMAND_PREFIX + CANCEL)
        return OutgoingMessage(text=say("accepted", language, name=name), buttons=(leave,))

    async def relay_from_citizen(self, entry: QueueEntry, turn: Turn) -> None:
        """A citizen's message while a person holds the conversation: tell that person."""
        if entry.accepted_by:
            self._push.publish(
                person_topic(entry.accepted_by),
                {"type": "message", "request_id": entry.id, "turn_id": turn.id},
            )

    # ---- the person's side -------------------------------------------------------------
    async def interpreter_for(self, account: Person) -> Interpreter:
        """The queue identity of a signed-in person (created, unavailable, on first use)."""
        person = await self.queue.get_interpreter(account.username)
        if person is not None:
            return person
        skills = (SKILL_KSL, SKILL_PERSON) if account.role == "interpreter" else (SKILL_PERSON,)
        return await self.queue.upsert_interpreter(
            Interpreter(
                id=account.username,
                name=account.name,
                centre=account.centre,
                region=account.region,
                skills=skills,
            )
        )

    async def set_availability(self, account: Person, available: bool) -> Interpreter:
        """Start or stop taking requests; sessions already held stay theirs."""
        await self.interpreter_for(account)
        await self.queue.set_availability(account.username, available)
        self._push.publish(HANDOFF_QUEUE_TOPIC, {"type": "changed", "request_id": None})
        await self.refresh_positions()  # estimates depend on who is available
        person = await self.queue.get_interpreter(account.username)
        assert person is not None
        return person

    async def set_own_details(
        self,
        account: Person,
        *,
        hours: tuple[int, int] | None,
        skills: tuple[str, ...],
        languages: tuple[str, ...],
        phone: str | None,
    ) -> Interpreter:
        """A person sets their own working hours (Seoul minutes; None: no fixed hours),
        the requests they take, the languages they work in and their own phone
        (audited). ValueError for values the queue refuses."""
        return await self.set_work_details(
            account, account, hours=hours, skills=skills, languages=languages, phone=phone
        )

    async def set_work_details(
        self,
        actor: Person,
        account: Person,
        *,
        hours: tuple[int, int] | None,
        skills: tuple[str, ...],
        languages: tuple[str, ...],
        phone: str | None,
        capacity: int | None = None,
    ) -> Interpreter:
        """Set ``account``'s working hours, requests taken, languages, phone and (an
        admin) how many sessions they hold at once; by themselves ("console.details")
        or by an admin ("admin.details"), audited either way. Their name, centre and
        region follow the account. ValueError for values the queue refuses."""
        person = await self.interpreter_for(account)
        updated = replace(
            person,
            name=account.name,
            centre=account.centre,
            region=account.region,
            work_start=hours[0] if hours else None,
            work_end=hours[1] if hours else None,
            skills=skills,
            languages=languages,
            phone=phone,
            capacity=person.capacity if capacity is None else capacity,
        )
        saved = await self.queue.upsert_interpreter(updated)
        detail: dict[str, Any] = {
            "hours": bool(hours),
            "skills": list(skills),
            "languages": list(languages),
            "phone": phone is not None,
        }
        own = actor.username == account.username
        if not own:
            detail |= {"of": account.username, "capacity": saved.capacity}
        await self.audit(actor, "console.details" if own else "admin.details", None, detail)
        self._push.publish(HANDOFF_QUEUE_TOPIC, {"type": "changed", "request_id": None})
        await self.refresh_positions()  # who is on duty changes the estimates
        return saved

    async def account_changed(self, account: Person, *, active: bool) -> None:
        """An admin changed ``account``: its queue identity follows its name, centre and
        region (requests are routed by region), and a disabled one takes nothing more
        (the sessions it holds go back in line with the next upkeep)."""
        person = await self.queue.get_interpreter(account.username)
        if person is None:
            return
        moved = replace(
            person,
            name=account.name,
            centre=account.centre,
            region=account.region,
            available=person.available and active,
        )
        await self.queue.upsert_interpreter(moved)
        self._push.publish(HANDOFF_QUEUE_TOPIC, {"type": "changed", "request_id": None})
        await self.refresh_positions()

    async def queue_for(self, account: Person) -> list[QueueEntry]:
        """Waiting requests this person may take (their skills and languages; their
        region or none)."""
        person = await self.interpreter_for(account)
        found: dict[int, QueueEntry] = {}
        for skill in person.skills:
            for entry in await self.queue.waiting(region=person.region, skill=skill):
                if not person.speaks(entry.language):
                    continue  # routed by the citizen's language as well
                if entry.state is QueueState.WAITING or entry.offered_to == person.id:
                    found[entry.id] = entry
        return sorted(found.values(), key=lambda e: (e.created_at, e.id))

    async def sessions_for(self, account: Person) -> list[QueueEntry]:
        """Requests offered to or held by this person."""
        return await self.queue.for_interpreter(account.username)

    async def detail(self, account: Person, request_id: int) -> SessionDetail | None:
        """Context and transcript of a request offered to or held by ``account``; else None."""
        entry = await self.queue.get(request_id)
        if entry is None or not _visible_to(entry, account.username):
            return None
        conversation = await self._store.get_conversation(entry.conversation_id)
        if conversation is None:
            return None
        turns = await self._store.transcript(entry.conversation_id)
        # The store masks on the way in; masking again costs nothing and survives old rows.
        masked = [_masked(turn) for turn in turns]
        return SessionDetail(entry=entry, conversation=conversation, transcript=masked)

    async def holds(self, account: Person, request_id: int) -> bool:
        """Whether ``account`` holds the request now (accepted or in session)."""
        entry = await self.queue.get(request_id)
        return entry is not None and entry.state in HELD and entry.accepted_by == account.username

    async def accept(self, account: Person, request_id: int) -> QueueEntry | None:
        """Take a request; None if it is taken, not theirs to take, or they are full."""
        person = await self.interpreter_for(account)
        waiting = await self.queue.get(request_id)
        if (
            waiting is None
            or not serves_region(waiting, person)
            or not person.speaks(waiting.language)
        ):
            return None  # another centre's (or language's) request, even if its id was guessed
        entry = await self.queue.accept(request_id, account.username)
        if entry is None:
            return None
        log.info("handoff.accepted", request_id=request_id, by=account.username)
        # The wait a citizen had: from asking, or from their appointment's time.
        since = max(entry.created_at, entry.scheduled_for or entry.created_at)
        waited = ((entry.accepted_at or self._clock()) - since).total_seconds()
        self._metrics.handoff_wait_seconds.labels(entry.skill).observe(max(0.0, waited))
        await self.audit(account, "handoff.accept", entry.conversation_id, {"request_id": entry.id})
        joined = self.accepted_message(account.name, entry.language)
        await self.tell(entry, joined.text, buttons=joined.buttons)
        self.announce(entry)
        await self.refresh_positions()
        return entry

    async def decline(self, account: Person, request_id: int) -> bool:
        """Give an offered request back to the queue."""
        declined = await self.queue.decline(request_id, account.username)
        if declined:
            entry = await self._require(request_id)
            self.announce(entry)
        return declined

    async def dismiss_same_source(self, account: Person, request_id: int) -> list[int] | None:
        """End every queued request from the source of ``request_id`` (a flood: review
        H2); the ids ended, or None if the request has no recorded source.

        Audited. Web pages see their request end; SMS and phone sources are not texted,
        since texting a flood's numbers is what a pumping attack wants.
        """
        entry = await self._require(request_id)
        if entry.origin_ref is None:
            return None
        dismissed = await self.queue.dismiss_source(entry.origin_ref)
        for dismissed_id in dismissed:
            ended = await self.queue.get(dismissed_id)
            if ended is not None:
                self.announce(ended)
        await self.audit(
            account,
            "handoff.dismiss_source",
            entry.conversation_id,
            {"request_id": request_id, "dismissed": len(dismissed)},
        )
        log.warning("handoff.source_dismissed", by=account.username, count=len(dismissed))
        if dismissed:
            await self.refresh_positions()
        return dismissed

    async def colleagues_for(self, account: Person, request_id: int) -> list[Interpreter]:
        """Who could take over a request ``account`` holds: available, on duty, with its
        skill, region and language, and room for one more; [] if they do not hold it."""
        entry = await self.queue.get(request_id)
        if entry is None or entry.accepted_by != account.username or entry.state not in HELD:
            return []
        now = self._clock()
        held = Counter(e.accepted_by for e in await self.queue.held())
        return [
            p
            for p in await self.queue.interpreters(entry.skill)
            if p.id != account.username
            and p.available
            and p.on_duty(now)
            and serves_region(entry, p)
            and p.speaks(entry.language)
            and held[p.id] < p.capacity
        ]

    async def pass_on(self, account: Person, request_id: int, to: str, note: str | None) -> bool:
        """Hand a held session to a colleague: it is offered to them (they accept or
        decline; declined, it waits for anyone in its place), with ``note`` for them as
        the request's notes. False if ``account`` does not hold it or ``to`` could not
        take it. The citizen is told someone else will help; audited."""
        if to not in {p.id for p in await self.colleagues_for(account, request_id)}:
            return False
        entry = await self._require(request_id)
        if note is not None and note.strip():
            await self.queue.set_notes(request_id, note.strip())
        if not await self.queue.release(request_id, account.username):
            return False
        offered = await self.queue.offer(request_id, to)
        log.info("handoff.passed_on", request_id=request_id, by=account.username, offered=offered)
        await self.audit(
            account,
            "handoff.pass_on",
            entry.conversation_id,
            {"request_id": request_id, "to": to, "note": bool(note and note.strip())},
        )
        await self.tell(entry, say("passed_on", entry.language))
        self.announce(await self._require(request_id))
        self._push.publish(person_topic(to), {"type": "changed", "request_id": request_id})
        return True

    async def send_to_citizen(self, account: Person, request_id: int, text: str) -> Turn | None:
        """The holder's message, stored and sent over the citizen's channel; None if they
        do not hold the request."""
        entry = await self.holding(account, request_id)
        if entry is None:
            return None
        turn = await self.tell(
            entry, mask_rrn(text.strip()), author=person_author(account.username)
        )
        await self.audit(
            account,
            "handoff.message",
            entry.conversation_id,
            {"request_id": request_id, "length": len(text)},
        )
        self._push.publish(
            person_topic(account.username), {"type": "message", "request_id": request_id}
        )
        return turn

    async def start_video(self, account: Person, request_id: int) -> str | None:
        """Send the citizen a link that joins the holder's video call; the link, or None."""
        entry = await self.holding(account, request_id)
        if entry is None:
            return None
        link = self._join_link(request_id)  # valid for the default time from now
        await self.tell(entry, say("video_link", entry.language, link=link))
        await self.audit(
            account, "handoff.video", entry.conversation_id, {"request_id": request_id}
        )
        return link

    async def close(
        self,
        account: Person,
        request_id: int,
        notes: str | None,
        hand_back: bool,
        closing_words: str | None = None,
    ) -> bool:
        """End a held session with notes; on ``hand_back`` the bot speaks up again.
        The citizen is told it ended — with ``closing_words``, the person's written
        outcome for them (what was done, what to do next), when given — and asked
        once whether it helped (two buttons; 1 or 2 on SMS)."""
        entry = await self.queue.get(request_id)
        if entry is None or entry.accepted_by != account.username:
            return False
        if hand_back:
            ended = await self.queue.hand_back(request_id, account.username, notes)
        else:
            ended = await self.queue.resolve(request_id, account.username, notes)
        if not ended:
            return False
        log.info("handoff.closed", request_id=request_id, by=account.username, hand_back=hand_back)
        await self.audit(
            account,
            "handoff.hand_back" if hand_back else "handoff.resolve",
            entry.conversation_id,
            {"request_id": request_id, "notes": bool(notes)},
        )
        language = entry.language
        lines = [say("ended", language)]
        if closing_words:
            lines.append(say("closing_words", language, text=mask_rrn(closing_words)))
        await self.tell(entry, "\n".join(lines))
        asked = (
            Button(say("choose_helpful", language), COMMAND_PREFIX + HELPFUL),
            Button(say("choose_not_helpful", language), COMMAND_PREFIX + NOT_HELPFUL),
        )
        await self.tell(entry, say("ask_helpful", language), buttons=asked)
        await self.queue.ask_feedback(request_id)
        self.announce(entry)
        if hand_back:
            await self.core.resume(entry.conversation_id)
        return True

    async def no_show(self, account: Person, request_id: int, notes: str | None) -> bool:
        """The citizen did not come to the video appointment ``account`` held for them:
        the request ends ("no_show"), the citizen is told they may ask again; audited.
        False unless they hold a video appointment whose time has come."""
        entry = await self.queue.get(request_id)
        if (
            entry is None
            or entry.accepted_by != account.username
            or entry.contact != CONTACT_VIDEO
            or entry.scheduled_for is None
            or entry.scheduled_for > self._clock()
        ):
            return False
        if not await self.queue.no_show(request_id, account.username, notes):
            return False
        log.info("appointment.no_show", request_id=request_id, by=account.username)
        await self.audit(
            account, "handoff.no_show", entry.conversation_id, {"request_id": request_id}
        )
        missed = say(
            "appointment_missed", entry.language, when=when(entry.scheduled_for, entry.language)
        )
        with contextlib.suppress(Exception):  # recorded either way
            await self.tell(entry, missed)
        self.announce(entry)
        return True

    async def day_for(self, account: Person, day: dt.date) -> list[QueueEntry]:
        """``account``'s appointments on ``day`` (Seoul), what became of them too."""
        return await self.appointments.day_of(await self.interpreter_for(account), day)

    async def feedback(
        self, conversation: Conversation, helpful: bool, language: str
    ) -> OutgoingMessage:
        """The citizen's answer to "did it help?": kept on the newest session that asked
        (of their number's conversations, since a caller answers by SMS), once."""
        ids = [conversation.id]
        if is_phone_number(conversation.address):
            ids = await self._store.conversations_of_address(conversation.address)
        answered = await self.queue.record_feedback(ids, helpful)
        log.info("handoff.feedback", request_id=answered, helpful=helpful)
        if answered is None:
            return OutgoingMessage(text=say("feedback_none", language))
        return OutgoingMessage(text=say("feedback_thanks", language))

    # ---- upkeep ----------------------------------------------------------------------
    async def refresh_positions(self) -> None:
        """Tell queued citizens where they are now: live in a web chat, by SMS when their
        place or wait changed materially (see ``_material``)."""
        waiting = await self.queue.waiting()
        self._metrics.handoff_waiting.set(len(waiting))
        for entry in waiting:
            try:
                status = await self.status_of(entry)
                self._push.publish(
                    entry.conversation_id, {"type": "handoff", "status": status.as_json()}
                )
                if entry.channel in ("sms", "voice") and _material(entry, status):
                    message = self.status_message(status, entry.language)
                    await self.tell(entry, message.as_plain_text())
                    await self.queue.mark_told(entry.id, status.position, status.wait_minutes)
            except Exception as exc:  # one citizen's failure must not stop the others
                log.warning("handoff.refresh_failed", request_id=entry.id, error=repr(exc))

    async def expire_stale(self) -> list[int]:
        """Expire requests nobody took in time and tell their citizens; their ids."""
        expired = await self.queue.expire(self._expire_after)
        for request_id in expired:
            entry = await self.queue.get(request_id)
            if entry is None:
                continue
            text = "\n".join([say("expired", entry.language), relay_centre(entry.language)])
            with contextlib.suppress(Exception):
                await self.tell(entry, text)
            self.announce(entry)
        return expired

    async def present(self, account: Person) -> int:
        """The person is at their console (its socket's ping): the sessions they hold are
        attended; how many."""
        return await self.queue.touch(account.username)

    async def release_absent(self) -> list[int]:
        """Free citizens whose person is gone; the request ids freed.

        - A session whose holder showed no sign (a message, an open console) for the
          hold timeout ends, and the citizen is told the assistant answers again.
        - A request held by a disabled or deleted account goes back in line in its
          place (disabling happens in another process, the CLI: checked here).
        """
        freed: list[int] = []
        for request_id in await self.queue.time_out_held(self._hold_timeout):
            entry = await self.queue.get(request_id)
            if entry is None:
                continue
            log.warning("handoff.timed_out", request_id=request_id, by=entry.accepted_by)
            with contextlib.suppress(Exception):  # told or not, the citizen is free
                await self.tell(entry, say("timed_out", entry.language))
            self.announce(entry)
            freed.append(request_id)
        if self._roster is None:
            return freed
        for entry in await self.queue.held():
            holder = entry.accepted_by
            account = await self._roster.by_username(holder) if holder else None
            if holder is None or (account is not None and account.active):
                continue
            if not await self.queue.release(entry.id, holder):
                continue
            # Nor do they count in anyone's estimated wait any more.
            await self.queue.set_availability(holder, False)
            log.warning("handoff.released", request_id=entry.id, by=holder)
            requeued = await self._require(entry.id)
            status = self.status_message(await self.status_of(requeued), entry.language)
            with contextlib.suppress(Exception):
                await self.tell(
                    requeued,
                    "\n".join([say("holder_left", entry.language), status.text]),
                    buttons=status.buttons,
                )
            self.announce(entry)
            freed.append(entry.id)
        return freed

    async def run_upkeep(self, interval_seconds: float = 30.0) -> None:
        """Background loop: expire stale requests, free citizens whose person is gone,
        remind citizens of their appointments, and refresh estimates."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.expire_stale()
                await self.release_absent()
                await self.appointments.send_reminders()
                await self.refresh_positions()
            except Exception as exc:  # keep the loop alive whatever one round hits
                log.warning("handoff.upkeep_failed", error=f"{exc.__class__.__name__}: {exc}")

    # ---- helpers ---------------------------------------------------------------------
    def _source_ref(self, origin: str | None) -> str | None:
        if not origin:
            return None
        return hmac.new(self._source_key, origin.encode(), hashlib.sha256).hexdigest()[:32]

    async def _admit(
        self, conversation: Conversation, source: str | None, reason: str, region: str | None
    ) -> None:
        """Raise ``HandoffRefused`` when a limit is reached (and record it)."""
        hour_ago = self._clock() - dt.timedelta(hours=1)
        limits = self._limits
        refusal: str | None = None
        if await self.queue.count_since(hour_ago, conversation_id=conversation.id) >= (
            limits.per_conversation_hour
        ):
            refusal = "too_many"
        elif source is not None and await self.queue.count_since(hour_ago, origin_ref=source) >= (
            limits.per_source_hour
        ):
            refusal = "too_many"
        else:
            queued = await self.queue.waiting(region=region, skill=skill_for_reason(reason))
            if len(queued) >= limits.queue_cap:
                refusal = "busy"
        if refusal is None:
            return
        await self.queue.record_refusal(refusal, conversation.channel, source)
        self._metrics.handoff_refused.labels(refusal).inc()
        log.warning(
            "abuse.handoff_refused", reason=refusal, source=source, channel=conversation.channel
        )
        # Consoles are not told at once: a flood would make every console refetch at its
        # rate. They see the count with their next queue fetch.
        raise HandoffRefused(refusal)

    async def holding(self, account: Person, request_id: int) -> QueueEntry | None:
        """The request if ``account`` holds it, moved into session on first contact."""
        entry = await self.queue.get(request_id)
        if entry is None or entry.accepted_by != account.username or entry.state not in HELD:
            return None
        await self.queue.touch(account.username)
        if entry.state is QueueState.ACCEPTED:
            await self.queue.start_session(request_id, account.username)
            entry = await self._require(request_id)
            self.announce(entry)
        return entry

    async def tell(
        self,
        entry: QueueEntry,
        text: str,
        author: str | None = None,
        buttons: tuple[Button, ...] = (),
    ) -> Turn:
        """Store a message to the citizen of ``entry`` and send it over their channel."""
        return await self.core.notify(entry.conversation_id, text, author=author, buttons=buttons)

    def announce(self, entry: QueueEntry) -> None:
        """Tell consoles (and the people concerned) that a request changed."""
        event = {"type": "changed", "request_id": entry.id}
        self._push.publish(HANDOFF_QUEUE_TOPIC, event)
        # The citizen's web chat refetches its status banner.
        self._push.publish(entry.conversation_id, {"type": "handoff_changed"})
        for username in {entry.offered_to, entry.accepted_by} - {None}:
            self._push.publish(person_topic(str(username)), event)

    async def audit(
        self, actor: Person, action: str, conversation_id: str | None, detail: dict[str, Any]
    ) -> None:
        """Record what ``actor`` did with the conversation (ids and facts, no content)."""
        if self._auditor is not None:
            await self._auditor.record_audit(actor, action, conversation_id, detail)

    async def _require(self, request_id: int) -> QueueEntry:
        entry = await self.queue.get(request_id)
        if entry is None:
            raise LookupError(f"handoff request {request_id} vanished")
        return entry

    async def _next_opening(self, skill: str) -> dt.datetime:
        """When someone with ``skill`` is next on duty (Seoul time), for an appointment."""
        now = self._clock()
        starts = [
            _next_start(p, now) for p in await self.queue.interpreters(skill) if p.capacity > 0
        ]
        if starts:
            return min(starts)
        local = now.astimezone(SEOUL)
        day = local.date() + dt.timedelta(days=1)
        while day.weekday() >= 5:  # a working day
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, _DEFAULT_OPENING, SEOUL).astimezone(dt.UTC)


def _visible_to(entry: QueueEntry, username: str) -> bool:
    if entry.state is QueueState.OFFERED:
        return entry.offered_to == username
    return entry.state in HELD and entry.accepted_by == username


def _masked(turn: Turn) -> Turn:
    return replace(turn, text=mask_rrn(turn.text))


def _material(entry: QueueEntry, status: QueueStatus) -> bool:
    """Whether an SMS citizen should be texted about their new place or wait."""
    if (status.wait is None) != (entry.told_wait_minutes is None):
        return True
    if status.position is None or entry.told_position is None:
        return False
    if status.position >= entry.told_position:
        return False  # only good news is worth a text; worse waits show on request
    if status.position == 1:
        return True
    if entry.told_position - status.position >= _MATERIAL_PLACES:
        return True
    told = entry.told_wait_minutes or 0
    return abs(told - (status.wait_minutes or 0)) >= _MATERIAL_MINUTES


def _next_start(person: Interpreter, now: dt.datetime) -> dt.datetime:
    """The next moment ``person`` is on duty (``now`` if they are, or have no hours)."""
    if person.work_start is None or person.on_duty(now):
        return now
    local = now.astimezone(SEOUL)
    start = dt.datetime.combine(local.date(), dt.time(0, 0), SEOUL) + dt.timedelta(
        minutes=person.work_start
    )
    if start <= local:
        start += dt.timedelta(days=1)
    return start.astimezone(dt.UTC)
