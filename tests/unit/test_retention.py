"""Retention periods and FORGET across the stores (review M7), on SQLite and PostgreSQL.

Every store is the real one on a migrated database; Rasa's tracker table is created as
Rasa's SQL tracker store creates it (``SQLTrackerStore.SQLEvent``), in the same
database — as in the compose deployment, where Rasa and the gateway share PostgreSQL.
tests/integration/test_forget.py checks the tracker part against a real Rasa server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from assistant.accounts import Passwords, Role, SqlAccountStore
from assistant.calls import SqlCallStore
from assistant.handoff import SqlHandoffQueue
from assistant.handoff.attempts import SqlCallbackLog
from assistant.handoff.records import CallbackState
from assistant.outbox import OutboxStatus, SqlOutboxStore
from assistant.retention import NumberErasure, Periods, Retention
from assistant.sms import SqlSmsStateStore
from assistant.store import SqlConversationStore
from assistant.store.sql import create_engine
from assistant.trackers import TrackerEraser
from tests.clock import ManualClock

T0 = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PHONE, OTHER = "+821012345678", "+821099998888"
PERIODS = Periods(
    conversations=90 * DAY, outbox=30 * DAY, calls=90 * DAY, audit=730 * DAY,
    sms_message_records=7 * DAY,
)  # fmt: skip


@dataclass
class Stores:
    clock: ManualClock
    conversations: SqlConversationStore
    outbox: SqlOutboxStore
    calls: SqlCallStore
    accounts: SqlAccountStore
    sms: SqlSmsStateStore
    trackers: TrackerEraser
    handoff: SqlHandoffQueue
    attempts: SqlCallbackLog
    url: str

    def retention(self) -> Retention:
        return Retention(
            PERIODS,
            self.conversations,
            self.trackers,
            self.outbox,
            self.calls,
            self.accounts,
            self.sms,
            self.handoff,
            self.attempts,
        )

    async def tracker(self, sender_ids: list[str]) -> None:
        engine = create_engine(self.url)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY,"
                    " sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,"
                    " timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255),"
                    " data TEXT)"
                    if self.url.startswith("postgresql")
                    else "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY,"
                    " sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,"
                    " timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255),"
                    " data TEXT)"
                )
            )
            for sender in sender_ids:
                await conn.execute(
                    text(
                        "INSERT INTO events (sender_id, type_name, data) VALUES (:s, 'user', '{}')"
                    ),
                    {"s": sender},
                )
        await engine.dispose()

    async def tracked(self) -> list[str]:
        engine = create_engine(self.url)
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT DISTINCT sender_id FROM events"))
            found = sorted(str(row[0]) for row in rows)
        await engine.dispose()
        return found


@pytest.fixture
async def stores(migrated_url: str) -> AsyncIterator[Stores]:
    clock = ManualClock(T0)
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    made = Stores(
        clock,
        SqlConversationStore.from_url(migrated_url, clock=clock),
        SqlOutboxStore.from_url(migrated_url),
        SqlCallStore.from_url(migrated_url, clock=clock),
        SqlAccountStore.from_url(migrated_url, clock=clock, passwords=cheap),
        SqlSmsStateStore.from_url(migrated_url, clock=clock),
        TrackerEraser.from_url(migrated_url),
        SqlHandoffQueue.from_url(migrated_url, clock=clock),
        SqlCallbackLog.from_url(migrated_url, clock=clock),
        migrated_url,
    )
    try:
        yield made
    finally:
        for store in (made.conversations, made.outbox, made.calls, made.accounts, made.sms):
            await store.close()
        await made.handoff.close()
        await made.attempts.close()
        await made.trackers.close()


async def test_each_kind_of_record_goes_after_its_period(stores: Stores) -> None:
    old = await stores.conversations.start_conversation("sms", PHONE, "ko")
    await stores.conversations.record_inbound(old.id, text="예전 질문", language="ko")
    revived = await stores.conversations.start_conversation("sms", OTHER, "ko")
    await stores.calls.call_started(
        "CA" + "1" * 32, caller=PHONE, called=None, conversation_id=old.id, language="ko"
    )
    staff = await stores.accounts.create("staff1", "long enough password", "직원", Role.STAFF)
    await stores.accounts.record_audit(staff, "walkin.start", old.id)
    sent = (await stores.outbox.enqueue(PHONE, ["답"], kind="answer", now=T0))[0]
    (claimed,) = await stores.outbox.claim_due(limit=1, lease_seconds=60, now=T0)
    assert claimed.id == sent.id
    await stores.outbox.mark_sent(claimed, "SM" + "2" * 32, now=T0)
    await stores.handoff.record_refusal("too_many", "webchat", "f" * 32)
    await stores.attempts.start(1, "kim")  # a call-back try: ids only, kept as calls are

    stores.clock.advance(60 * 86400)  # 60 days on: the other citizen writes again
    await stores.conversations.record_inbound(revived.id, text="다시 질문", language="ko")
    # A web chat citizen gave a number for a call-back; the request ended that day.
    web = await stores.conversations.start_conversation("webchat", "web", "ko")
    asked = await stores.conversations.request_handoff(web.id, "person", None, "webchat", "ko", {})
    await stores.handoff.set_callback(
        asked.id, state=CallbackState.CONFIRMED, number=OTHER, consent_at=stores.clock.now
    )
    assert await stores.handoff.abandon(asked.id)
    await stores.outbox.enqueue(OTHER, ["대기 중"], kind="answer", now=stores.clock.now)
    await stores.tracker([old.id, revived.id])

    now = T0 + 91 * DAY
    dropped = await stores.retention().run(now)
    assert dropped == {
        "conversations": 1,
        "outbox": 1,
        "calls": 1,
        "audit": 0,
        "sms_message_records": 0,
        "handoff_refusals": 1,
        "callback_numbers": 1,  # 31 days after its request ended
        "callback_attempts": 1,
    }
    ended = await stores.handoff.get(asked.id)
    assert ended is not None and ended.callback_number is None
    assert await stores.conversations.get_conversation(web.id) is not None  # kept 90 days
    assert await stores.conversations.get_conversation(old.id) is None
    assert await stores.conversations.get_conversation(revived.id) is not None
    assert await stores.tracked() == [revived.id]
    left = await stores.outbox.messages()
    assert [(m.recipient, m.status) for m in left] == [(OTHER, OutboxStatus.QUEUED)]
    assert await stores.calls.calls_of(PHONE) == []
    assert len(await stores.accounts.audit_log()) == 1  # kept two years
    assert (await stores.retention().run(T0 + 731 * DAY))["audit"] == 1
    assert await stores.retention().run(now) == dict.fromkeys(dropped, 0)


async def test_forget_erases_the_number_and_nothing_else(stores: Stores) -> None:
    mine = await stores.conversations.start_conversation("sms", PHONE, "ko")
    call = await stores.conversations.start_conversation("voice", PHONE, "ko")
    theirs = await stores.conversations.start_conversation("sms", OTHER, "ko")
    await stores.conversations.record_inbound(mine.id, text="주소는 종로구", language="ko")
    await stores.conversations.request_handoff(mine.id, "person", None, "sms", "ko", {})
    await stores.tracker([mine.id, call.id, theirs.id])
    await stores.outbox.enqueue(PHONE, ["늦은 답"], kind="answer", now=T0 + DAY)
    await stores.outbox.enqueue(OTHER, ["답"], kind="answer", now=T0 + DAY)
    await stores.sms.save_pages(PHONE, [["남은 쪽"]])
    await stores.sms.set_opted_out(PHONE, True)
    # The same number, typed on the web chat for a call-back (and another's number).
    web = await stores.conversations.start_conversation("webchat", "web", "ko")
    given = await stores.conversations.request_handoff(web.id, "person", None, "webchat", "ko", {})
    await stores.handoff.set_callback(given.id, state=CallbackState.CONFIRMED, number=PHONE)
    web2 = await stores.conversations.start_conversation("webchat", "web2", "ko")
    kept = await stores.conversations.request_handoff(web2.id, "person", None, "webchat", "ko", {})
    await stores.handoff.set_callback(kept.id, state=CallbackState.CONFIRMED, number=OTHER)

    erasure = NumberErasure(
        stores.conversations, stores.trackers, stores.outbox, stores.sms, stores.handoff
    )
    # Two conversations, one outbox message, one call-back number.
    assert await erasure.forget(PHONE) == 4
    forgotten, other = await stores.handoff.get(given.id), await stores.handoff.get(kept.id)
    assert forgotten is not None and forgotten.callback_number is None
    assert other is not None and other.callback_number == OTHER

    assert await stores.conversations.conversations_of_address(PHONE) == []
    assert await stores.tracked() == [theirs.id]
    assert [m.recipient for m in await stores.outbox.messages()] == [OTHER]
    assert await stores.sms.take_page(PHONE) is None
    assert await stores.sms.is_opted_out(PHONE)  # the citizen's instruction stays
    assert await stores.conversations.get_conversation(theirs.id) is not None
    assert await erasure.forget(PHONE) == 0


async def test_no_tracker_table_yet_is_nothing_to_erase(stores: Stores) -> None:
    assert await stores.trackers.erase(["a" * 32]) == 0
    assert await stores.trackers.erase([]) == 0
