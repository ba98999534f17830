"""``POST /webhooks/twilio/voice/status`` on a small app, signed like Twilio's callbacks.

The route runs with the real signature check, the real call store (SQLite, migrated)
and the real metrics; only the services around them are left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from assistant.calls import CallStatus, CallStore, SqlCallStore
from assistant.config import Settings, to_async_url
from assistant.metrics import Metrics
from assistant.store.migrate import upgrade
from channels.voice import status as voice_status

PUBLIC = "https://sotong.example"
TOKEN = "f" * 32
ACCOUNT = "AC" + "a" * 32
CALL_SID = "CA" + "b" * 32
CALLER = "+821012345678"
OURS = "+15005550006"
PATH = "/webhooks/twilio/voice/status"


def callback(status: str, **extra: str) -> dict[str, str]:
    """The form Twilio POSTs for a call status change (an inbound call)."""
    form = {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "CallSid": CALL_SID,
        "CallStatus": status,
        "Called": OURS,
        "Caller": CALLER,
        "Direction": "inbound",
        "From": CALLER,
        "To": OURS,
    }
    form.update(extra)
    return form


def signed(form: dict[str, str], path: str = PATH, token: str = TOKEN) -> dict[str, str]:
    signature = RequestValidator(token).compute_signature(PUBLIC + path, form)
    return {"X-Twilio-Signature": signature}


@pytest.fixture
async def calls(tmp_path: Path) -> AsyncIterator[CallStore]:
    url = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
    await asyncio.to_thread(upgrade, url)
    store = SqlCallStore.from_url(url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def app(calls: CallStore, metrics: Metrics, tmp_path: Path) -> FastAPI:
    settings = Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        public_url=PUBLIC,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
    )
    application = FastAPI()
    application.include_router(voice_status.router)
    # The route and the signature check use only these three services.
    application.state.services = SimpleNamespace(settings=settings, metrics=metrics, calls=calls)
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield http


async def post(client: httpx.AsyncClient, form: dict[str, str]) -> httpx.Response:
    return await client.post(PATH, data=form, headers=signed(form))


async def test_statuses_are_recorded_for_an_unknown_call(
    client: httpx.AsyncClient, calls: CallStore
) -> None:
    response = await post(client, callback("ringing"))
    assert response.status_code == 204 and response.content == b""
    record = await calls.get(CALL_SID)
    assert record is not None and record.status is CallStatus.RINGING
    assert (record.caller, record.called) == (CALLER, OURS)


async def test_completed_with_duration_and_timestamp_then_late_ringing(
    client: httpx.AsyncClient, calls: CallStore
) -> None:
    await calls.call_started(
        CALL_SID, caller=CALLER, called=OURS, conversation_id="c" * 32, language="ko"
    )
    done = callback(
        "completed",
        CallDuration="73",
        Timestamp="Tue, 01 Dec 2026 09:01:13 +0000",
        SequenceNumber="3",
        CallbackSource="call-progress-events",
    )
    assert (await post(client, done)).status_code == 204
    record = await calls.get(CALL_SID)
    assert record is not None and record.status is CallStatus.COMPLETED
    assert record.duration_seconds == 73 and record.conversation_id == "c" * 32
    assert (
        record.ended_at is not None and record.ended_at.isoformat() == "2026-12-01T09:01:13+00:00"
    )
    # A retried or overtaken callback is accepted and changes nothing.
    assert (await post(client, done)).status_code == 204
    assert (await post(client, callback("ringing"))).status_code == 204
    kept = await calls.get(CALL_SID)
    assert kept == record


async def test_malformed_callback_is_answered_and_stores_nothing(
    client: httpx.AsyncClient, calls: CallStore
) -> None:
    for form in (callback("exploded"), {"CallStatus": "completed"}, callback("")):
        assert (await post(client, form)).status_code == 204
    assert await calls.get(CALL_SID) is None
    odd = callback("in-progress", CallDuration="-4", Timestamp="yesterday")
    assert (await post(client, odd)).status_code == 204
    record = await calls.get(CALL_SID)
    assert record is not None and record.status is CallStatus.IN_PROGRESS
    assert record.duration_seconds is None


async def test_bad_or_missing_signature_is_refused(
    client: httpx.AsyncClient, calls: CallStore, metrics: Metrics
) -> None:
    form = callback("completed", CallDuration="10")
    missing = await client.post(PATH, data=form)
    assert missing.status_code == 403
    forged = await client.post(PATH, data=form, headers=signed(form, token="0" * 32))
    assert forged.status_code == 403
    tampered = dict(form, CallStatus="busy")  # signed as "completed"
    assert (await client.post(PATH, data=tampered, headers=signed(form))).status_code == 403
    other_path = await client.post(
        PATH + "?x=1", data=form, headers=signed(form)
    )  # the URL is part of what Twilio signs
    assert other_path.status_code == 403
    assert await calls.get(CALL_SID) is None
    assert metrics.rejected_webhooks.labels("twilio", "signature")._value.get() == 4


async def test_refused_without_twilio_settings(calls: CallStore, tmp_path: Path) -> None:
    application = FastAPI()
    application.include_router(voice_status.router)
    unconfigured = Settings(_env_file=None, env="development", var_dir=tmp_path)
    application.state.services = SimpleNamespace(
        settings=unconfigured, metrics=Metrics(), calls=calls
    )
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        form = callback("completed")
        response = await http.post(PATH, data=form, headers=signed(form))
    assert response.status_code == 403


def test_parse_reads_twilio_fields() -> None:
    report = voice_status.parse_call_status_form(
        callback("No-Answer", Timestamp="Tue, 01 Dec 2026 18:00:00 +0900", SequenceNumber="2")
    )
    assert report is not None and report.status is CallStatus.NO_ANSWER
    assert report.at is not None and report.at.isoformat() == "2026-12-01T18:00:00+09:00"
    assert report.sequence == 2 and report.duration_seconds is None
    assert voice_status.parse_call_status_form({"CallSid": CALL_SID}) is None
    assert voice_status.parse_call_status_form(callback("completed", CallSid="x" * 65)) is None
