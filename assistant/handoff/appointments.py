"""Video appointments, from the booking to the day they happen.

When nobody can join now, a citizen may book a video call with a person:

- **A slot.** Slots are ``minutes_per_session`` long, on the hour's grid, within the
  working hours of someone who takes the request's skill, speaks the citizen's
  language and serves its region (people without fixed hours: weekdays 09:00-18:00,
  Seoul). Each person takes one appointment a slot; the booking names them
  (``booked_with``), the one with the fewest bookings in the fortnight ahead.
- **Confirmed on the citizen's channel.** The answer to their choice says when; a
  caller (voice) gets it by text on the number they call from, a web citizen may give
  a mobile number (with consent: what it is for and how long it is kept) to get it and
  the reminders by text as well.
- **Reminders** the day before and ten minutes before, each with the signed link that
  joins the call (valid until three hours after the slot). Each is claimed in the
  queue before it is sent, so two gateways never send one twice.
- **Reply words** (no carrier keyword: CANCEL, STOP… would unsubscribe the citizen
  from every text): "예약변경"/"CHANGE" offers the next free times as choices;
  "예약취소"/"CALL OFF" calls it off. A web citizen's texts reach their booking through
  the number they gave.
- **No-shows**: the person who waited marks it; the citizen is told and may ask again.
- **Each person's day**: the appointments booked with them (or with nobody, which they
  could take), with what became of them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from assistant.handoff.base import QUEUED, HandoffQueue
from assistant.handoff.callback_booking import (
    CANCEL,
    COMMAND_PREFIX,
    KEEP_BOOKING,
    REMIND_BY_TEXT,
    RESCHEDULE,
    SLOT_PREFIX,
    button,
)
from assistant.handoff.phone_numbers import can_text, is_phone_number, national, read_number
from assistant.handoff.records import (
    CONTACT_VIDEO,
    SEOUL,
    CallbackState,
    Interpreter,
    QueueEntry,
    serves_region,
)
from assistant.handoff.texts import say, when
from assistant.messages import OutgoingMessage
from assistant.outbox.service import Texter
from assistant.store import Button

log = structlog.get_logger(__name__)

LEAD = dt.timedelta(minutes=30)  # the earliest slot is this far ahead
HORIZON = dt.timedelta(days=14)  # slots are looked for this far ahead
DAY_BEFORE = dt.timedelta(hours=24)
SOON_BEFORE = dt.timedelta(minutes=10)
# A reminder missed while the gateway was down still goes out this late (the link
# still works); later it would only confuse.
LATE_REMINDER = dt.timedelta(minutes=15)
LINK_VALID_AFTER = dt.timedelta(hours=3)  # the join link works until this after the slot
TIMES_OFFERED = 3
# Hours of people who set none, for appointments only (they take the queue any time).
_DEFAULT_HOURS = (9 * 60, 18 * 60)


class JoinLink(Protocol):
    """Makes the citizen's signed join link of a request (``assistant.video.tokens``)."""

    def __call__(self, request_id: int, until: dt.datetime | None = None) -> str: ...


Tell = Callable[[QueueEntry, str, tuple[Button, ...]], Awaitable[object]]


@dataclass(frozen=True)
class Slot:
    """A free time and the person it would be booked with (None: nobody has set hours
    yet; whoever is on duty takes it)."""

    at: dt.datetime
    person: str | None


@dataclass(frozen=True)
class _Calendar:
    """Slots within reach (``start`` to ``end``), who could take them, what is booked."""

    start: dt.datetime
    end: dt.datetime
    people: Sequence[Interpreter]
    taken: Counter[tuple[dt.datetime | None, str | None]]  # (time, person) booked
    load: Counter[str | None]  # bookings per person


def slot_command(at: dt.datetime) -> str:
    """The command (after ``COMMAND_PREFIX``) that picks the slot at ``at``."""
    return f"{SLOT_PREFIX}{int(at.timestamp())}"


def slot_time(command: str) -> dt.datetime | None:
    """The time a slot command picks, or None if it is not one."""
    digits = command.removeprefix(SLOT_PREFIX)
    if command == digits or not digits.isdigit() or len(digits) > 12:
        return None
    return dt.datetime.fromtimestamp(int(digits), dt.UTC)


