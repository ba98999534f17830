"""One contract suite for every SmsStateStore implementation and database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.config import to_async_url
from assistant.sms import ClaimTimeout, MessageStatus, RateDecision, SmsStateStore, SqlSmsStateStore
from assistant.store import StoreError
from tests.clock import ManualClock

PHONE = "+821012345678"
OTHER = "+821098765432"
SID = "SM" + "0" * 32


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2026, 11, 30, 9, 0, 0, tzinfo=dt.UTC))


@pytest.fixture
def state_url(migrated_url: str) -> str:
    """A migrated SQLite and then PostgreSQL database (``migrated_url`` in conftest)."""
    return migrated_url


@pytest.fixture
async def state(state_url: str, clock: ManualClock) -> AsyncIterator[SmsStateStore]:
    implementation = SqlSmsStateStore.from_url(state_url, clock=clock)
    try:
        yield implementation
    finally:
        await implementation.close()


# ---- opt-out ---------------------------------------------------------------------------
async def test_opt_out_and_back_in_with_times(state: SmsStateStore, clock: ManualClock) -> None:
    assert not await state.is_opted_out(PHONE)
    assert not (await state.number(PHONE)).opted_out
    await state.set_opted_out(PHONE, True)
    assert await state.is_opted_out(PHONE) and not await state.is_opted_out(OTHER)
    number = await state.number(PHONE)
    assert number.opted_out_at == clock.now and not number.provider_blocked
    clock.advance(60)
    await state.set_opted_out(PHONE, False)
    number = await state.number(PHONE)
    assert not number.opted_out and number.opted_in_at == clock.now
    assert number.opted_out_at is not None and number.opted_out_at < number.opted_in_at
    await state.set_opted_out(PHONE, True, provider_blocked=True)
    assert (await state.number(PHONE)).provider_blocked
    await state.set_opted_out(PHONE, False)
    assert not (await state.number(PHONE)).provider_blocked


async def test_restart_hint_is_claimed_once_per_opt_out(state: SmsStateStore) -> None:
    assert not await state.claim_restart_hint(PHONE)  # not opted out: nothing to say
    await state.set_opted_out(PHONE, True)
    claims = await asyncio.gather(*(state.claim_restart_hint(PHONE) for _ in range(5)))
    assert sorted(claims) == [False, False, False, False, True]
    assert not await state.claim_restart_hint(PHONE)
    await state.set_opted_out(PHONE, False)
    await state.set_opted_out(PHONE, True)
    assert await state.claim_restart_hint(PHONE)


# ---- pages ---------------------------------------------------------------------------
async def test_pages_are_taken_in_order_and_replaced(state: SmsStateStore) -> None:
    assert await state.take_page(PHONE) is None
    await state.save_pages(PHONE, [["a1", "a2"], ["b1"]])
    assert await state.take_page(PHONE) == ("a1", "a2")
    await state.save_pages(OTHER, [["other"]])
    assert await state.take_page(PHONE) == ("b1",)
    assert await state.take_page(PHONE) is None
    await state.save_pages(PHONE, [["x"], ["y"]])
    await state.save_pages(PHONE, [["z"]])  # a new answer replaces the old rest
    assert await state.take_page(PHONE) == ("z",)
    assert await state.take_page(PHONE) is None
    assert await state.take_page(OTHER) == ("other",)


async def test_opt_out_drops_kept_pages(state: SmsStateStore) -> None:
    await state.save_pages(PHONE, [["a"]])
    await state.set_opted_out(PHONE, True)
    assert await state.take_page(PHONE) is None


async def test_concurrent_takers_get_each_page_once(state: SmsStateStore) -> None:
    await state.save_pages(PHONE, [["1"], ["2"], ["3"]])
    taken = await asyncio.gather(*(state.take_page(PHONE) for _ in range(3)))
    assert sorted(page for page in taken if page is not None) == [("1",), ("2",), ("3",)]
    assert await state.take_page(PHONE) is None


async def test_pages_never_hold_a_registration_number(state: SmsStateStore) -> None:
    await state.save_pages(PHONE, [["번호 900101-1234567 확인"]])
    page = await state.take_page(PHONE)
    assert page is not None and "1234567" not in page[0] and "******-*******" in page[0]


# ---- rate limit ------------------------------------------------------------------------
async def test_rate_limit_one_notice_then_silence(state: SmsStateStore, clock: ManualClock) -> None:
    # Start of a fresh window, so the hand-moved clock decides every window boundary.
    clock.now = clock.now.replace(second=0)
    decisions = [await state.hit_rate(PHONE, 3, 60) for _ in range(6)]
    assert decisions == [RateDecision.ALLOWED] * 3 + [
        RateDecision.REFUSED_NOTIFY,
        RateDecision.REFUSED_SILENT,
        RateDecision.REFUSED_SILENT,
    ]
    assert await state.hit_rate(OTHER, 3, 60) is RateDecision.ALLOWED  # per number
    clock.advance(59)
    assert await state.hit_rate(PHONE, 3, 60) is RateDecision.REFUSED_SILENT
    clock.advance(1)  # the next window
    assert await state.hit_rate(PHONE, 3, 60) is RateDecision.ALLOWED


async def test_rate_limit_counts_concurrent_hits_exactly(state: SmsStateStore) -> None:
    decisions = await asyncio.gather(*(state.hit_rate(PHONE, 3, 3600) for _ in range(10)))
    assert decisions.count(RateDecision.ALLOWED) == 3
    assert decisions.count(RateDecision.REFUSED_NOTIFY) == 1
    assert decisions.count(RateDecision.REFUSED_SILENT) == 6


async def test_state_is_shared_by_store_instances(
    state: SmsStateStore, state_url: str, clock: ManualClock
) -> None:
    """Processes share the state through the database (here: two engines, two pools)."""
    second = SqlSmsStateStore.from_url(state_url, clock=clock)
    try:
        assert await state.hit_rate(PHONE, 1, 3600) is RateDecision.ALLOWED
        assert await second.hit_rate(PHONE, 1, 3600) is RateDecision.REFUSED_NOTIFY
        await state.set_opted_out(PHONE, True)
        assert await second.is_opted_out(PHONE)
        assert (await state.claim_message(SID, PHONE, wait_seconds=1, lease_seconds=60)).owned
        with pytest.raises(ClaimTimeout):
            await second.claim_message(SID, PHONE, wait_seconds=0, lease_seconds=60)
    finally:
        await second.close()


# ---- MessageSid idempotency ----------------------------------------------------------
async def test_claim_complete_and_repeat(state: SmsStateStore) -> None:
    first = await state.claim_message(SID, PHONE, wait_seconds=1, lease_seconds=60)
    assert first.owned
    record = await state.message(SID)
    assert record is not None and record.status is MessageStatus.PROCESSING
    await state.complete_message(SID, ["답 900101-1234567", "둘째"], "answered")
    again = await state.claim_message(SID, PHONE, wait_seconds=1, lease_seconds=60)
    assert not again.owned and again.outcome == "answered"
    assert again.messages == ("답 ******-*******", "둘째")
    record = await state.message(SID)
    assert record is not None and record.status is MessageStatus.DONE
    assert record.completed_at is not None


async def test_concurrent_deliveries_processed_once(
    state: SmsStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = asyncio.Event()
    original = state._get_message

    async def spying_get(message_sid: str):  # type: ignore[no-untyped-def]
        waiting.set()  # a loser is polling for the answer
        return await original(message_sid)

    monkeypatch.setattr(state, "_get_message", spying_get)
    processed: list[int] = []

    async def deliver(number: int) -> tuple[str, ...]:
        claim = await state.claim_message(SID, PHONE, wait_seconds=30, lease_seconds=60)
        if not claim.owned:
            return claim.messages
        processed.append(number)
        await waiting.wait()  # answer only once another delivery is waiting for it
        await state.complete_message(SID, ["the answer"], "answered")
        return ("the answer",)

    answers = await asyncio.gather(*(deliver(n) for n in range(4)))
    assert len(processed) == 1
    assert answers == [("the answer",)] * 4


async def test_released_claim_is_processed_again(state: SmsStateStore) -> None:
    assert (await state.claim_message(SID, PHONE, wait_seconds=1, lease_seconds=60)).owned
    await state.release_message(SID)
    assert await state.message(SID) is None
    assert (await state.claim_message(SID, PHONE, wait_seconds=1, lease_seconds=60)).owned


async def test_live_claim_times_out_and_stale_claim_is_taken_over(
    state: SmsStateStore, clock: ManualClock
) -> None:
    assert (await state.claim_message(SID, PHONE, wait_seconds=1, lease_seconds=60)).owned
    with pytest.raises(ClaimTimeout):
        await state.claim_message(SID, PHONE, wait_seconds=0, lease_seconds=60)
    clock.advance(61)  # the owner died (its lease ran out)
    taken = await state.claim_message(SID, PHONE, wait_seconds=0, lease_seconds=60)
    assert taken.owned
    with pytest.raises(ClaimTimeout):  # and the new owner's claim is live again
        await state.claim_message(SID, PHONE, wait_seconds=0, lease_seconds=60)


async def test_old_records_are_forgotten(state: SmsStateStore, clock: ManualClock) -> None:
    await state.claim_message(SID, PHONE, wait_seconds=1, lease_seconds=60)
    await state.complete_message(SID, ["a"], "answered")
    clock.advance(3600)
    newer = "SM" + "1" * 32
    await state.claim_message(newer, PHONE, wait_seconds=1, lease_seconds=60)
    assert await state.forget_messages(clock.now - dt.timedelta(seconds=60)) == 1
    assert await state.message(SID) is None and await state.message(newer) is not None


# ---- health --------------------------------------------------------------------------
async def test_ping(state: SmsStateStore) -> None:
    await state.ping()


async def test_ping_fails_without_schema(tmp_path: Path) -> None:
    empty = SqlSmsStateStore.from_url(to_async_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(StoreError):
        await empty.ping()
    await empty.close()
