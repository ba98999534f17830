"""One contract suite for every OutboxStore implementation and database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.config import to_async_url
from assistant.outbox import OutboxError, OutboxMessage, OutboxStatus, OutboxStore, SqlOutboxStore

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
LEASE = 30.0


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def database_url(migrated_url: str) -> str:
    """A migrated SQLite and then PostgreSQL database (``migrated_url`` in conftest)."""
    return migrated_url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[OutboxStore]:
    implementation = SqlOutboxStore.from_url(database_url)
    try:
        yield implementation
    finally:
        await implementation.close()


async def claim(store: OutboxStore, seconds: float, limit: int = 10) -> list[OutboxMessage]:
    return await store.claim_due(limit=limit, lease_seconds=LEASE, now=at(seconds))


async def test_enqueue_stores_parts_in_order_and_masks_rrns(store: OutboxStore) -> None:
    stored = await store.enqueue(
        "+821011112222",
        ["첫째 900101-1234567", "둘째"],
        kind="handoff",
        conversation_id="c" * 32,
        now=T0,
    )
    assert [(m.part, m.parts) for m in stored] == [(1, 2), (2, 2)]
    assert stored[0].id < stored[1].id
    assert stored[0].body == "첫째 ******-*******"
    assert all(m.status is OutboxStatus.QUEUED and m.attempts == 0 for m in stored)
    assert stored[0].next_attempt_at == T0 and stored[0].created_at.tzinfo is not None
    assert stored[0].conversation_id == "c" * 32
    assert await store.messages() == stored
    assert await store.count_open() == 2
    with pytest.raises(ValueError):
        await store.enqueue("+821011112222", [], kind="handoff")


async def test_dedupe_key_returns_existing_rows(store: OutboxStore) -> None:
    first = await store.enqueue("+821011112222", ["a", "b"], kind="reminder", dedupe_key="r-1")
    again = await store.enqueue("+821011112222", ["other"], kind="reminder", dedupe_key="r-1")
    assert [m.id for m in again] == [m.id for m in first]
    assert len(await store.messages()) == 2
    racing = await asyncio.gather(
        *(
            store.enqueue("+821033334444", ["x"], kind="reminder", dedupe_key="r-2")
            for _ in range(5)
        )
    )
    assert len({tuple(m.id for m in result) for result in racing}) == 1
    assert len(await store.messages("+821033334444")) == 1


async def test_claim_takes_one_due_message_per_recipient_in_order(store: OutboxStore) -> None:
    a1, a2 = await store.enqueue("+82101", ["a1", "a2"], kind="answer", now=T0)
    (b1,) = await store.enqueue("+82102", ["b1"], kind="answer", now=T0)
    first = await claim(store, 1)
    assert [m.id for m in first] == [a1.id, b1.id]
    assert all(m.status is OutboxStatus.SENDING and m.attempts == 1 for m in first)
    assert first[0].lease_until == at(1 + LEASE) and first[0].claim_token
    # a2 waits while a1 is sending, and still waits while a1 waits for a retry.
    assert await claim(store, 2) == []
    assert await store.mark_sent(first[1], "SM" + "2" * 32, now=at(2))
    assert await store.schedule_retry(first[0], at=at(100), error="HTTP 503", now=at(2))
    assert await claim(store, 50) == []
    retried = await claim(store, 100)
    assert [m.id for m in retried] == [a1.id] and retried[0].attempts == 2
    assert retried[0].last_error == "HTTP 503"
    assert await store.mark_sent(retried[0], "SM" + "1" * 32, now=at(101))
    (second,) = await claim(store, 102)
    assert second.id == a2.id


async def test_finished_messages_no_longer_block_their_recipient(store: OutboxStore) -> None:
    messages = await store.enqueue("+82101", ["1", "2", "3", "4"], kind="answer", now=T0)
    (m1,) = await claim(store, 1)
    assert await store.mark_failed(m1, error="HTTP 400", error_code="21211", now=at(1))
    (m2,) = await claim(store, 2)
    assert await store.mark_suppressed(m2, now=at(2))
    (m3,) = await claim(store, 3)
    assert await store.mark_sent(m3, "SM" + "3" * 32, now=at(3))
    (m4,) = await claim(store, 4)
    assert [m.id for m in (m1, m2, m3, m4)] == [m.id for m in messages]
    statuses = {m.id: m.status for m in await store.messages()}
    assert [statuses[m.id] for m in messages] == [
        OutboxStatus.FAILED,
        OutboxStatus.SUPPRESSED,
        OutboxStatus.SENT,
        OutboxStatus.SENDING,
    ]
    failed = await store.get(m1.id)
    assert failed is not None and failed.error_code == "21211"
    assert await store.count_open() == 1


async def test_expired_lease_is_claimable_again(store: OutboxStore) -> None:
    (message,) = await store.enqueue("+82101", ["x"], kind="answer", now=T0)
    (held,) = await claim(store, 1)
    assert await claim(store, 1 + LEASE - 1) == []  # the lease still holds
    (reclaimed,) = await claim(store, 1 + LEASE + 1)  # its worker died
    assert reclaimed.id == message.id and reclaimed.attempts == 2
    assert reclaimed.claim_token != held.claim_token
    # The worker that lost its lease can no longer finish the message...
    assert not await store.schedule_retry(held, at=at(500), error="late", now=at(40))
    assert not await store.mark_failed(held, error="late", now=at(40))
    # ...but a Twilio acceptance is a fact and is recorded whoever holds the claim.
    assert await store.mark_sent(held, "SM" + "a" * 32, now=at(40))
    assert not await store.schedule_retry(reclaimed, at=at(500), error="x", now=at(41))
    final = await store.get(message.id)
    assert final is not None and final.status is OutboxStatus.SENT
    assert final.provider_sid == "SM" + "a" * 32 and final.claim_token is None


async def test_unclaimed_message_cannot_be_finished(store: OutboxStore) -> None:
    (message,) = await store.enqueue("+82101", ["x"], kind="answer", now=T0)
    with pytest.raises(ValueError):
        await store.mark_failed(message, error="never claimed")


async def test_concurrent_workers_never_claim_the_same_message(database_url: str) -> None:
    workers = [SqlOutboxStore.from_url(database_url) for _ in range(4)]
    try:
        recipients = [f"+8210{index:04d}" for index in range(12)]
        for recipient in recipients:
            await workers[0].enqueue(recipient, ["one", "two"], kind="answer", now=T0)
        results = await asyncio.gather(
            *(
                worker.claim_due(limit=12, lease_seconds=LEASE, now=at(1))
                for worker in workers
                for _ in range(2)
            )
        )
        claimed = [message for result in results for message in result]
        ids = [message.id for message in claimed]
        assert len(ids) == len(set(ids)), "a message was claimed twice"
        # Exactly the first part for each recipient: the second waits for the first.
        assert sorted(ids) == sorted(m.id for m in await workers[0].messages() if m.part == 1)
        assert all(m.attempts == 1 for m in claimed)
    finally:
        for worker in workers:
            await worker.close()


async def test_provider_status_only_moves_forward(store: OutboxStore) -> None:
    await store.enqueue("+82101", ["x"], kind="answer", now=T0)
    sid = "SM" + "b" * 32
    (held,) = await claim(store, 1)
    await store.mark_sent(held, sid, now=at(2))
    for reported in ("queued", "sending", "sent"):
        updated = await store.apply_provider_status(sid, reported, now=at(3))
        assert updated is not None and updated.status is OutboxStatus.SENT
    delivered = await store.apply_provider_status(sid, "delivered", now=at(4))
    assert delivered is not None and delivered.status is OutboxStatus.DELIVERED
    for late in ("sent", "queued", "failed", "undelivered", "accepted"):
        kept = await store.apply_provider_status(sid, late, error_code="30003", now=at(5))
        assert kept is not None and kept.status is OutboxStatus.DELIVERED, late
    read = await store.apply_provider_status(sid, "read", now=at(6))
    assert read is not None and read.status is OutboxStatus.DELIVERED
    assert await store.apply_provider_status("SM" + "0" * 32, "delivered") is None
    assert await store.apply_provider_status(sid, "no-such-status") is None


async def test_failure_reports_keep_error_code_and_delivery_still_wins(
    store: OutboxStore,
) -> None:
    await store.enqueue("+82101", ["x"], kind="answer", now=T0)
    sid = "SM" + "c" * 32
    (held,) = await claim(store, 1)
    await store.mark_sent(held, sid, now=at(2))
    undelivered = await store.apply_provider_status(
        sid, "undelivered", error_code="30005", now=at(3)
    )
    assert undelivered is not None and undelivered.status is OutboxStatus.UNDELIVERED
    assert undelivered.error_code == "30005"
    failed = await store.apply_provider_status(sid, "failed", now=at(4))
    assert failed is not None and failed.status is OutboxStatus.UNDELIVERED  # same rank
    late_receipt = await store.apply_provider_status(sid, "delivered", now=at(5))
    assert late_receipt is not None and late_receipt.status is OutboxStatus.DELIVERED


async def test_status_callback_before_the_sid_is_stored(store: OutboxStore) -> None:
    (message,) = await store.enqueue("+82101", ["x"], kind="answer", now=T0)
    sid = "SM" + "d" * 32
    (held,) = await claim(store, 1)
    # Twilio's callback overtakes the worker: only the outbox id in its URL finds it.
    assert await store.apply_provider_status(sid, "delivered", now=at(2)) is None
    early = await store.apply_provider_status(sid, "delivered", message_id=message.id, now=at(2))
    assert early is not None and early.status is OutboxStatus.DELIVERED
    assert early.provider_sid == sid and early.claim_token is None
    assert not await store.mark_sent(held, sid, now=at(3))  # too late to change anything
    final = await store.get(message.id)
    assert final is not None and final.status is OutboxStatus.DELIVERED
    # Another message's id with a foreign sid does not match.
    (other,) = await store.enqueue("+82102", ["y"], kind="answer", now=T0)
    (other_held,) = await claim(store, 4)
    await store.mark_sent(other_held, "SM" + "e" * 32, now=at(5))
    assert await store.apply_provider_status("SM" + "f" * 32, "failed", message_id=other.id) is None


async def test_timestamps_must_be_aware(store: OutboxStore) -> None:
    with pytest.raises(ValueError):
        await store.enqueue("+82101", ["x"], kind="answer", now=dt.datetime(2026, 1, 1))


async def test_ping(store: OutboxStore) -> None:
    await store.ping()


async def test_ping_fails_without_schema(tmp_path: Path) -> None:
    empty = SqlOutboxStore.from_url(to_async_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(OutboxError):
        await empty.ping()
    await empty.close()
