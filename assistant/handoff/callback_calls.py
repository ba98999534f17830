"""The person's side of a call-back: see the number, ring it, record how it went.

The person holding a call-back request presses "call" on the console. Twilio calls the
person's own phone (the number on their queue record) from the service's number; when
they answer, TwiML says what the call is and ``<Dial>``s the citizen with the service's
number as caller ID, so the citizen sees the number they were told about, never the
person's private one. Two signed Twilio callbacks tell how it went:

- the ``<Dial>``'s ``action`` (the citizen's leg ended): ``DialCallStatus`` completed →
  reached, no-answer / busy → tried again later, failed → a wrong number;
- the call's status callback (the person's leg ended): if no ``<Dial>`` report came,
  the person's own phone was not answered.

An attempt's outcome is kept once (``CallbackLog``). After no answer or busy the next
try is due ``SOTONG_CALLBACK_RETRY_MINUTES`` later, at most ``SOTONG_CALLBACK_MAX_ATTEMPTS``
tries; the citizen is told each time on their own channel and, when the number is a
mobile, by a text to it. After a wrong number the citizen is asked for another on their
channel, and the number they send reaches the console. Seeing the whole number and
calling are audited; the console otherwise shows it masked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from twilio.twiml.voice_response import VoiceResponse

from assistant.handoff.attempts import CallbackLog
from assistant.handoff.phone_numbers import can_text, masked, national
from assistant.handoff.records import (
    CONTACT_CALLBACK,
    SEOUL,
    CallbackAttempt,
    CallbackState,
    CallOutcome,
    QueueEntry,
)
from assistant.handoff.service import HandoffService, Person
from assistant.handoff.texts import say, when
from assistant.outbox import Texter
from assistant.store.base import utcnow

log = structlog.get_logger(__name__)

CALLBACKS_PATH = "/webhooks/twilio/callbacks"
DIAL_TIMEOUT_SECONDS = 30  # how long the citizen's phone rings
# A try Twilio never reported on after this long (a lost callback) no longer blocks the
# next one: the longest call-back leg rings for well under it.
REPORT_WAIT = dt.timedelta(minutes=10)
# Tries that count against the citizen's: their phone rang (or was tried). Misses of the
# person's own phone, and calls Twilio could not place, are not the citizen's.
_CITIZEN_TRIES = frozenset(
    {CallOutcome.REACHED, CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.WRONG_NUMBER}
)

# DialCallStatus → how the try went (Twilio: completed, busy, no-answer, failed, canceled).
_DIAL_OUTCOMES = {
    "completed": CallOutcome.REACHED,
    "answered": CallOutcome.REACHED,
    "busy": CallOutcome.BUSY,
    "no-answer": CallOutcome.NO_ANSWER,
    "failed": CallOutcome.WRONG_NUMBER,
    # The person hung up before the citizen answered: try again later.
    "canceled": CallOutcome.NO_ANSWER,
}
# What the person hears once the citizen's leg is over (the person placed the call).
_PERSON_HEARS = {
    CallOutcome.REACHED: "통화가 끝났습니다. 콘솔에 결과를 적어 주세요.",
    CallOutcome.NO_ANSWER: "시민이 받지 않았습니다. 다시 걸 시간을 콘솔에서 확인하세요.",
    CallOutcome.BUSY: "시민이 통화 중입니다. 다시 걸 시간을 콘솔에서 확인하세요.",
    CallOutcome.WRONG_NUMBER: "연결할 수 없는 번호입니다. 시민에게 다른 번호를 물었습니다.",
}


class CallPlacer(Protocol):
    """Places an outbound call (``channels.voice.call_control.CallControl``)."""

    async def call(self, to: str, from_: str, twiml: str, status_callback: str) -> str | None:
        """The new call's sid, or None when Twilio refused or could not be reached."""
        ...


@dataclass(frozen=True)
class CallbackView:
    """What the console shows of a request's call-back."""

    contact: str | None
    state: CallbackState | None
    number_masked: str | None
    can_text: bool
    attempts: list[CallbackAttempt]
    next_try_at: dt.datetime | None
    tries_left: int

    def as_json(self) -> dict[str, Any]:
        """The view as the console's JSON."""
        return {
            "contact": self.contact,
            "state": self.state.value if self.state else None,
            "number_masked": self.number_masked,
            "can_text": self.can_text,
            "next_try_at": self.next_try_at.isoformat() if self.next_try_at else None,
            "tries_left": self.tries_left,
            "attempts": [
                {
                    "id": a.id,
                    "person": a.person,
                    "started_at": a.started_at.isoformat(),
                    "outcome": a.outcome.value if a.outcome else None,
                    "retry_at": a.retry_at.isoformat() if a.retry_at else None,
                }
                for a in self.attempts
            ],
        }


