"""``POST /webhooks/twilio/sms/status`` in the real app, with callbacks signed like Twilio's.

The app runs its lifespan (migrations, outbox worker) in-process; the outbox sends to the
Twilio double through the real SDK, and the double signs the status callbacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from assistant.app import create_app
from assistant.config import Settings
from assistant.outbox import OutboxMessage, OutboxStatus
from assistant.services import Services
from tests.twilio_double import ReceivedMessage, TwilioDouble

PUBLIC = "https://sotong.example"
CITIZEN = "+821012345678"


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as running:
        yield running


@pytest.fixture
async def app(double: TwilioDouble, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        public_url=PUBLIC,
        twilio_account_sid=double.account_sid,
        twilio_auth_token=double.auth_token,
        twilio_phone_number="+15005550006",
        twilio_api_url=double.url,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield http


def services(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


async def sent_message(app: FastAPI, double: TwilioDouble) -> tuple[OutboxMessage, ReceivedMessage]:
    """Queue one SMS and wait until the outbox (worker or this round) has sent it."""
    outbox = services(app).outbox
    (message_id,) = await outbox.send_sms(CITIZEN, "통역사가 연결되었습니다.", kind="handoff")
    async with asyncio.timeout(10):
        while True:
            await outbox.deliver_due()
            message = await outbox.store.get(message_id)
            assert message is not None
            if message.status is OutboxStatus.SENT:
                break
            await asyncio.sleep(0.02)
    (received,) = double.received
    return message, received


async def test_signed_delivery_report_updates_the_outbox(
    app: FastAPI, client: httpx.AsyncClient, double: TwilioDouble
) -> None:
    message, received = await sent_message(app, double)
    assert received.status_callback == f"{PUBLIC}/webhooks/twilio/sms/status?outbox_id={message.id}"
    path, form, headers = double.status_callback(received, "delivered")
    response = await client.post(path, data=form, headers=headers)
    assert response.status_code == 204 and response.content == b""
    updated = await services(app).outbox.store.get(message.id)
    assert updated is not None and updated.status is OutboxStatus.DELIVERED
    # A late "sent" after "delivered" is accepted and changes nothing.
    path, form, headers = double.status_callback(received, "sent")
    assert (await client.post(path, data=form, headers=headers)).status_code == 204
    kept = await services(app).outbox.store.get(message.id)
    assert kept is not None and kept.status is OutboxStatus.DELIVERED
    metrics = services(app).metrics
    assert metrics.outbox_status_reports.labels("delivered", "true")._value.get() == 1


async def test_failure_report_keeps_twilio_error_code(
    app: FastAPI, client: httpx.AsyncClient, double: TwilioDouble
) -> None:
    message, received = await sent_message(app, double)
    path, form, headers = double.status_callback(received, "undelivered", error_code=30005)
    assert (await client.post(path, data=form, headers=headers)).status_code == 204
    updated = await services(app).outbox.store.get(message.id)
    assert updated is not None and updated.status is OutboxStatus.UNDELIVERED
    assert updated.error_code == "30005"


async def test_unknown_sid_is_answered_and_logged(
    app: FastAPI, client: httpx.AsyncClient, double: TwilioDouble
) -> None:
    stranger = ReceivedMessage(
        sid="SM" + "0" * 32,
        account_sid=double.account_sid,
        to=CITIZEN,
        from_="+15005550006",
        body="",
        status_callback=f"{PUBLIC}/webhooks/twilio/sms/status",
        form={},
    )
    path, form, headers = double.status_callback(stranger, "delivered")
    response = await client.post(path, data=form, headers=headers)
    assert response.status_code == 204
    metrics = services(app).metrics
    assert metrics.outbox_status_reports.labels("delivered", "false")._value.get() == 1


async def test_bad_or_missing_signature_is_refused(
    app: FastAPI, client: httpx.AsyncClient, double: TwilioDouble
) -> None:
    message, received = await sent_message(app, double)
    path, form, headers = double.status_callback(received, "failed", error_code=30003)
    missing = await client.post(path, data=form)
    assert missing.status_code == 403
    forged = await client.post(path, data=form, headers={"X-Twilio-Signature": "AAAA" + "=" * 24})
    assert forged.status_code == 403
    tampered = dict(form, MessageStatus="delivered")  # signed as "failed"
    assert (await client.post(path, data=tampered, headers=headers)).status_code == 403
    other_url = await client.post(
        f"/webhooks/twilio/sms/status?outbox_id={message.id + 1}", data=form, headers=headers
    )
    assert other_url.status_code == 403  # the query is part of what Twilio signs
    unchanged = await services(app).outbox.store.get(message.id)
    assert unchanged is not None and unchanged.status is OutboxStatus.SENT
    metrics = services(app).metrics
    assert metrics.rejected_webhooks.labels("twilio", "signature")._value.get() == 4