def confirmation(
    at: dt.datetime,
    number: str | None,
    offer_texts: bool,
    language: str,
    *,
    day_reminder: bool = True,
) -> OutgoingMessage:
    """What a booked appointment says: when, how reminders come (``day_reminder``
    False: booked within a day, so only the one ten minutes before), the reply words;
    the buttons change or call it off (``offer_texts``: and ask to be texted, on the
    web)."""
    key = "appointment_booked" if day_reminder else "appointment_booked_soon"
    lines = [say(key, language, when=when(at, language))]
    buttons = [_button("choose_change_time", language, RESCHEDULE)]
    if number:
        lines.append(say("appointment_texts_to", language, number=national(number)))
    elif offer_texts:
        buttons.append(_button("choose_remind_by_text", language, REMIND_BY_TEXT))
    lines.append(say("appointment_words", language))
    buttons.append(_button("choose_call_off", language, CANCEL))
    return OutgoingMessage(text="\n".join(lines), buttons=tuple(buttons))


def confirmation_of(entry: QueueEntry) -> OutgoingMessage:
    """``confirmation`` of a booked request (a web citizen is offered texts)."""
    assert entry.scheduled_for is not None
    web = entry.channel not in ("sms", "voice")
    return confirmation(
        entry.scheduled_for,
        entry.callback_number,
        web,
        entry.language,
        day_reminder=entry.reminded_day_at is None,
    )


