"""A warm transfer: the officer's summary, and the ``<Dial action>`` that ends the request.

The gateway in process (SQLite) with Twilio's signature check on: a caller's request
for a person is queued as the dialogue does it, then Twilio's signed ``<Dial action>``
of the transfer arrives. Answered: the request is resolved ("transferred") with the
summary as its notes. Not answered: a call-back is booked on the caller's number and
the caller hears so in Twilio's ``<Say>``. The summary names the service, the help and
the needs, and masks resident registration numbers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from assistant.handoff.records import CallbackState, Outcome, QueueState
from channels.voice.transfer import TRANSFER_PATH, transfer_summary
from channels.voice.twiml import dial
from tests.consoles import RRN, ConsoleApp, running, settings_on, twilio_settings

CALLER = "+821055501234"
TOKEN = "5f" * 16
SERVICE = "disability_allowance"


@pytest.fixture(params=["sqlite", "postgresql"])
async def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ConsoleApp]:
    """The gateway on SQLite and then on PostgreSQL."""
    url = settings_on(request, tmp_path).resolved_database_url
    settings = twilio_settings(tmp_path, url, "AC" + "0" * 32, TOKEN, "http://127.0.0.1:9")
    async with running(ConsoleApp, tmp_path, settings) as app:
        yield app


async def _caller_asks(gateway: ConsoleApp, caller: str = CALLER) -> tuple[str, int]:
    services = gateway.services
    conversation = await services.core.start(
        "voice", address=caller, language="ko", accessibility={"slow_speech": True}
    )
    await services.store.record_inbound(
        conversation.id, text=f"장애수당 신청하려고요 제 주민번호는 {RRN}", language="ko"
    )
    status = await services.handoff.request(
        conversation, reason="person", service=SERVICE, language="ko"
    )
    return conversation.id, status.request_id


async def _dial_ended(
    gateway: ConsoleApp, request_id: int, status: str, caller: str = CALLER
) -> ET.Element:
    url = f"https://sotong.test{TRANSFER_PATH}/{request_id}"
    form = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": "CA" + "1" * 32,
        "CallStatus": "in-progress",
        "From": caller,
        "To": "+827012345678",
        "DialCallSid": "CA" + "2" * 32,
        "DialCallStatus": status,
    }
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    response = await gateway.client().post(
        f"{TRANSFER_PATH}/{request_id}", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.text)


async def test_the_officer_s_summary_says_what_the_call_is_about(gateway: ConsoleApp) -> None:
    _, request_id = await _caller_asks(gateway)
    services = gateway.services
    entry = await services.handoff.queue.get(request_id)
    assert entry is not None
    summary = await transfer_summary(services.store, services.catalog, entry, CALLER)
    name = services.catalog.get(SERVICE)
    assert name is not None
    assert f"민원: {name.name.ko}" in summary and "요청: 상담원" in summary
    assert "필요: 천천히 말하기" in summary and "전화: 끝자리 1234" in summary
    assert "장애수당 신청하려고요" in summary
    assert "1234567" not in summary.replace("끝자리 1234", "")  # the resident number, masked
    assert len(summary) < 300  # one short text


async def test_an_answered_transfer_resolves_the_request_with_the_summary(
    gateway: ConsoleApp,
) -> None:
    _, request_id = await _caller_asks(gateway)
    answer = await _dial_ended(gateway, request_id, "completed")
    assert answer.find("Hangup") is not None
    entry = await gateway.services.handoff.queue.get(request_id)
    assert entry is not None
    assert (entry.state, entry.outcome) == (QueueState.RESOLVED, Outcome.TRANSFERRED.value)
    assert entry.notes is not None and "[소통] 전화를 연결합니다." in entry.notes
    # Nobody is left in the queue to tell "nobody could join" later.
    assert await gateway.services.handoff.expire_stale() == []


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
async def test_a_transfer_nobody_took_becomes_a_call_back_said_to_the_caller(
    gateway: ConsoleApp, status: str
) -> None:
    _, request_id = await _caller_asks(gateway)
    answer = await _dial_ended(gateway, request_id, status)
    said = answer.find("Say")
    assert said is not None and said.get("language") == "ko-KR"
    assert "끝자리 1 2 3 4번으로 다시 전화드리겠습니다" in (said.text or "")
    assert answer.find("Hangup") is not None
    entry = await gateway.services.handoff.queue.get(request_id)
    assert entry is not None and entry.state is QueueState.WAITING
    assert (entry.contact, entry.callback_number, entry.callback_state) == (
        "callback",
        CALLER,
        CallbackState.CONFIRMED,
    )
    assert entry.scheduled_for is not None


async def test_without_a_caller_id_the_caller_is_asked_to_call_again(gateway: ConsoleApp) -> None:
    _, request_id = await _caller_asks(gateway, caller="anonymous")
    answer = await _dial_ended(gateway, request_id, "no-answer", caller="anonymous")
    said = answer.find("Say")
    assert said is not None and "다시 전화해 주세요" in (said.text or "")
    entry = await gateway.services.handoff.queue.get(request_id)
    assert entry is not None and entry.callback_number is None


async def test_a_forged_dial_report_is_refused(gateway: ConsoleApp) -> None:
    _, request_id = await _caller_asks(gateway)
    response = await gateway.client().post(
        f"{TRANSFER_PATH}/{request_id}",
        data={"DialCallStatus": "completed", "From": CALLER},
        headers={"X-Twilio-Signature": "forged"},
    )
    assert response.status_code == 403
    entry = await gateway.services.handoff.queue.get(request_id)
    assert entry is not None and entry.state is QueueState.WAITING


def test_the_transfer_s_dial_reports_its_end() -> None:
    body = dial("+82221001234", caller_id="+827012345678", action="https://sotong.test/x/1")
    element = ET.fromstring(body).find("Dial")
    assert element is not None
    assert (element.get("action"), element.get("method")) == ("https://sotong.test/x/1", "POST")
    assert element.get("callerId") == "+827012345678" and element.text == "+82221001234"