class CallbackRefused(Exception):
    """A call-back cannot be placed now; ``reason`` says why in the console's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CallbackCalls:
    """Calls placed by people for call-back requests, and their outcomes."""

    def __init__(
        self,
        handoff: HandoffService,
        attempts: CallbackLog,
        placer: CallPlacer,
        texter: Texter,
        *,
        service_number: str | None,
        public_url: str,
        retry_after: dt.timedelta = dt.timedelta(minutes=30),
        max_attempts: int = 3,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._handoff = handoff
        self.attempts = attempts
        self._placer = placer
        self._texter = texter
        self._service_number = service_number
        self._public_url = public_url.rstrip("/")
        self._retry_after = retry_after
        self._max_attempts = max_attempts
        self._clock = clock

    async def view(self, entry: QueueEntry) -> CallbackView | None:
        """The call-back part of a request for the console, or None if it has none."""
        if entry.contact is None and entry.callback_number is None:
            return None
        attempts = await self.attempts.of_request(entry.id)
        last = attempts[-1] if attempts else None
        number = entry.callback_number
        return CallbackView(
            contact=entry.contact,
            state=entry.callback_state,
            number_masked=masked(number) if number else None,
            can_text=bool(number and can_text(number)),
            attempts=attempts,
            next_try_at=last.retry_at if last and last.outcome and last.outcome.retried else None,
            tries_left=max(0, self._max_attempts - _citizen_tries(attempts)),
        )

    async def reveal(self, account: Person, request_id: int) -> str | None:
        """The whole number, for the person holding the request (audited); else None."""
        entry = await self._handoff.holding(account, request_id)
        if entry is None or entry.callback_number is None:
            return None
        await self._handoff.audit(
            account, "callback.reveal", entry.conversation_id, {"request_id": request_id}
        )
        return national(entry.callback_number)

    async def call(self, account: Person, request_id: int) -> CallbackAttempt:
        """Ring the person's own phone, then the citizen (see the module docstring).
        CallbackRefused says why not: not theirs, no number, no phone of their own,
        no tries left, or a call still going."""
        entry = await self._handoff.holding(account, request_id)
        if entry is None:
            raise CallbackRefused("not_held")
        if entry.contact != CONTACT_CALLBACK or entry.callback_number is None:
            raise CallbackRefused("no_number")
        person = await self._handoff.queue.get_interpreter(account.username)
        if person is None or person.phone is None:
            raise CallbackRefused("no_own_phone")
        if not self._service_number:
            raise CallbackRefused("no_service_number")
        earlier = await self.attempts.of_request(request_id)
        now = self._clock()
        if any(a.outcome is None and now - a.started_at < REPORT_WAIT for a in earlier):
            raise CallbackRefused("call_in_progress")
        if _citizen_tries(earlier) >= self._max_attempts:
            raise CallbackRefused("no_tries_left")
        attempt = await self.attempts.start(request_id, account.username)
        base = f"{self._public_url}{CALLBACKS_PATH}/{attempt.id}"
        twiml = _bridge(entry.callback_number, self._service_number, f"{base}/dial")
        sid = await self._placer.call(person.phone, self._service_number, twiml, f"{base}/status")
        await self._handoff.audit(
            account,
            "callback.call",
            entry.conversation_id,
            {"request_id": request_id, "attempt": attempt.id, "placed": sid is not None},
        )
        if sid is None:
            await self.attempts.finish(attempt.id, CallOutcome.FAILED)
            self._handoff.announce(entry)
            raise CallbackRefused("twilio_refused")
        await self.attempts.set_call_sid(attempt.id, sid)
        log.info("callback.placed", request_id=request_id, attempt=attempt.id, by=account.username)
        self._handoff.announce(entry)
        placed = await self.attempts.get(attempt.id)
        assert placed is not None
        return placed

    async def dial_ended(self, attempt_id: int, call_sid: str, dial_status: str) -> str:
        """Twilio's ``<Dial action>``: the citizen's leg ended. Records the outcome
        (once), tells the citizen, and answers TwiML for the person still on the line."""
        outcome = _DIAL_OUTCOMES.get(dial_status, CallOutcome.FAILED)
        ended = await self._finish(attempt_id, call_sid, outcome)
        response = VoiceResponse()
        if ended is not None and outcome in _PERSON_HEARS:
            response.say(_PERSON_HEARS[outcome], voice="Polly.Seoyeon", language="ko-KR")
        response.hangup()
        return str(response)

    async def call_ended(self, attempt_id: int, call_sid: str, call_status: str) -> None:
        """The call's status callback. A final status with no ``<Dial>`` report first
        means the person's own phone did not answer (or the call failed)."""
        if call_status not in ("completed", "busy", "no-answer", "failed", "canceled"):
            return  # initiated, ringing, in-progress: nothing ended yet
        outcome = CallOutcome.FAILED if call_status == "failed" else CallOutcome.PERSON_UNREACHED
        await self._finish(attempt_id, call_sid, outcome)

    async def _finish(
        self, attempt_id: int, call_sid: str, outcome: CallOutcome
    ) -> CallbackAttempt | None:
        attempt = await self.attempts.get(attempt_id)
        if attempt is None or (attempt.call_sid is not None and attempt.call_sid != call_sid):
            log.warning("callback.unknown_attempt", attempt=attempt_id)
            return None
        earlier = await self.attempts.of_request(attempt.request_id)
        tries = _citizen_tries([a for a in earlier if a.id != attempt_id]) + (
            outcome in _CITIZEN_TRIES
        )
        retry_at = None
        if outcome.retried and tries < self._max_attempts:
            retry_at = self._clock() + self._retry_after
        ended = await self.attempts.finish(attempt_id, outcome, retry_at)
        if ended is None:
            return None  # already reported (the other callback, or a retried webhook)
        log.info("callback.ended", request_id=attempt.request_id, outcome=outcome.value)
        entry = await self._handoff.queue.get(attempt.request_id)
        if entry is not None:
            await self._tell_citizen(entry, ended, tries=tries)
            self._handoff.announce(entry)
        return ended

    async def _tell_citizen(self, entry: QueueEntry, attempt: CallbackAttempt, tries: int) -> None:
        """The citizen hears how the try went: on their channel, and by a text to the
        number when it is a mobile and their channel is not SMS already."""
        language = entry.language
        number = entry.callback_number
        outcome = attempt.outcome
        if outcome is CallOutcome.WRONG_NUMBER:
            await self._handoff.queue.set_callback(
                entry.id, state=CallbackState.ASKING, number=None
            )
            shown = national(number) if number else ""
            await self._handoff.tell(entry, say("callback_wrong_number", language, number=shown))
            return
        if outcome is None or not outcome.retried:
            return  # reached: the person says the rest; the person's own phone: theirs
        if attempt.retry_at is not None:
            at, then = _clock_time(attempt.started_at), when(attempt.retry_at, language)
            text = say("callback_missed", language, time=at, when=then)
        else:
            text = say("callback_missed_last", language, tries=tries)
        await self._handoff.tell(entry, text)
        if number and can_text(number) and entry.channel != "sms":
            await self._texter.send_sms(
                number,
                text,
                kind="callback",
                conversation_id=entry.conversation_id,
                dedupe_key=f"callback-missed:{attempt.id}",
            )


def _citizen_tries(attempts: list[CallbackAttempt]) -> int:
    """Tries that rang (or tried to ring) the citizen, the one going on included."""
    return sum(1 for a in attempts if a.outcome is None or a.outcome in _CITIZEN_TRIES)


def _bridge(citizen: str, caller_id: str, action: str) -> str:
    """TwiML for the person's phone: say what the call is, then ring the citizen."""
    response = VoiceResponse()
    response.say(
        "소통 전화 예약입니다. 시민에게 연결합니다.", voice="Polly.Seoyeon", language="ko-KR"
    )
    response.dial(
        citizen,
        caller_id=caller_id,
        action=action,
        method="POST",
        timeout=DIAL_TIMEOUT_SECONDS,
    )
    return str(response)


def _clock_time(at: dt.datetime) -> str:
    """ "14:05" in Seoul time."""
    return at.astimezone(SEOUL).strftime("%H:%M")
