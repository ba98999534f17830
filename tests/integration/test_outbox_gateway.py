"""The outbox in the real gateway process (`sotong serve`), against the Twilio double.

A message queued by an earlier gateway that could not reach Twilio is sent by the next
gateway process as soon as it starts, through the real SDK; the double then reports
delivery with a signed status callback. Rasa is not needed and not started.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.config import to_async_url
from assistant.outbox import OutboxStatus, SqlOutboxStore
from assistant.store.migrate import upgrade
from tests.stackutil import build_stack
from tests.twilio_double import TwilioDouble

CITIZEN = "+821012345678"
PUBLIC = "https://sotong.example"


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as running:
        yield running


async def _queue_before_start(url: str) -> int:
    await asyncio.to_thread(upgrade, url)
    store = SqlOutboxStore.from_url(url)
    try:
        (message,) = await store.enqueue(CITIZEN, ["대기 순서: 2번째입니다."], kind="handoff")
        return message.id
    finally:
        await store.close()


async def _status(url: str, message_id: int) -> OutboxStatus:
    store = SqlOutboxStore.from_url(url)
    try:
        message = await store.get(message_id)
        assert message is not None
        return message.status
    finally:
        await store.close()


def _eventually(url: str, message_id: int, wanted: OutboxStatus) -> OutboxStatus:
    """The message's status once it is ``wanted``, or what it is after 10 s."""
    deadline = time.monotonic() + 10
    status = asyncio.run(_status(url, message_id))
    while status is not wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        status = asyncio.run(_status(url, message_id))
    return status


def test_gateway_sends_kept_message_on_start_and_tracks_delivery(
    double: TwilioDouble, tmp_path: Path
) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    url = to_async_url(f"sqlite:///{var_dir / 'sotong.db'}")
    message_id = asyncio.run(_queue_before_start(url))

    stack = build_stack(
        tmp_path / "no-model-needed",
        var_dir,
        extra_env={
            "TWILIO_ACCOUNT_SID": double.account_sid,
            "TWILIO_AUTH_TOKEN": double.auth_token,
            "TWILIO_PHONE_NUMBER": "+15005550006",
            "SOTONG_PUBLIC_URL": PUBLIC,
            "SOTONG_TWILIO_API_URL": double.url,
            "SOTONG_OUTBOX_POLL_SECONDS": "0.5",
        },
    )
    gateway = stack.gateway
    gateway.start()
    try:
        gateway.wait_alive()
        deadline = time.monotonic() + 30
        while not double.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [(m.to, m.body) for m in double.received] == [(CITIZEN, "대기 순서: 2번째입니다.")]
        (received,) = double.received
        assert received.status_callback == (
            f"{PUBLIC}/webhooks/twilio/sms/status?outbox_id={message_id}"
        )
        # The double records the request before the gateway has read Twilio's answer
        # and stored it: SENT follows within moments (a gateway busy loading its speech
        # models at start-up took longer than an immediate read allowed).
        assert _eventually(url, message_id, OutboxStatus.SENT) is OutboxStatus.SENT

        failed = double.post_status(received, "failed", base_url=gateway.url, error_code=30003)
        assert failed.status_code == 204
        assert asyncio.run(_status(url, message_id)) is OutboxStatus.FAILED
        # Twilio's delivery receipt wins over an earlier failure report.
        assert double.post_status(received, "delivered", base_url=gateway.url).status_code == 204
        assert asyncio.run(_status(url, message_id)) is OutboxStatus.DELIVERED

        path, form, _ = double.status_callback(received, "undelivered")
        refused = httpx.post(gateway.url + path, data=form, timeout=10)
        assert refused.status_code == 403
        assert len(double.received) == 1  # sent once
    finally:
        gateway.stop()