def works_at(person: Interpreter | None, at: dt.datetime, length: dt.timedelta) -> bool:
    """Whether ``person`` works the whole slot from ``at`` (None, or a person without
    fixed hours: weekdays in the default hours)."""
    if person is not None and person.work_start is not None:
        last = at + length - dt.timedelta(minutes=1)
        return person.on_duty(at) and person.on_duty(last)
    local = at.astimezone(SEOUL)
    minute = local.hour * 60 + local.minute
    start, end = _DEFAULT_HOURS
    length_minutes = int(length.total_seconds() // 60)
    return local.weekday() < 5 and start <= minute and minute + length_minutes <= end


def _grid(at: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """``at`` rounded up to the slot grid (whole steps since the epoch, UTC: Seoul is a
    whole number of hours ahead, so the grid falls on its hours too)."""
    seconds = int(step.total_seconds())
    stamp = int(at.timestamp())
    return dt.datetime.fromtimestamp(-(-stamp // seconds) * seconds, dt.UTC)


class Appointments:
    """Books, confirms, reminds, moves and calls off video appointments."""

    def __init__(
        self,
        queue: HandoffQueue,
        *,
        tell: Tell,
        texter: Texter | None,
        join_link: JoinLink,
        clock: Callable[[], dt.datetime],
        minutes_per_session: int,
        keep_number_days: float,
    ) -> None:
        self._queue = queue
        self._tell = tell
        self._texter = texter
        self._join_link = join_link
        self._clock = clock
        self._step = dt.timedelta(minutes=minutes_per_session)
        self._keep_days = keep_number_days

    # ---- slots -------------------------------------------------------------------------
    async def free_slots(
        self, entry: QueueEntry, count: int, *, one_a_day: bool = False
    ) -> list[Slot]:
        """The first ``count`` free slots for ``entry`` (its own booking is not free:
        it is theirs already); with ``one_a_day``, the first of each day (Seoul)."""
        calendar = await self._calendar(entry)
        found: list[Slot] = []
        days: set[dt.date] = set()
        at = calendar.start
        while at < calendar.end and len(found) < count:
            day = at.astimezone(SEOUL).date()
            slot = None if one_a_day and day in days else self._free_at(at, calendar)
            if slot is not None and slot.at != entry.scheduled_for:
                found.append(slot)
                days.add(day)
            at += self._step
        return found

    async def slot_at(self, entry: QueueEntry, at: dt.datetime) -> Slot | None:
        """The slot at ``at`` if it is on the grid, within reach and free, else None."""
        calendar = await self._calendar(entry)
        if not calendar.start <= at < calendar.end or _grid(at, self._step) != at:
            return None
        return self._free_at(at, calendar)

    async def _calendar(self, entry: QueueEntry) -> _Calendar:
        """Who could take ``entry`` and what is booked already, from now to the horizon."""
        now = self._clock()
        start = _grid(now + LEAD, self._step)
        end = start + HORIZON
        people = [
            p
            for p in await self._queue.interpreters(entry.skill)
            if p.capacity > 0 and p.speaks(entry.language) and serves_region(entry, p)
        ]
        booked = [
            other
            for other in await self._queue.scheduled(now - self._step, end)
            if other.contact == CONTACT_VIDEO and other.id != entry.id
        ]
        return _Calendar(
            start=start,
            end=end,
            people=people,
            taken=Counter((other.scheduled_for, other.booked_with) for other in booked),
            load=Counter(other.booked_with for other in booked),
        )

    def _free_at(self, at: dt.datetime, calendar: _Calendar) -> Slot | None:
        taken = calendar.taken
        if not calendar.people:  # nobody set up yet: one appointment a slot, default hours
            opening = works_at(None, at, self._step) and taken[(at, None)] == 0
            return Slot(at, None) if opening else None
        working = [p for p in calendar.people if works_at(p, at, self._step)]
        free = [p for p in working if taken[(at, p.id)] == 0]
        # Bookings made with nobody (before anyone had hours) use up someone's slot.
        if len(free) <= taken[(at, None)]:
            return None
        person = min(free, key=lambda p: (calendar.load[p.id], p.id))
        return Slot(at, person.id)

    # ---- booking -----------------------------------------------------------------------
    async def book_first(self, entry: QueueEntry, address: str) -> OutgoingMessage:
        """The citizen chose a video appointment: book the first free slot and confirm."""
        slots = await self.free_slots(entry, 1)
        if not slots:
            return OutgoingMessage(text=say("appointment_none_free", entry.language))
        return await self._book(entry, slots[0], address)

    async def offer_times(self, entry: QueueEntry) -> OutgoingMessage:
        """The citizen wants another time: the first free time of each of the next days
        (three), as choices."""
        language = entry.language
        slots = await self.free_slots(entry, TIMES_OFFERED, one_a_day=True)
        current = when(entry.scheduled_for, language) if entry.scheduled_for else None
        if not slots:
            key = "appointment_no_other_time" if current else "appointment_none_free"
            return OutgoingMessage(text=say(key, language, when=current))
        times = [
            Button(when(slot.at, language), COMMAND_PREFIX + slot_command(slot.at))
            for slot in slots
        ]
        buttons = (*times, _button("choose_call_off", language, CANCEL))
        return OutgoingMessage(text=say("appointment_choose_time", language), buttons=buttons)

    async def pick(self, entry: QueueEntry, at: dt.datetime, address: str) -> OutgoingMessage:
        """The citizen picked the slot at ``at``: book it if it is still free, else
        offer the free times again."""
        slot = await self.slot_at(entry, at)
        if slot is not None:
            return await self._book(entry, slot, address)
        reply = await self.offer_times(entry)
        text = "\n".join([say("appointment_time_taken", entry.language), reply.text])
        return OutgoingMessage(text=text, buttons=reply.buttons)

    async def _book(self, entry: QueueEntry, slot: Slot, address: str) -> OutgoingMessage:
        now = self._clock()
        day_due = slot.at - now > DAY_BEFORE  # else this confirmation is the day's reminder
        if not await self._queue.book(entry.id, slot.at, slot.person, day_reminder_due=day_due):
            return OutgoingMessage(text=say("nothing_to_cancel", entry.language))
        if entry.channel in ("sms", "voice") and is_phone_number(address) and can_text(address):
            # The caller ID is where reminders go (and how their texts find the booking).
            await self._queue.set_callback(
                entry.id, state=CallbackState.CONFIRMED, number=address, consent_at=now
            )
        log.info(
            "appointment.booked", request_id=entry.id, at=slot.at.isoformat(), person=slot.person
        )
        booked = await self._queue.get(entry.id)
        assert booked is not None
        message = confirmation_of(booked)
        if booked.channel != "sms":
            # A caller cannot keep the spoken answer; a web citizen may have given a number.
            await self._text(booked, message.text)
        return message

    # ---- a web citizen's number for reminders ------------------------------------------
    async def ask_number(self, entry: QueueEntry) -> OutgoingMessage:
        """Ask for a mobile number to text the reminders to (what for, how long kept)."""
        await self._queue.set_callback(entry.id, state=CallbackState.ASKING)
        days = round(self._keep_days)
        return OutgoingMessage(
            text=say("ask_reminder_number", entry.language, days=days),
            buttons=(_button("choose_no_texts", entry.language, KEEP_BOOKING),),
        )

    async def number_given(self, entry: QueueEntry, text: str) -> OutgoingMessage | None:
        """A message while the reminder number is asked for: the answer, or None for a
        message without a digit (a question for the assistant)."""
        if not any(ch.isdigit() for ch in text):
            return None
        number = read_number(text)
        if number is None or not can_text(number):
            key = "not_a_number" if number is None else "not_a_mobile"
            return OutgoingMessage(text=say(key, entry.language))
        await self._queue.set_callback(
            entry.id, state=CallbackState.CONFIRMED, number=number, consent_at=self._clock()
        )
        updated = await self._queue.get(entry.id)
        assert updated is not None
        message = confirmation_of(updated)
        await self._text(updated, message.text)
        return message

    async def keep_without_texts(self, entry: QueueEntry) -> OutgoingMessage:
        """The web citizen would rather not give a number: the booking stays as it is."""
        await self._queue.set_callback(entry.id, state=None)
        updated = await self._queue.get(entry.id)
        assert updated is not None
        return confirmation_of(updated)

    # ---- reminders ---------------------------------------------------------------------
    async def send_reminders(self) -> list[tuple[int, str]]:
        """Send the reminders that are due (day before, ten minutes before), each once;
        the (request id, which) sent."""
        now = self._clock()
        sent: list[tuple[int, str]] = []
        for entry in await self._queue.scheduled(now - LATE_REMINDER, now + DAY_BEFORE):
            at = entry.scheduled_for
            if not entry.video_booked or entry.state not in QUEUED or at is None:
                continue
            if now >= at - SOON_BEFORE:
                which = "soon" if entry.reminded_soon_at is None else None
            else:
                which = "day" if entry.reminded_day_at is None else None
            if which is None or not await self._queue.claim_reminder(entry.id, which):
                continue
            try:
                await self._remind(entry, which)
            except Exception as exc:  # one citizen's failure must not stop the others
                log.warning("appointment.reminder_failed", request_id=entry.id, error=repr(exc))
                continue
            log.info("appointment.reminded", request_id=entry.id, which=which)
            sent.append((entry.id, which))
        return sent

    async def _remind(self, entry: QueueEntry, which: str) -> None:
        assert entry.scheduled_for is not None
        language = entry.language
        link = self._join_link(entry.id, entry.scheduled_for + LINK_VALID_AFTER)
        at = when(entry.scheduled_for, language)
        if which == "soon":
            text = say("appointment_soon", language, when=at, link=link)
            buttons: tuple[Button, ...] = (_button("choose_call_off", language, CANCEL),)
        else:
            text = "\n".join(
                [
                    say("appointment_day", language, when=at, link=link),
                    say("appointment_words", language),
                ]
            )
            buttons = (
                _button("choose_change_time", language, RESCHEDULE),
                _button("choose_call_off", language, CANCEL),
            )
        if entry.channel != "voice":
            await self._tell(entry, text, buttons)
        if entry.channel != "sms":
            await self._text(entry, text)

    async def _text(self, entry: QueueEntry, text: str) -> None:
        """Text ``entry``'s citizen on the number they gave (nothing without one)."""
        if self._texter is None or not entry.callback_number:
            return
        await self._texter.send_sms(
            entry.callback_number, text, kind="appointment", conversation_id=entry.conversation_id
        )

    # ---- the day -------------------------------------------------------------------------
    async def day_of(self, person: Interpreter, day: dt.date) -> list[QueueEntry]:
        """``person``'s appointments on ``day`` (Seoul): booked with them, held by them,
        or booked with nobody and theirs to take; ended ones too, earliest first."""
        start = dt.datetime.combine(day, dt.time(0, 0), SEOUL)
        found = await self._queue.scheduled(start, start + dt.timedelta(days=1), open_only=False)
        return [
            entry
            for entry in found
            if entry.booked_with == person.id
            or entry.accepted_by == person.id
            or (
                entry.booked_with is None
                and entry.accepted_by is None
                and person.can_take(entry.skill)
                and person.speaks(entry.language)
                and serves_region(entry, person)
            )
        ]


def _button(key: str, language: str, command: str) -> Button:
    return button(key, command, language)
