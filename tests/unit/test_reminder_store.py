"""One contract suite for every ReminderStore implementation and database, and the
migration that creates its tables."""

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

from assistant.config import to_async_url
from assistant.profiles import ProfileError
from assistant.reminders import (
    DRAFT_TTL,
    DraftStage,
    ReminderStatus,
    ReminderStore,
    SqlReminderStore,
)
from assistant.store import StoreError
from assistant.store.migrate import alembic_config, upgrade
from assistant.store.models import Base
from tests.clock import ManualClock

PHONE = "+821012345678"
OTHER = "+821098765432"
EVENT = dt.date(2026, 11, 19)
DUE = dt.date(2026, 12, 3)
T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def store(migrated_url: str, clock: ManualClock) -> AsyncIterator[ReminderStore]:
    url = migrated_url  # SQLite and then PostgreSQL (conftest)
    implementation = SqlReminderStore.from_url(url, clock)
    try:
        yield implementation
    finally:
        await implementation.close()


def hours(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


async def test_schedule_and_list(store: ReminderStore) -> None:
    seoul = dt.timezone(dt.timedelta(hours=9))
    at_nine = dt.datetime(2026, 11, 30, 9, 0, tzinfo=seoul)
    made = await store.schedule(
        PHONE, "move_in_report", EVENT, DUE, [hours(48), at_nine, at_nine], "ko"
    )
    assert [r.send_at for r in made] == [hours(48), at_nine]  # sorted, duplicates merged
    assert len({r.id for r in made}) == 2
    assert all(r.status == ReminderStatus.SCHEDULED for r in made)
    assert made[1].send_at.utcoffset() == dt.timedelta(0)  # stored and returned in UTC
    listed = await store.reminders(PHONE)
    assert listed == made
    assert (listed[0].event_date, listed[0].due_date, listed[0].language) == (EVENT, DUE, "ko")
    assert await store.get(made[0].id) == made[0]
    assert await store.reminders(OTHER) == []


async def test_due_lists_only_scheduled_reminders_whose_time_has_come(
    store: ReminderStore,
) -> None:
    early, late = await store.schedule(
        PHONE, "move_in_report", EVENT, DUE, [hours(1), hours(5)], "ko"
    )
    (other,) = await store.schedule(OTHER, "birth_report", EVENT, DUE, [hours(2)], "en")
    assert await store.due(hours(0.5)) == []
    assert [r.id for r in await store.due(hours(1))] == [early.id]
    assert [r.id for r in await store.due(hours(6))] == [early.id, other.id, late.id]
    assert [r.id for r in await store.due(hours(6), limit=1)] == [early.id]
    await store.mark_sent(early.id)
    await store.cancel_all(OTHER)
    assert [r.id for r in await store.due(hours(6))] == [late.id]
    # A non-UTC "now" means the same instant.
    seoul_now = hours(6).astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert [r.id for r in await store.due(seoul_now)] == [late.id]


async def test_mark_sent_and_expire_move_on_only_from_scheduled(
    store: ReminderStore, clock: ManualClock
) -> None:
    first, second, third = await store.schedule(
        PHONE, "move_in_report", EVENT, DUE, [hours(1), hours(2), hours(3)], "ko"
    )
    clock.now = hours(1)
    assert await store.mark_sent(first.id) is True
    assert await store.mark_sent(first.id) is False
    sent = await store.get(first.id)
    assert sent is not None and sent.status == ReminderStatus.SENT and sent.sent_at == hours(1)
    assert await store.expire(second.id) is True
    assert await store.mark_sent(second.id) is False
    await store.cancel_all(PHONE)
    assert await store.mark_sent(third.id) is False
    assert [r.status for r in await store.reminders(PHONE)] == [
        ReminderStatus.SENT,
        ReminderStatus.EXPIRED,
        ReminderStatus.CANCELLED,
    ]


async def test_setting_up_a_service_again_replaces_its_scheduled_reminders(
    store: ReminderStore,
) -> None:
    old_sent, old_waiting = await store.schedule(
        PHONE, "move_in_report", EVENT, DUE, [hours(1), hours(2)], "ko"
    )
    (birth,) = await store.schedule(PHONE, "birth_report", EVENT, DUE, [hours(2)], "ko")
    await store.mark_sent(old_sent.id)
    (new,) = await store.schedule(
        PHONE, "move_in_report", EVENT, DUE + dt.timedelta(days=1), [hours(3)], "en"
    )
    status = {r.id: r.status for r in await store.reminders(PHONE)}
    assert status == {
        old_sent.id: ReminderStatus.SENT,
        old_waiting.id: ReminderStatus.CANCELLED,
        birth.id: ReminderStatus.SCHEDULED,
        new.id: ReminderStatus.SCHEDULED,
    }
    # No send times (the deadline is today and 09:00 is over): still replaces the old.
    assert await store.schedule(PHONE, "birth_report", EVENT, DUE, [], "ko") == []
    assert (await store.get(birth.id)).status == ReminderStatus.CANCELLED  # type: ignore[union-attr]


async def test_cancel_all_counts_only_scheduled_reminders(store: ReminderStore) -> None:
    a, _b = await store.schedule(PHONE, "move_in_report", EVENT, DUE, [hours(1), hours(2)], "ko")
    await store.schedule(PHONE, "birth_report", EVENT, DUE, [hours(3)], "ko")
    (other,) = await store.schedule(OTHER, "birth_report", EVENT, DUE, [hours(3)], "ko")
    await store.mark_sent(a.id)
    assert await store.cancel_all(PHONE) == 2
    assert await store.cancel_all(PHONE) == 0
    assert (await store.get(a.id)).status == ReminderStatus.SENT  # type: ignore[union-attr]
    assert (await store.get(other.id)).status == ReminderStatus.SCHEDULED  # type: ignore[union-attr]


async def test_drafts(store: ReminderStore, clock: ManualClock) -> None:
    assert await store.get_draft(PHONE) is None
    made = await store.set_draft(PHONE, DraftStage.CHOOSING, "ko")
    assert await store.get_draft(PHONE) == made
    assert made.service_id is None and made.attempts == 0 and made.updated_at == T0
    replaced = await store.set_draft(
        PHONE, DraftStage.AWAITING_DATE, "en", "move_in_report", attempts=1
    )
    assert await store.get_draft(PHONE) == replaced
    assert (replaced.stage, replaced.service_id, replaced.language) == (
        DraftStage.AWAITING_DATE,
        "move_in_report",
        "en",
    )
    assert await store.get_draft(OTHER) is None
    await store.clear_draft(PHONE)
    assert await store.get_draft(PHONE) is None
    await store.clear_draft(PHONE)  # clearing nothing is fine
    with pytest.raises(ValueError, match="service_id"):
        await store.set_draft(PHONE, DraftStage.AWAITING_DATE, "ko")


async def test_concurrent_draft_writes_leave_one_draft(store: ReminderStore) -> None:
    await asyncio.gather(
        *(store.set_draft(PHONE, DraftStage.CHOOSING, "ko", attempts=n) for n in range(5))
    )
    draft = await store.get_draft(PHONE)
    assert draft is not None and draft.attempts in range(5)


async def test_a_stale_draft_is_over(store: ReminderStore, clock: ManualClock) -> None:
    await store.set_draft(PHONE, DraftStage.CHOOSING, "ko")
    clock.now = T0 + DRAFT_TTL
    assert await store.get_draft(PHONE) is not None
    clock.now = T0 + DRAFT_TTL + dt.timedelta(seconds=1)
    assert await store.get_draft(PHONE) is None
    clock.now = T0
    assert await store.get_draft(PHONE) is None  # deleted, not just hidden


async def test_forget_deletes_everything_of_a_number(store: ReminderStore) -> None:
    a, _b = await store.schedule(PHONE, "move_in_report", EVENT, DUE, [hours(1), hours(2)], "ko")
    await store.mark_sent(a.id)
    await store.set_draft(PHONE, DraftStage.CHOOSING, "ko")
    (other,) = await store.schedule(OTHER, "birth_report", EVENT, DUE, [hours(1)], "ko")
    assert await store.forget(PHONE) == 3
    assert await store.reminders(PHONE) == []
    assert await store.get_draft(PHONE) is None
    assert await store.get(a.id) is None
    assert await store.reminders(OTHER) == [other]
    assert await store.forget(PHONE) == 0


async def test_ids_are_never_reused_after_erasure(store: ReminderStore) -> None:
    # Ids are in the outbox's dedupe keys: a reused id would look already sent.
    made = await store.schedule(PHONE, "move_in_report", EVENT, DUE, [hours(1), hours(2)], "ko")
    await store.forget(PHONE)
    (again,) = await store.schedule(PHONE, "move_in_report", EVENT, DUE, [hours(1)], "ko")
    assert again.id > max(r.id for r in made)


async def test_values_are_checked(store: ReminderStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.schedule(
            PHONE, "move_in_report", EVENT, DUE, [dt.datetime(2026, 11, 21, 9)], "ko"
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.due(dt.datetime(2026, 11, 21, 9))
    with pytest.raises(ProfileError, match=r"E\.164"):
        await store.schedule("010-1234-5678", "move_in_report", EVENT, DUE, [hours(1)], "ko")
    with pytest.raises(ProfileError, match="language"):
        await store.schedule(PHONE, "move_in_report", EVENT, DUE, [hours(1)], "fr")
    assert await store.reminders(PHONE) == []


async def test_ping(store: ReminderStore) -> None:
    await store.ping()


async def test_ping_fails_without_schema(tmp_path: Path) -> None:
    empty = SqlReminderStore.from_url(to_async_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(StoreError):
        await empty.ping()
    await empty.close()


def test_migration_0004_follows_0003_and_is_the_only_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    revision = script.get_revision("0004")
    assert revision is not None and revision.down_revision == "0003"
    assert len(script.get_heads()) == 1


def test_migration_0004_creates_and_drops_its_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    ours = {"citizen_profiles", "reminders", "reminder_drafts"}
    upgrade(url)
    engine = create_engine(url)
    try:
        assert ours <= set(inspect(engine).get_table_names())
        command.downgrade(alembic_config(url), "0003")
        assert not ours & set(inspect(engine).get_table_names())
        command.upgrade(alembic_config(url), "head")
        assert ours <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_0004_matches_the_models(tmp_path: Path) -> None:
    import assistant.profiles.models
    import assistant.reminders.models  # noqa: F401  (both register their tables)

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    ours = {"citizen_profiles", "reminders", "reminder_drafts"}
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    mine = [d for d in diffs if ours & _names(d)]
    assert mine == []


def _names(diff: object) -> set[str]:
    # A diff is a tuple (op, object or table name, …) or a list of them (column changes).
    if isinstance(diff, str):
        return {diff}
    if isinstance(diff, list | tuple):
        return set().union(*(_names(part) for part in diff)) if diff else set()
    names = {getattr(diff, "name", None), getattr(getattr(diff, "table", None), "name", None)}
    return {n for n in names if isinstance(n, str)}
