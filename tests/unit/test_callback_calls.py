"""A person calls a citizen back: the console's routes, Twilio's calls and callbacks.

The whole gateway in process (lifespan, routes, middleware; the main flows on SQLite
and on PostgreSQL) with its Twilio client pointed at the local Twilio double, so the
real SDK places the outbound call (``Calls.json``) and the double's signed ``<Dial
action>`` and status callbacks come back through the gateway's signature check. A
citizen asks for a person after hours, chooses a call-back and types their number; a
person takes the request, sees the number masked, reveals it (audited) and calls:
their own phone first, then the citizen with the service's number as caller ID.
Outcomes are recorded once, retries are due later and the citizen is told — by a text
to their mobile as well when their channel is not SMS. After a wrong number they are
asked for another, and the person sees it.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.accounts import Role
from assistant.config import to_async_url
from assistant.handoff.callback_calls import REPORT_WAIT
from assistant.handoff.records import CallbackState, CallOutcome
from assistant.messages import IncomingMessage
from assistant.store import TurnDirection
from tests.consoles import SERVICE_NUMBER, ConsoleApp, Person, running, twilio_settings
from tests.twilio_double import CreatedCall, TwilioDouble

CITIZEN = "+821098765432"
OWN_PHONE = "+821055550000"
AFTER_HOURS = {"work_start": 9 * 60, "work_end": 9 * 60 + 1}  # on duty one minute a day


@pytest.fixture
def twilio() -> Iterator[TwilioDouble]:
    with TwilioDouble() as double:
        yield double


class Desk(ConsoleApp):
    twilio: TwilioDouble

    async def citizen_books(self, typed: str = "010-9876-5432") -> tuple[str, int]:
        """A web chat citizen asks for a person after hours, chooses a call-back and
        types their number; the conversation and the request."""
        core = self.services.core
        conversation = await core.start("webchat", address="web", language="ko")
        status = await self.services.handoff.request(
            conversation, reason="person", service=None, language="ko"
        )
        await core.handle(
            IncomingMessage(
                conversation.id, "전화 예약", channel="webchat", payload="sotong:handoff:callback"
            )
        )
        await core.handle(IncomingMessage(conversation.id, typed, channel="webchat"))
        return conversation.id, status.request_id

    async def holder(self, request_id: int, phone: str | None = OWN_PHONE) -> Person:
        person = await self.sign_in("kim", Role.INTERPRETER)
        assert (await person.post("/api/console/availability", {"available": True})).is_success
        queue = self.services.handoff.queue
        if phone is not None:
            assert await queue.set_phone("kim", phone)
        response = await person.post(f"/api/console/requests/{request_id}/accept")
        assert response.status_code == 200, response.text
        return person

    async def twilio_says(
        self, request: tuple[str, dict[str, str], dict[str, str]]
    ) -> httpx.Response:
        """Twilio's signed callback, posted to the gateway."""
        path, form, headers = request
        return await self.client().post(path, data=form, headers=headers)


@pytest.fixture
async def desk(
    request: pytest.FixtureRequest, tmp_path: Path, twilio: TwilioDouble
) -> AsyncIterator[Desk]:
    """The gateway on SQLite, or on PostgreSQL where a test asks (``BOTH_DATABASES``)."""
    database = getattr(request, "param", "sqlite")
    if database == "sqlite":
        url = to_async_url(f"sqlite:///{tmp_path / 'gateway.db'}")
    else:
        url = to_async_url(request.getfixturevalue("postgres_schema_url"))
    settings = twilio_settings(
        tmp_path,
        url,
        twilio.account_sid,
        twilio.auth_token,
        twilio.url,
        callback_retry_minutes=30,
        callback_max_attempts=2,
    )
    async with running(Desk, tmp_path, settings) as desk:
        desk.twilio = twilio
        yield desk


BOTH_DATABASES = pytest.mark.parametrize("desk", ["sqlite", "postgresql"], indirect=True)


async def _call(desk: Desk, person: Person, request_id: int) -> CreatedCall:
    before = len(desk.twilio.created_calls)
    response = await person.post(f"/api/console/requests/{request_id}/callback/call")
    assert response.status_code == 202, response.text
    assert len(desk.twilio.created_calls) == before + 1
    return desk.twilio.created_calls[-1]


async def _citizen_texts(desk: Desk, conversation_id: str) -> list[str]:
    turns = await desk.services.store.transcript(conversation_id)
    return [t.text for t in turns if t.direction is TurnDirection.OUTBOUND]


