"""One contract suite for every CallStore implementation and database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from assistant.calls import CallStatus, CallStore, SqlCallStore, StreamClaim, parse_call_status
from assistant.config import to_async_url
from assistant.store import StoreError
from assistant.store.migrate import alembic_config, upgrade
from assistant.store.models import Base
from tests.clock import ManualClock

CALLER = "+821012345678"
OTHER = "+821098765432"
OURS = "+15005550006"
SID = "CA" + "0" * 32
SID2 = "CA" + "1" * 32
T0 = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def calls_url(migrated_url: str) -> str:
    """A migrated SQLite and then PostgreSQL database (``migrated_url`` in conftest)."""
    return migrated_url


@pytest.fixture
async def calls(calls_url: str, clock: ManualClock) -> AsyncIterator[CallStore]:
    implementation = SqlCallStore.from_url(calls_url, clock=clock)
    try:
        yield implementation
    finally:
        await implementation.close()


async def start(calls: CallStore, sid: str = SID, caller: str = CALLER) -> None:
    await calls.call_started(
        sid, caller=caller, called=OURS, conversation_id="c" * 32, language="ko"
    )


# ---- the normal life of a call ----------------------------------------------------------
async def test_a_call_from_start_to_completed(calls: CallStore, clock: ManualClock) -> None:
    assert await calls.get(SID) is None
    await start(calls)
    record = await calls.get(SID)
    assert record is not None
    assert record.status is CallStatus.IN_PROGRESS
    assert (record.caller, record.called, record.language) == (CALLER, OURS, "ko")
    assert record.conversation_id == "c" * 32
    assert record.started_at == T0 and record.ended_at is None
    assert (record.turns, record.handoff, record.outcome) == (0, False, None)
    clock.advance(95)
    ended = await calls.stream_ended(SID, outcome="caller_hung_up", turns=4)
    assert ended.outcome == "caller_hung_up" and ended.turns == 4
    assert ended.ended_at == clock.now and ended.status is CallStatus.IN_PROGRESS
    clock.advance(1)
    twilio_end = T0 + dt.timedelta(seconds=95.5)
    done = await calls.status_update(SID, "completed", 96, twilio_end)
    assert done is not None and done.status is CallStatus.COMPLETED
    assert done.duration_seconds == 96
    assert done.ended_at == twilio_end  # Twilio's final status is the real end
    assert done.created_at == T0 and done.updated_at == clock.now


async def test_status_before_the_stream_is_recorded_and_completed_later(
    calls: CallStore,
) -> None:
    early = await calls.status_update(SID, "ringing", caller=CALLER, called=OURS)
    assert early is not None and early.status is CallStatus.RINGING
    assert early.caller == CALLER and early.conversation_id is None and early.started_at is None
    await start(calls)
    record = await calls.get(SID)
    assert record is not None and record.status is CallStatus.IN_PROGRESS
    assert record.conversation_id == "c" * 32 and record.language == "ko"
    assert record.started_at == T0


async def test_stream_end_without_a_record_creates_one(calls: CallStore) -> None:
    record = await calls.stream_ended(SID, outcome="disconnected", turns=0, handoff=True)
    assert record.status is CallStatus.IN_PROGRESS and record.handoff
    assert record.outcome == "disconnected" and record.caller is None


async def test_handoff_is_never_unset(calls: CallStore) -> None:
    await start(calls)
    await calls.stream_ended(SID, outcome="transferred", turns=3, handoff=True)
    again = await calls.stream_ended(SID, outcome="disconnected", turns=3)
    assert again.handoff and again.outcome == "disconnected"


# ---- status callbacks: forward only, idempotent -------------------------------------
async def test_a_final_status_never_goes_back(calls: CallStore) -> None:
    await start(calls)
    await calls.status_update(SID, "completed", 30)
    for late in ("ringing", "in-progress", "queued", "busy", "failed", "canceled"):
        record = await calls.status_update(SID, late)
        assert record is not None and record.status is CallStatus.COMPLETED
    await start(calls)  # a late stream start does not reopen the call either
    record = await calls.get(SID)
    assert record is not None and record.status is CallStatus.COMPLETED


async def test_statuses_out_of_order_end_in_the_latest(calls: CallStore) -> None:
    for status in ("in-progress", "queued", "ringing"):
        await calls.status_update(SID, status)
    record = await calls.get(SID)
    assert record is not None and record.status is CallStatus.IN_PROGRESS


async def test_the_same_status_twice_changes_nothing_but_fills_gaps(
    calls: CallStore, clock: ManualClock
) -> None:
    first = await calls.status_update(SID, "completed")
    assert first is not None and first.duration_seconds is None and first.ended_at == T0
    clock.advance(5)
    again = await calls.status_update(SID, "completed", 42, clock.now, caller=CALLER)
    assert again is not None and again.status is CallStatus.COMPLETED
    assert again.duration_seconds == 42 and again.caller == CALLER
    assert again.ended_at == T0  # the first final status keeps its time
    third = await calls.status_update(SID, "completed", 99)
    assert third is not None and third.duration_seconds == 42  # filled once, never replaced


async def test_final_statuses_of_unanswered_calls(calls: CallStore) -> None:
    for sid, status in zip(
        ("CA1", "CA2", "CA3", "CA4"), ("busy", "no-answer", "failed", "canceled"), strict=True
    ):
        record = await calls.status_update(sid, status, caller=CALLER)
        assert record is not None and record.status.is_final and record.ended_at == T0
        assert record.status.value == status


async def test_unknown_status_is_ignored(calls: CallStore) -> None:
    assert await calls.status_update(SID, "exploded") is None
    assert await calls.get(SID) is None
    assert parse_call_status(" In-Progress ") is CallStatus.IN_PROGRESS
    assert parse_call_status("answered") is None


async def test_concurrent_statuses_settle_on_the_final_one(calls: CallStore) -> None:
    statuses = ["queued", "ringing", "in-progress", "completed", "ringing", "in-progress"] * 3
    await asyncio.gather(
        *(calls.status_update(SID, status, caller=CALLER) for status in statuses),
        start(calls),
    )
    record = await calls.get(SID)
    assert record is not None and record.status is CallStatus.COMPLETED
    assert record.conversation_id == "c" * 32


async def test_times_must_be_aware_and_values_sane(calls: CallStore) -> None:
    with pytest.raises(ValueError, match="timezone"):
        await calls.status_update(SID, "completed", at=dt.datetime(2026, 12, 1, 9))
    with pytest.raises(ValueError):
        await calls.status_update(SID, "completed", -1)
    with pytest.raises(ValueError):
        await calls.stream_ended(SID, outcome="", turns=1)
    with pytest.raises(ValueError):
        await calls.stream_ended(SID, outcome="x", turns=-1)
    with pytest.raises(ValueError):
        await calls.status_update("", "completed")
    assert await calls.get(SID) is None


async def test_times_in_other_zones_are_stored_as_utc(calls: CallStore) -> None:
    seoul = dt.timezone(dt.timedelta(hours=9))
    at = dt.datetime(2026, 12, 1, 18, 0, tzinfo=seoul)
    record = await calls.status_update(SID, "completed", 10, at)
    assert record is not None and record.ended_at == at
    assert record.ended_at.utcoffset() == dt.timedelta(0)


# ---- one media stream per call, while it is in progress (review L1) -------------------
async def test_a_call_s_stream_starts_once(calls: CallStore, clock: ManualClock) -> None:
    await start(calls)
    clock.advance(2)
    assert await calls.claim_stream(SID) is StreamClaim.CLAIMED
    record = await calls.get(SID)
    assert record is not None and record.stream_started_at == clock.now
    assert record.updated_at == clock.now and record.status is CallStatus.IN_PROGRESS
    clock.advance(1)
    assert await calls.claim_stream(SID) is StreamClaim.ALREADY_STARTED
    await start(calls)  # Twilio retrying the voice webhook does not reopen the stream
    await calls.stream_ended(SID, outcome="caller_hung_up", turns=2)
    assert await calls.claim_stream(SID) is StreamClaim.ALREADY_STARTED
    record = await calls.get(SID)
    assert record is not None and record.stream_started_at == T0 + dt.timedelta(seconds=2)
    assert record.outcome == "caller_hung_up"


async def test_no_stream_for_a_call_that_is_over_unanswered_or_unknown(calls: CallStore) -> None:
    assert await calls.claim_stream(SID) is StreamClaim.UNKNOWN
    assert await calls.get(SID) is None  # nothing is created
    await start(calls)
    await calls.status_update(SID, "completed", 5)
    assert await calls.claim_stream(SID) is StreamClaim.ENDED
    record = await calls.get(SID)
    assert record is not None and record.stream_started_at is None
    await calls.status_update(SID2, "ringing")  # a callback, but no webhook answered
    assert await calls.claim_stream(SID2) is StreamClaim.ENDED
    other = "CA" + "3" * 32  # a stream's end recorded first: the call is over
    await calls.stream_ended(other, outcome="disconnected", turns=0)
    assert await calls.claim_stream(other) is StreamClaim.ENDED
    with pytest.raises(ValueError):
        await calls.claim_stream("")


async def test_of_starts_at_once_one_is_claimed(calls: CallStore) -> None:
    await start(calls)
    claims = await asyncio.gather(*(calls.claim_stream(SID) for _ in range(8)))
    assert claims.count(StreamClaim.CLAIMED) == 1
    assert claims.count(StreamClaim.ALREADY_STARTED) == 7


# ---- FORGET ----------------------------------------------------------------------------
async def test_forget_erases_every_call_of_the_number(calls: CallStore, clock: ManualClock) -> None:
    await start(calls, SID)
    clock.advance(60)
    await start(calls, SID2)
    await start(calls, "CA" + "2" * 32, caller=OTHER)
    assert [r.call_sid for r in await calls.calls_of(CALLER)] == [SID2, SID]
    assert await calls.forget(CALLER) == 2
    assert await calls.get(SID) is None and await calls.calls_of(CALLER) == []
    assert len(await calls.calls_of(OTHER)) == 1
    assert await calls.forget(CALLER) == 0


# ---- health and schema -----------------------------------------------------------------
async def test_ping(calls: CallStore) -> None:
    await calls.ping()


async def test_ping_fails_without_schema(tmp_path: Path) -> None:
    empty = SqlCallStore.from_url(to_async_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(StoreError):
        await empty.ping()
    await empty.close()


def test_migration_0005_follows_0004_and_is_the_only_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    revision = script.get_revision("0005")
    assert revision is not None and revision.down_revision == "0004"
    assert len(script.get_heads()) == 1


def test_migration_0005_creates_drops_and_matches_the_model(tmp_path: Path) -> None:
    import assistant.calls.models  # noqa: F401  (registers the table on Base.metadata)

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        assert "calls" in inspect(engine).get_table_names()
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert [d for d in diffs if "calls" in repr(d)] == []
        command.downgrade(alembic_config(url), "0004")
        assert "calls" not in inspect(engine).get_table_names()
        command.upgrade(alembic_config(url), "head")
        assert "calls" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_migration_0012_follows_0011_and_is_the_only_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    revision = script.get_revision("0012")
    assert revision is not None and revision.down_revision == "0011"
    assert len(script.get_heads()) == 1


def test_migration_0012_adds_the_stream_start_and_goes_back(tmp_path: Path) -> None:
    import assistant.calls.models  # noqa: F401  (registers the table on Base.metadata)

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:

        def columns() -> set[str]:
            return {c["name"] for c in inspect(engine).get_columns("calls")}

        assert "stream_started_at" in columns()
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert [d for d in diffs if "calls" in repr(d)] == []
        command.downgrade(alembic_config(url), "0011")
        assert "stream_started_at" not in columns() and "call_sid" in columns()
        command.upgrade(alembic_config(url), "head")
        assert "stream_started_at" in columns()
    finally:
        engine.dispose()
