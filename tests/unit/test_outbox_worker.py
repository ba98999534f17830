"""The outbox worker against a local HTTP double of Twilio's REST API, with the real SDK.

Time is controlled by passing ``now`` to ``deliver_due``; no test sleeps to wait.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from assistant.config import Settings, to_async_url
from assistant.metrics import Metrics
from assistant.outbox import (
    Outbox,
    OutboxPolicy,
    OutboxStatus,
    SendError,
    SendOutcome,
    SqlOutboxStore,
    TwilioCredentials,
    TwilioSmsSender,
    split_for_sms,
)
from assistant.outbox.base import utcnow
from assistant.outbox.sender import missing_twilio_settings
from assistant.store.migrate import upgrade
from channels.sms.segments import segment_count
from tests.twilio_double import TwilioDouble

FROM = "+15005550006"
CITIZEN = "+821012345678"
PUBLIC = "https://sotong.example"
CALLBACK = f"{PUBLIC}/webhooks/twilio/sms/status"
POLICY = OutboxPolicy(
    max_attempts=4,
    base_delay_seconds=1.0,
    max_delay_seconds=8.0,
    max_age_seconds=3600.0,
    lease_seconds=30.0,
    poll_seconds=60.0,
)


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as running:
        yield running


@pytest.fixture
async def database_url(tmp_path: Path) -> str:
    url = to_async_url(f"sqlite:///{tmp_path / 'gateway.db'}")
    await asyncio.to_thread(upgrade, url)
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlOutboxStore]:
    opened = SqlOutboxStore.from_url(database_url)
    try:
        yield opened
    finally:
        await opened.close()


class OptOuts:
    """The per-number opt-out state the worker asks (a stand-in for the SMS state store)."""

    def __init__(self, *numbers: str) -> None:
        self.numbers = set(numbers)
        self.asked: list[str] = []
        self.unsubscribed: list[str] = []

    async def is_opted_out(self, phone: str) -> bool:
        self.asked.append(phone)
        return phone in self.numbers

    async def carrier_stop(self, phone: str) -> None:
        self.unsubscribed.append(phone)
        self.numbers.add(phone)


def sender_for(double: TwilioDouble, timeout: float = 5.0) -> TwilioSmsSender:
    credentials = TwilioCredentials(double.account_sid, double.auth_token, FROM)
    return TwilioSmsSender(credentials, api_url=double.url, timeout_seconds=timeout)


def outbox_for(
    store: SqlOutboxStore,
    double: TwilioDouble,
    opt_outs: OptOuts | None = None,
    metrics: Metrics | None = None,
    policy: OutboxPolicy = POLICY,
) -> Outbox:
    opt_outs = opt_outs or OptOuts()
    return Outbox(
        store,
        sender_for(double),
        is_suppressed=opt_outs.is_opted_out,
        policy=policy,
        status_callback_url=CALLBACK,
        metrics=metrics,
        on_unsubscribed=opt_outs.carrier_stop,
        rng=random.Random(4),
    )


def later(seconds: float) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=seconds)


async def test_sends_exactly_what_was_stored(store: SqlOutboxStore, double: TwilioDouble) -> None:
    metrics = Metrics()
    opt_outs = OptOuts()
    outbox = outbox_for(store, double, opt_outs, metrics)
    ids = await outbox.send_sms(CITIZEN, "수어 통역사가 곧 연결됩니다.", kind="handoff")
    assert len(ids) == 1
    assert double.received == []  # stored first; nothing is sent before the worker runs
    report = await outbox.deliver_due()
    assert report.sent == ids
    (received,) = double.received
    assert (received.to, received.from_, received.body) == (
        CITIZEN,
        FROM,
        "수어 통역사가 곧 연결됩니다.",
    )
    assert received.status_callback == f"{CALLBACK}?outbox_id={ids[0]}"
    assert received.account_sid == double.account_sid
    assert opt_outs.asked == [CITIZEN]
    message = await store.get(ids[0])
    assert message is not None and message.status is OutboxStatus.SENT
    assert message.provider_sid == received.sid and message.sent_at is not None
    assert metrics.outbox_sent.labels("handoff")._value.get() == 1
    assert metrics.outbox_queued._value.get() == 0
    assert (await outbox.deliver_due()).handled == 0  # nothing is sent twice


async def test_long_text_goes_as_ordered_sms_sized_messages(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    outbox = outbox_for(store, double)
    text = " ".join(
        f"{n}번째 안내입니다. 주민센터에 신분증을 가지고 오시면 담당자가 도와드립니다."
        for n in range(1, 8)
    )
    ids = await outbox.send_sms(CITIZEN, text, kind="reminder")
    assert len(ids) > 2
    assert (await outbox.deliver_due()).sent == ids
    bodies = [message.body for message in double.received]
    assert all(segment_count(body) <= POLICY.segments_per_message for body in bodies)
    assert " ".join(bodies) == text  # every part, in order, cut between sentences
    assert all(body.endswith(".") for body in bodies)


async def test_dedupe_key_sends_once(store: SqlOutboxStore, double: TwilioDouble) -> None:
    outbox = outbox_for(store, double)
    first = await outbox.send_sms(CITIZEN, "내일 마감입니다.", kind="reminder", dedupe_key="r:1")
    await outbox.deliver_due()
    again = await outbox.send_sms(CITIZEN, "내일 마감입니다.", kind="reminder", dedupe_key="r:1")
    await outbox.deliver_due()
    assert first == again and len(double.received) == 1


async def test_rrn_is_masked_before_it_is_stored_or_sent(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    outbox = outbox_for(store, double)
    (message_id,) = await outbox.send_sms(CITIZEN, "번호 900101-1234567 확인", kind="answer")
    await outbox.deliver_due()
    stored = await store.get(message_id)
    assert stored is not None and "1234567" not in stored.body
    assert "1234567" not in double.received[0].body


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_transient_failures_are_retried_with_backoff(
    store: SqlOutboxStore, double: TwilioDouble, status: int
) -> None:
    metrics = Metrics()
    outbox = outbox_for(store, double, metrics=metrics)
    (message_id,) = await outbox.send_sms(CITIZEN, "안내 문자", kind="answer")
    double.fail_next(2, status)
    start = utcnow()

    first = await outbox.deliver_due(now=start)
    assert first.retried == [message_id]
    after_one = await store.get(message_id)
    assert after_one is not None and after_one.status is OutboxStatus.QUEUED
    delay = (after_one.next_attempt_at - start).total_seconds()
    assert 0.5 <= delay <= 1.0  # base 1 s, half of it jittered
    assert after_one.last_error is not None and str(status) in after_one.last_error

    assert (await outbox.deliver_due(now=start)).handled == 0  # not due yet

    second = await outbox.deliver_due(now=after_one.next_attempt_at)
    assert second.retried == [message_id]
    after_two = await store.get(message_id)
    assert after_two is not None
    delay = (after_two.next_attempt_at - after_one.next_attempt_at).total_seconds()
    assert 1.0 <= delay <= 2.0  # doubled

    third = await outbox.deliver_due(now=after_two.next_attempt_at)
    assert third.sent == [message_id]
    assert double.requests == 3 and len(double.received) == 1
    sent = await store.get(message_id)
    assert sent is not None and sent.status is OutboxStatus.SENT and sent.attempts == 3
    assert metrics.outbox_retried.labels("answer")._value.get() == 2


async def test_gives_up_after_max_attempts(store: SqlOutboxStore, double: TwilioDouble) -> None:
    metrics = Metrics()
    outbox = outbox_for(store, double, metrics=metrics)
    (message_id,) = await outbox.send_sms(CITIZEN, "안내", kind="answer")
    double.fail_next(10, 503)
    when = utcnow()
    for _ in range(POLICY.max_attempts):
        await outbox.deliver_due(now=when)
        message = await store.get(message_id)
        assert message is not None
        when = message.next_attempt_at
    assert message.status is OutboxStatus.FAILED and message.attempts == POLICY.max_attempts
    assert message.last_error is not None and "gave up" in message.last_error
    assert double.requests == POLICY.max_attempts
    assert metrics.outbox_failed.labels("answer")._value.get() == 1


async def test_too_old_message_is_failed_not_sent(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    outbox = outbox_for(store, double)
    (message_id,) = await outbox.send_sms(CITIZEN, "오래된 안내", kind="reminder")
    report = await outbox.deliver_due(now=later(POLICY.max_age_seconds + 1))
    assert report.failed == [message_id] and double.requests == 0


async def test_timeout_is_transient(store: SqlOutboxStore, double: TwilioDouble) -> None:
    outbox = Outbox(
        store,
        sender_for(double, timeout=0.2),
        is_suppressed=OptOuts().is_opted_out,
        policy=POLICY,
    )
    (message_id,) = await outbox.send_sms(CITIZEN, "안내", kind="answer")
    double.hang_next(1, 1.5)
    report = await outbox.deliver_due()
    assert report.retried == [message_id]
    message = await store.get(message_id)
    assert message is not None and message.last_error == "timed out"


@pytest.mark.parametrize("code", [21211, 21614])
async def test_client_errors_fail_without_retry(
    store: SqlOutboxStore, double: TwilioDouble, code: int
) -> None:
    outbox = outbox_for(store, double)
    (message_id,) = await outbox.send_sms("+8200", "안내", kind="answer")
    double.fail_next(1, 400, code)
    report = await outbox.deliver_due()
    assert report.failed == [message_id]
    message = await store.get(message_id)
    assert message is not None and message.status is OutboxStatus.FAILED
    assert message.error_code == str(code)
    assert (await outbox.deliver_due(now=later(600))).handled == 0


async def test_carrier_unsubscribed_21610_is_suppressed_and_reported(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    metrics = Metrics()
    opt_outs = OptOuts()
    outbox = outbox_for(store, double, opt_outs, metrics)
    text = "다음 안내입니다. " * 30  # several messages
    ids = await outbox.send_sms(CITIZEN, text, kind="reminder")
    assert len(ids) > 1
    double.fail_next(1, 400, 21610)
    report = await outbox.deliver_due()
    assert report.suppressed == ids  # the first by Twilio's refusal, the rest by opt-out
    assert opt_outs.unsubscribed == [CITIZEN]
    assert double.requests == 1 and double.received == []
    first = await store.get(ids[0])
    assert first is not None and first.status is OutboxStatus.SUPPRESSED
    assert first.error_code == "21610"
    assert metrics.outbox_suppressed.labels("reminder")._value.get() == len(ids)


async def test_opted_out_number_is_never_sent_to(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    opt_outs = OptOuts(CITIZEN)
    outbox = outbox_for(store, double, opt_outs)
    (suppressed,) = await outbox.send_sms(CITIZEN, "안내", kind="interpreter")
    (sent,) = await outbox.send_sms("+821099998888", "안내", kind="interpreter")
    report = await outbox.deliver_due()
    assert report.suppressed == [suppressed] and report.sent == [sent]
    assert [message.to for message in double.received] == ["+821099998888"]
    message = await store.get(suppressed)
    assert message is not None and message.status is OutboxStatus.SUPPRESSED


async def test_opt_out_is_checked_right_before_each_send(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    opt_outs = OptOuts()
    outbox = outbox_for(store, double, opt_outs)
    (queued,) = await outbox.send_sms(CITIZEN, "안내", kind="reminder")
    opt_outs.numbers.add(CITIZEN)  # the citizen sends STOP after the message was queued
    report = await outbox.deliver_due()
    assert report.suppressed == [queued] and double.requests == 0


async def test_failing_opt_out_check_holds_the_message(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    async def broken(phone: str) -> bool:
        raise RuntimeError("state store down")

    outbox = Outbox(store, sender_for(double), is_suppressed=broken, policy=POLICY)
    (message_id,) = await outbox.send_sms(CITIZEN, "안내", kind="answer")
    report = await outbox.deliver_due()
    assert report.retried == [message_id] and double.requests == 0


async def test_survives_twilio_outage_and_gateway_restart(
    database_url: str, double: TwilioDouble
) -> None:
    double.stop()  # Twilio unreachable
    before = SqlOutboxStore.from_url(database_url)
    outbox = outbox_for(before, double)
    (message_id,) = await outbox.send_sms(CITIZEN, "상담 예약이 확정되었습니다.", kind="handoff")
    report = await outbox.deliver_due()
    assert report.retried == [message_id]
    await before.close()  # the gateway stops

    double.start()
    after = SqlOutboxStore.from_url(database_url)  # a new process on the same file
    try:
        restarted = outbox_for(after, double)
        message = await after.get(message_id)
        assert message is not None and message.status is OutboxStatus.QUEUED
        report = await restarted.deliver_due(now=message.next_attempt_at)
        assert report.sent == [message_id]
        assert [m.body for m in double.received] == ["상담 예약이 확정되었습니다."]
        assert (await restarted.deliver_due(now=later(3600))).handled == 0
        delivered = await after.apply_provider_status(double.received[0].sid, "delivered")
        assert delivered is not None and delivered.status is OutboxStatus.DELIVERED
    finally:
        await after.close()


async def test_message_of_a_worker_that_died_mid_send_is_sent_after_its_lease(
    database_url: str, double: TwilioDouble
) -> None:
    crashed = SqlOutboxStore.from_url(database_url)
    await outbox_for(crashed, double).send_sms(CITIZEN, "안내", kind="answer")
    (held,) = await crashed.claim_due(limit=5, lease_seconds=POLICY.lease_seconds)
    await crashed.close()  # died holding the claim

    restarted_store = SqlOutboxStore.from_url(database_url)
    try:
        restarted = outbox_for(restarted_store, double)
        assert (await restarted.deliver_due()).handled == 0  # lease still held
        report = await restarted.deliver_due(now=later(POLICY.lease_seconds + 1))
        assert report.sent == [held.id] and len(double.received) == 1
    finally:
        await restarted_store.close()


async def test_without_twilio_settings_messages_are_kept_and_it_says_so(
    store: SqlOutboxStore, double: TwilioDouble, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        twilio_account_sid=None,
        twilio_auth_token=None,
        twilio_phone_number=None,
        var_dir=tmp_path,
    )
    assert missing_twilio_settings(settings) == [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_PHONE_NUMBER",
    ]
    assert TwilioSmsSender.from_settings(settings) is None
    outbox = Outbox.from_settings(settings, store, is_suppressed=OptOuts().is_opted_out)
    assert not outbox.can_send
    with capture_logs() as logs:
        (message_id,) = await outbox.send_sms(CITIZEN, "안내", kind="handoff")
        report = await outbox.deliver_due()
    assert report.handled == 0 and double.requests == 0
    message = await store.get(message_id)
    assert message is not None and message.status is OutboxStatus.QUEUED
    warning = next(log for log in logs if log["event"] == "outbox.queued_cannot_send")
    assert warning["log_level"] == "warning" and "TWILIO_AUTH_TOKEN" in warning["missing"]
    assert all("안내" not in str(log) for log in logs)  # bodies are never logged


async def test_settings_build_a_sender_pointed_at_the_double(
    store: SqlOutboxStore, double: TwilioDouble, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        twilio_account_sid=double.account_sid,
        twilio_auth_token=double.auth_token,
        twilio_phone_number=FROM,
        public_url=PUBLIC + "/",
        twilio_api_url=double.url,
        var_dir=tmp_path,
    )
    outbox = Outbox.from_settings(settings, store, is_suppressed=OptOuts().is_opted_out)
    (message_id,) = await outbox.send_sms(CITIZEN, "안내", kind="handoff")
    assert (await outbox.deliver_due()).sent == [message_id]
    assert double.received[0].status_callback == f"{CALLBACK}?outbox_id={message_id}"


async def test_wrong_credentials_are_retried_not_failed(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    wrong = TwilioSmsSender(
        TwilioCredentials(double.account_sid, "not-the-token", FROM), api_url=double.url
    )
    outbox = Outbox(store, wrong, is_suppressed=OptOuts().is_opted_out, policy=POLICY)
    (message_id,) = await outbox.send_sms(CITIZEN, "안내", kind="answer")
    report = await outbox.deliver_due()
    assert report.retried == [message_id] and double.received == []
    message = await store.get(message_id)
    assert message is not None and message.error_code == "20003"


async def test_run_sends_when_woken_and_stops_cleanly(
    store: SqlOutboxStore, double: TwilioDouble
) -> None:
    outbox = outbox_for(store, double)  # polls only every 60 s: only the wake-up can send
    task = outbox.start()
    try:
        (message_id,) = await outbox.send_sms(CITIZEN, "안내", kind="answer")
        async with asyncio.timeout(10):
            while (message := await store.get(message_id)) and message.status is not (
                OutboxStatus.SENT
            ):
                await asyncio.sleep(0.02)
    finally:
        await outbox.stop(grace_seconds=5)
    assert task.done() and not task.cancelled() and task.exception() is None
    assert len(double.received) == 1


def test_split_for_sms() -> None:
    assert split_for_sms("   ", 2) == []
    assert split_for_sms("Hello", 1) == ["Hello"]
    korean = "가" * 70
    assert split_for_sms(korean, 1) == [korean]
    parts = split_for_sms("가나다라 " * 40, 1)
    assert len(parts) > 1 and all(segment_count(part) == 1 for part in parts)
    mixed = "Your appointment 상담 is tomorrow. " * 12
    assert all(segment_count(part) <= 2 for part in split_for_sms(mixed, 2))


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = OutboxPolicy(base_delay_seconds=2.0, max_delay_seconds=60.0)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (30, 60.0)]:
        delays = [policy.backoff(attempts, rng) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays), attempts
        assert len(set(delays)) > 1  # jittered


def test_send_error_classification() -> None:
    from twilio.base.exceptions import TwilioRestException

    from assistant.outbox.sender import classify

    def outcome(status: int, code: int | None) -> SendOutcome:
        return classify(TwilioRestException(status, "uri", "msg", code)).outcome

    assert outcome(500, 500) is SendOutcome.TRANSIENT
    assert outcome(503, None) is SendOutcome.TRANSIENT
    assert outcome(429, 20429) is SendOutcome.TRANSIENT
    assert outcome(401, 20003) is SendOutcome.TRANSIENT
    assert outcome(400, 21211) is SendOutcome.PERMANENT
    assert outcome(404, 20404) is SendOutcome.PERMANENT
    assert outcome(400, 21610) is SendOutcome.UNSUBSCRIBED
    error = classify(TwilioRestException(500, "uri", "msg", 500))
    assert isinstance(error, SendError) and error.code is None  # the SDK's echo of 500