@BOTH_DATABASES
async def test_the_holder_sees_the_number_masked_reveals_it_audited_and_calls(
    desk: Desk,
) -> None:
    conversation_id, request_id = await desk.citizen_books()
    kim = await desk.holder(request_id)

    shown = await kim.get(f"/api/console/requests/{request_id}/callback")
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert view["number_masked"] == "010-****-5432" and view["contact"] == "callback"
    assert view["state"] == "confirmed" and view["tries_left"] == 2 and view["can_text"]
    assert "9876" not in shown.text
    detail = await kim.get(f"/api/console/requests/{request_id}")
    assert "9876-5432" in detail.text  # what the citizen typed is in their own words…
    revealed = await kim.post(f"/api/console/requests/{request_id}/callback/reveal")
    assert revealed.json() == {"number": "010-9876-5432"}
    audit = await desk.services.accounts.audit_log(conversation_id, action="callback.reveal")
    assert [a.actor_username for a in audit] == ["kim"]

    call = await _call(desk, kim, request_id)
    # The person's own phone rings first, from the service's number …
    assert (call.to, call.from_) == (OWN_PHONE, SERVICE_NUMBER)
    assert set(call.status_callback_events) == {"initiated", "ringing", "answered", "completed"}
    assert call.status_callback is not None and call.status_callback.startswith(
        "https://sotong.test/webhooks/twilio/callbacks/"
    )
    # … then the citizen, who sees the service's number, never the person's own.
    assert call.dialled == CITIZEN
    assert call.twiml is not None
    dial = ET.fromstring(call.twiml).find("Dial")
    assert dial is not None and dial.get("callerId") == SERVICE_NUMBER
    assert OWN_PHONE not in call.twiml
    audit = await desk.services.accounts.audit_log(conversation_id, action="callback.call")
    assert [a.detail["placed"] for a in audit] == [True]

    # A second call while this one goes on is refused in plain words.
    again = await kim.post(f"/api/console/requests/{request_id}/callback/call")
    assert again.status_code == 409 and "still going on" in again.json()["detail"]

    answer = await desk.twilio_says(desk.twilio.dial_action_request(call, "completed"))
    assert answer.status_code == 200 and "<Hangup" in answer.text
    # The call's own end comes after the <Dial> report: the first report counts.
    ended = await desk.twilio_says(desk.twilio.call_status_request(call, "completed"))
    assert ended.status_code == 204
    (attempt,) = await desk.services.callbacks.attempts.of_request(request_id)
    assert attempt.outcome is CallOutcome.REACHED and attempt.retry_at is None
    assert attempt.call_sid == call.sid


@BOTH_DATABASES
async def test_no_answer_is_tried_again_later_and_the_citizen_is_texted(desk: Desk) -> None:
    conversation_id, request_id = await desk.citizen_books()
    kim = await desk.holder(request_id)

    call = await _call(desk, kim, request_id)
    answer = await desk.twilio_says(desk.twilio.dial_action_request(call, "no-answer"))
    assert "받지 않았습니다" in answer.text
    view = (await kim.get(f"/api/console/requests/{request_id}/callback")).json()
    assert view["attempts"][0]["outcome"] == "no_answer" and view["tries_left"] == 1
    retry_at = dt.datetime.fromisoformat(view["next_try_at"])
    started = dt.datetime.fromisoformat(view["attempts"][0]["started_at"])
    assert dt.timedelta(minutes=29) < retry_at - started < dt.timedelta(minutes=31)
    told = await _citizen_texts(desk, conversation_id)
    assert "연결되지 않았습니다" in told[-1] and "다시 전화드립니다" in told[-1]
    # Their channel is the web chat: a text to their mobile too, once.
    sent = await desk.services.outbox.store.messages(CITIZEN)
    assert [m.kind for m in sent] == ["callback"] and "다시 전화드립니다" in sent[0].body
    await desk.twilio_says(desk.twilio.dial_action_request(call, "no-answer"))  # a retry
    assert len(await desk.services.outbox.store.messages(CITIZEN)) == 1

    # The last try: the citizen is told it ended; no more tries are offered.
    call = await _call(desk, kim, request_id)
    await desk.twilio_says(desk.twilio.dial_action_request(call, "busy"))
    told = await _citizen_texts(desk, conversation_id)
    assert "2번 전화드렸지만" in told[-1]
    refused = await kim.post(f"/api/console/requests/{request_id}/callback/call")
    assert refused.status_code == 409 and "every try" in refused.json()["detail"]


