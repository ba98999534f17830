"""One contract suite for every ProfileStore implementation and database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.config import to_async_url
from assistant.profiles import (
    ACCESSIBILITY_KEYS,
    ProfileError,
    ProfileStore,
    SqlProfileStore,
)
from assistant.reminders import DraftStage, SqlReminderStore
from assistant.store import StoreError
from tests.clock import ManualClock

PHONE = "+821012345678"
OTHER = "+821098765432"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC))


@pytest.fixture
def url(migrated_url: str) -> str:
    """A migrated SQLite and then PostgreSQL database (``migrated_url`` in conftest)."""
    return migrated_url


@pytest.fixture
async def reminders(url: str, clock: ManualClock) -> AsyncIterator[SqlReminderStore]:
    store = SqlReminderStore.from_url(url, clock)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def store(
    url: str, clock: ManualClock, reminders: SqlReminderStore
) -> AsyncIterator[ProfileStore]:
    implementation = SqlProfileStore.from_url(url, clock, also_forget=[reminders])
    try:
        yield implementation
    finally:
        await implementation.close()


async def test_consent_creates_a_full_profile(store: ProfileStore, clock: ManualClock) -> None:
    saved = await store.save_with_consent(PHONE, "ko", {"deaf": True})
    loaded = await store.get(PHONE)
    assert loaded == saved
    assert loaded.language == "ko" and loaded.reminders_opt_in is False
    assert loaded.accessibility == {key: key == "deaf" for key in ACCESSIBILITY_KEYS}
    assert loaded.needs() == ["deaf"]
    assert loaded.consented_at == loaded.updated_at == clock.now
    assert loaded.consented_at.tzinfo is not None
    assert await store.get(OTHER) is None


async def test_without_consent_nothing_is_stored(store: ProfileStore) -> None:
    assert await store.update(PHONE, language="en", accessibility={"low_vision": True}) is None
    assert await store.update(PHONE, reminders_opt_in=True) is None
    assert await store.get(PHONE) is None


async def test_consent_again_replaces_and_records_the_new_consent_time(
    store: ProfileStore, clock: ManualClock
) -> None:
    first = await store.save_with_consent(
        PHONE, "ko", {"deaf": True, "easy_words": True}, reminders_opt_in=True
    )
    clock.advance(days=3)
    second = await store.save_with_consent(PHONE, "en", {"low_vision": True})
    assert second.consented_at == clock.now > first.consented_at
    assert second.needs() == ["low_vision"]  # the whole set of needs is replaced
    assert second.language == "en"
    assert second.reminders_opt_in is True  # not named: kept
    assert await store.get(PHONE) == second
    third = await store.save_with_consent(PHONE, "en", reminders_opt_in=False)
    assert third.reminders_opt_in is False and third.needs() == []


async def test_update_merges_flags_and_keeps_the_consent_time(
    store: ProfileStore, clock: ManualClock
) -> None:
    saved = await store.save_with_consent(PHONE, "ko", {"deaf": True})
    clock.advance(hours=1)
    updated = await store.update(PHONE, accessibility={"short_messages": True})
    assert updated is not None
    assert updated.needs() == ["deaf", "short_messages"]
    assert updated.consented_at == saved.consented_at
    assert updated.updated_at == clock.now
    updated = await store.update(PHONE, language="en", accessibility={"deaf": False})
    assert updated is not None and updated.language == "en"
    assert updated.needs() == ["short_messages"]
    assert await store.get(PHONE) == updated


async def test_concurrent_updates_lose_nothing(store: ProfileStore) -> None:
    await store.save_with_consent(PHONE, "ko")
    await asyncio.gather(
        *(store.update(PHONE, accessibility={key: True}) for key in ACCESSIBILITY_KEYS)
    )
    loaded = await store.get(PHONE)
    assert loaded is not None and loaded.needs() == list(ACCESSIBILITY_KEYS)


@pytest.mark.parametrize(
    "phone", ["01012345678", "+0101234567", "+82 10 1234 5678", "821012345678", "+82", ""]
)
async def test_phone_must_be_e164(store: ProfileStore, phone: str) -> None:
    with pytest.raises(ProfileError, match=r"E\.164"):
        await store.save_with_consent(phone, "ko")
    with pytest.raises(ProfileError, match=r"E\.164"):
        await store.get(phone)


async def test_unknown_accessibility_keys_and_values_are_refused(store: ProfileStore) -> None:
    with pytest.raises(ProfileError, match=r"unknown accessibility keys \['blind'\]"):
        await store.save_with_consent(PHONE, "ko", {"blind": True})
    with pytest.raises(ProfileError, match="true or false"):
        await store.save_with_consent(PHONE, "ko", {"deaf": "yes"})  # type: ignore[dict-item]
    with pytest.raises(ProfileError, match="language"):
        await store.save_with_consent(PHONE, "ja")
    assert await store.get(PHONE) is None
    await store.save_with_consent(PHONE, "ko")
    with pytest.raises(ProfileError, match="unknown accessibility keys"):
        await store.update(PHONE, accessibility={"wheelchair": True})


async def test_forget_erases_the_profile_and_every_reminder(
    store: ProfileStore, reminders: SqlReminderStore, clock: ManualClock
) -> None:
    await store.save_with_consent(PHONE, "ko", {"deaf": True}, reminders_opt_in=True)
    send_at = [clock.now + dt.timedelta(days=1), clock.now + dt.timedelta(days=3)]
    kept = await reminders.schedule(
        PHONE, "move_in_report", dt.date(2026, 11, 19), dt.date(2026, 12, 3), send_at, "ko"
    )
    await reminders.mark_sent(kept[0].id)  # a sent one is erased too
    await reminders.set_draft(PHONE, DraftStage.CHOOSING, "ko")
    other = await reminders.schedule(
        OTHER, "birth_report", dt.date(2026, 11, 19), dt.date(2026, 12, 19), send_at, "en"
    )

    assert await store.forget(PHONE) == 4  # 2 reminders + 1 draft + 1 profile
    assert await store.get(PHONE) is None
    assert await reminders.reminders(PHONE) == []
    assert await reminders.get_draft(PHONE) is None
    assert await reminders.reminders(OTHER) == other
    assert await store.forget(PHONE) == 0


async def test_ping(store: ProfileStore) -> None:
    await store.ping()


async def test_ping_fails_without_schema(tmp_path: Path) -> None:
    empty = SqlProfileStore.from_url(to_async_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(StoreError):
        await empty.ping()
    await empty.close()
