"""The citizen's side of a call-back: which contact they are offered, and their number.

When nobody can join now, a citizen chooses to be called back, texted, or a video
appointment. A call-back or a text needs a number a person can reach:

- on SMS and the phone, the number they use (the caller ID), confirmed first — "this
  number" or "another number" (buttons, numbered choices on SMS, keys on the phone);
- on the web chat, a number they type. The question says what it is kept for and for
  how long, so sending it is the consent, and the time is kept with it.

Citizens whose needs say deaf or hard of hearing, and requests for a sign-language
interpreter, are never offered a voice call: a text or a video appointment instead.
Once the number is confirmed the request is scheduled at the next opening of someone's
working hours, as a video appointment is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from assistant.handoff.base import HandoffQueue
from assistant.handoff.phone_numbers import can_text, is_phone_number, national, read_number
from assistant.handoff.records import (
    CONTACT_CALLBACK,
    CONTACT_TEXT,
    SKILL_KSL,
    CallbackState,
    QueueEntry,
)
from assistant.handoff.texts import say, when
from assistant.messages import OutgoingMessage
from assistant.store import Button

# Quick-reply payloads the gateway answers itself (never sent to the dialogue).
COMMAND_PREFIX = "sotong:handoff:"
CANCEL, CALLBACK, TEXT, VIDEO = "cancel", "callback", "text", "video"
THIS_NUMBER, OTHER_NUMBER = "this_number", "other_number"
HELPFUL, NOT_HELPFUL = "helpful", "not_helpful"  # the answer to "did it help?"
# Video appointments (``appointments``): another time, reminders by text on the web or
# not, and a slot picked (its time as Unix seconds: "slot:1764637200").
RESCHEDULE, REMIND_BY_TEXT, KEEP_BOOKING = "reschedule", "remind_by_text", "keep_booking"
SLOT_PREFIX = "slot:"
COMMANDS = (
    CANCEL,
    CALLBACK,
    TEXT,
    VIDEO,
    THIS_NUMBER,
    OTHER_NUMBER,
    HELPFUL,
    NOT_HELPFUL,
    RESCHEDULE,
    REMIND_BY_TEXT,
    KEEP_BOOKING,
)


def button(key: str, command: str, language: str) -> Button:
    """A quick reply the gateway answers (``COMMAND_PREFIX`` + command)."""
    return Button(say(key, language), COMMAND_PREFIX + command)


def no_voice_call(entry: QueueEntry) -> bool:
    """Whether a voice call is the wrong way to reach this citizen: a sign-language
    request, or needs that say deaf or hard of hearing."""
    needs = entry.accessibility or {}
    return entry.skill == SKILL_KSL or bool(needs.get("deaf") or needs.get("hard_of_hearing"))


def contact_choices(no_call: bool, language: str) -> tuple[str, tuple[Button, ...]]:
    """What a citizen nobody can join now is offered (``no_call``: see ``no_voice_call``):
    the text's key and the buttons."""
    if no_call:
        first = button("choose_text", TEXT, language)
        key = "nobody_now_no_call"
    else:
        first = button("choose_callback", CALLBACK, language)
        key = "nobody_now"
    return key, (
        first,
        button("choose_video", VIDEO, language),
        button("choose_cancel", CANCEL, language),
    )


class CallbackBooking:
    """Gets and confirms the number of a call-back or text, then schedules it."""

    def __init__(
        self,
        queue: HandoffQueue,
        next_opening: Callable[[str], Awaitable[dt.datetime]],
        clock: Callable[[], dt.datetime],
        keep_days: float,
    ) -> None:
        self._queue = queue
        self._next_opening = next_opening
        self._clock = clock
        self._keep_days = keep_days

    async def choose(self, entry: QueueEntry, address: str, contact: str) -> OutgoingMessage:
        """The citizen chose a call-back or a text: propose the number they use, or ask
        for one. A call-back chosen for someone no voice call suits becomes a text."""
        if contact == CONTACT_CALLBACK and no_voice_call(entry):
            contact = CONTACT_TEXT
        await self._queue.set_details(entry.id, contact=contact, scheduled_for=None)
        usable = is_phone_number(address) and (contact != CONTACT_TEXT or can_text(address))
        if not usable:
            return await self.ask(entry, contact)
        await self._queue.set_callback(entry.id, state=CallbackState.CONFIRMING, number=address)
        key = "confirm_text_number" if contact == CONTACT_TEXT else "confirm_callback_number"
        language = entry.language
        return OutgoingMessage(
            text=say(key, language, number=national(address)),
            buttons=(
                button("choose_this_number", THIS_NUMBER, language),
                button("choose_other_number", OTHER_NUMBER, language),
                button("choose_cancel", CANCEL, language),
            ),
        )

    async def ask(self, entry: QueueEntry, contact: str | None = None) -> OutgoingMessage:
        """Ask the citizen to send the number (what it is for and how long it is kept)."""
        contact = contact or entry.contact or CONTACT_CALLBACK
        await self._queue.set_details(entry.id, contact=contact, scheduled_for=None)
        await self._queue.set_callback(entry.id, state=CallbackState.ASKING)
        key = "ask_text_number" if contact == CONTACT_TEXT else "ask_callback_number"
        days = round(self._keep_days)
        return OutgoingMessage(
            text=say(key, entry.language, days=days),
            buttons=(button("choose_cancel", CANCEL, entry.language),),
        )

    async def typed(self, entry: QueueEntry, text: str) -> OutgoingMessage | None:
        """A message while the number is asked for: None when it was taken (the request
        is scheduled) or holds no digit at all (it is a question for the assistant, and
        the number is still asked for); else what was wrong with it."""
        if not any(ch.isdigit() for ch in text):
            return None
        number = read_number(text)
        cancel = (button("choose_cancel", CANCEL, entry.language),)
        if number is None:
            return OutgoingMessage(text=say("not_a_number", entry.language), buttons=cancel)
        if entry.contact == CONTACT_TEXT and not can_text(number):
            return OutgoingMessage(text=say("not_a_mobile", entry.language), buttons=cancel)
        await self.confirmed(entry, number)
        return None

    async def confirmed(
        self, entry: QueueEntry, number: str, contact: str | None = None
    ) -> dt.datetime:
        """The citizen's number is confirmed (or was typed, or keyed on the phone):
        keep it with the time of consent and schedule at the next opening; when."""
        contact = contact or entry.contact or CONTACT_CALLBACK
        at = await self._next_opening(entry.skill)
        await self._queue.set_details(entry.id, contact=contact, scheduled_for=at)
        await self._queue.set_callback(
            entry.id, state=CallbackState.CONFIRMED, number=number, consent_at=self._clock()
        )
        return at

    def scheduled_text(
        self, contact: str, number: str | None, at: dt.datetime, language: str
    ) -> tuple[str, tuple[Button, ...]]:
        """What a scheduled call-back or text says, and its buttons."""
        cancel = button("choose_cancel", CANCEL, language)
        if number is None:  # booked before numbers were asked for
            return say("scheduled_callback", language, when=when(at, language)), (cancel,)
        key = "scheduled_text_to" if contact == CONTACT_TEXT else "scheduled_callback_to"
        text = say(key, language, when=when(at, language), number=national(number))
        return text, (button("choose_other_number", OTHER_NUMBER, language), cancel)