async def test_a_wrong_number_asks_the_citizen_for_another_which_the_person_sees(
    desk: Desk,
) -> None:
    conversation_id, request_id = await desk.citizen_books("02-123-4567")
    kim = await desk.holder(request_id)
    call = await _call(desk, kim, request_id)
    await desk.twilio_says(desk.twilio.dial_action_request(call, "failed"))
    told = await _citizen_texts(desk, conversation_id)
    assert "02-123-4567(으)로 전화를 걸 수 없었습니다" in told[-1]
    entry = await desk.services.handoff.queue.get(request_id)
    assert entry is not None and entry.callback_state is CallbackState.ASKING
    assert entry.callback_number is None

    # The citizen answers while the person holds the request: the number is taken.
    result = await desk.services.core.handle(
        IncomingMessage(conversation_id, "010 1111 2222", channel="webchat")
    )
    assert "010-1111-2222(으)로 다시 전화드립니다" in result.replies[0].text
    view = (await kim.get(f"/api/console/requests/{request_id}/callback")).json()
    assert view["number_masked"] == "010-****-2222" and view["state"] == "confirmed"
    call = await _call(desk, kim, request_id)
    assert call.dialled == "+821011112222"


async def test_the_person_s_phone_not_answering_is_their_miss_not_the_citizen_s(
    desk: Desk,
) -> None:
    conversation_id, request_id = await desk.citizen_books()
    kim = await desk.holder(request_id)
    call = await _call(desk, kim, request_id)
    told_before = await _citizen_texts(desk, conversation_id)
    await desk.twilio_says(desk.twilio.call_status_request(call, "ringing"))
    await desk.twilio_says(desk.twilio.call_status_request(call, "no-answer"))
    (attempt,) = await desk.services.callbacks.attempts.of_request(request_id)
    assert attempt.outcome is CallOutcome.PERSON_UNREACHED and attempt.retry_at is None
    assert await _citizen_texts(desk, conversation_id) == told_before  # nothing to tell
    # Not the citizen's miss: it uses none of their tries, and the person calls again.
    view = (await kim.get(f"/api/console/requests/{request_id}/callback")).json()
    assert view["tries_left"] == 2 and view["next_try_at"] is None
    await _call(desk, kim, request_id)


async def test_a_try_twilio_never_reported_on_stops_blocking_after_a_while(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, request_id = await desk.citizen_books()
    kim = await desk.holder(request_id)
    await _call(desk, kim, request_id)  # and no callback ever comes
    blocked = await kim.post(f"/api/console/requests/{request_id}/callback/call")
    assert blocked.status_code == 409
    (silent,) = await desk.services.callbacks.attempts.of_request(request_id)
    later = silent.started_at + REPORT_WAIT + dt.timedelta(seconds=1)
    monkeypatch.setattr(desk.services.callbacks, "_clock", lambda: later)
    await _call(desk, kim, request_id)


async def test_a_call_needs_the_person_s_own_phone_and_a_held_request(desk: Desk) -> None:
    _, request_id = await desk.citizen_books()
    kim = await desk.holder(request_id, phone=None)
    refused = await kim.post(f"/api/console/requests/{request_id}/callback/call")
    assert refused.status_code == 409 and "your own phone" in refused.json()["detail"]
    assert desk.twilio.created_calls == []
    lee = await desk.sign_in("lee", Role.INTERPRETER)
    for path in ("", "/reveal", "/call"):
        response = await (
            lee.get(f"/api/console/requests/{request_id}/callback")
            if path == ""
            else lee.post(f"/api/console/requests/{request_id}/callback{path}")
        )
        assert response.status_code == 404, path


async def test_twilio_refusing_the_call_is_a_plain_409_and_a_failed_try(desk: Desk) -> None:
    _, request_id = await desk.citizen_books()
    kim = await desk.holder(request_id)
    desk.twilio.fail_next(1, status=500)
    refused = await kim.post(f"/api/console/requests/{request_id}/callback/call")
    assert refused.status_code == 409 and "could not be placed" in refused.json()["detail"]
    (attempt,) = await desk.services.callbacks.attempts.of_request(request_id)
    assert attempt.outcome is CallOutcome.FAILED


@pytest.mark.parametrize("kind", ["dial", "status"])
async def test_forged_or_malformed_callbacks(desk: Desk, kind: str) -> None:
    _, request_id = await desk.citizen_books()
    kim = await desk.holder(request_id)
    call = await _call(desk, kim, request_id)
    request = (
        desk.twilio.dial_action_request(call, "completed")
        if kind == "dial"
        else desk.twilio.call_status_request(call, "no-answer")
    )
    path, form, headers = request
    forged: dict[str, Any] = {**form, "DialCallStatus": "busy", "CallStatus": "busy"}
    response = await desk.client().post(path, data=forged, headers=headers)
    assert response.status_code == 403
    # Signed but without the fields: logged, answered as Twilio expects, nothing recorded.
    bare = desk.twilio._signed(f"https://sotong.test{path}", {"AccountSid": call.account_sid})
    response = await desk.twilio_says(bare)
    assert response.status_code in (200, 204)
    (attempt,) = await desk.services.callbacks.attempts.of_request(request_id)
    assert attempt.outcome is None
