"""The reminder service against a real store and a recording outbox: due reminders go
out once, never early, never when cancelled or forgotten; and the SMS set-up exchange."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant.catalog import Catalog, load_catalog
from assistant.config import Settings, to_async_url
from assistant.profiles import SqlProfileStore
from assistant.reminders import (
    DRAFT_TTL,
    DraftStage,
    ReminderService,
    ReminderStatus,
    SqlReminderStore,
    reminder_choices,
)
from assistant.reminders.schedule import SEOUL
from assistant.store.migrate import upgrade
from tests.clock import ManualClock

PHONE = "+821012345678"
OTHER = "+821098765432"
MOVED = dt.date(2026, 11, 16)  # move-in report due 30 Nov; reminders 27 and 30 Nov, 09:00
DUE = dt.date(2026, 11, 30)


def seoul(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SEOUL)  # type: ignore[misc]


SET_UP_AT = seoul(2026, 11, 20, 12)
FIRST = seoul(2026, 11, 27, 9)
LAST = seoul(2026, 11, 30, 9)


@dataclass
class Call:
    to: str
    body: str
    kind: str
    dedupe_key: str | None


@dataclass
class RecordingOutbox:
    """Records every call; keeps one message per dedupe key, as the real outbox does."""

    calls: list[Call] = field(default_factory=list)
    stored: dict[str, Call] = field(default_factory=dict)
    failures: int = 0
    received: asyncio.Event = field(default_factory=asyncio.Event)

    async def send_sms(
        self,
        to: str,
        body: str,
        *,
        kind: str,
        conversation_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> list[int]:
        call = Call(to, body, kind, dedupe_key)
        self.calls.append(call)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("outbox store unavailable")
        assert dedupe_key is not None
        self.stored.setdefault(dedupe_key, call)
        self.received.set()
        return [list(self.stored).index(dedupe_key) + 1]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SET_UP_AT)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
async def url(tmp_path: Path) -> str:
    database = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
    await asyncio.to_thread(upgrade, database)
    return database


@pytest.fixture
async def store(url: str, clock: ManualClock) -> AsyncIterator[SqlReminderStore]:
    implementation = SqlReminderStore.from_url(url, clock)
    try:
        yield implementation
    finally:
        await implementation.close()


@pytest.fixture
async def profiles(
    url: str, clock: ManualClock, store: SqlReminderStore
) -> AsyncIterator[SqlProfileStore]:
    implementation = SqlProfileStore.from_url(url, clock, also_forget=[store])
    try:
        yield implementation
    finally:
        await implementation.close()


@pytest.fixture
def outbox() -> RecordingOutbox:
    return RecordingOutbox()


@pytest.fixture
def service(
    store: SqlReminderStore,
    catalog: Catalog,
    outbox: RecordingOutbox,
    profiles: SqlProfileStore,
    clock: ManualClock,
) -> ReminderService:
    return ReminderService(
        store, catalog, outbox.send_sms, profiles=profiles, interval_seconds=0.01, clock=clock
    )


async def set_up_move(service: ReminderService, phone: str = PHONE, language: str = "ko") -> None:
    result = await service.set_up(phone, "move_in_report", MOVED, language, SET_UP_AT)
    assert [r.send_at for r in result.reminders] == [FIRST, LAST]


# ---- delivery ----------------------------------------------------------------------
async def test_due_reminders_are_sent_once_and_not_before_their_time(
    service: ReminderService, store: SqlReminderStore, outbox: RecordingOutbox
) -> None:
    await set_up_move(service)
    assert await service.deliver_due(FIRST - dt.timedelta(seconds=1)) == 0
    assert outbox.calls == []

    assert await service.deliver_due(FIRST) == 1
    first = (await store.reminders(PHONE))[0]
    assert [(c.to, c.kind, c.dedupe_key) for c in outbox.calls] == [
        (PHONE, "reminder", f"reminder:{first.id}")
    ]
    body = outbox.calls[0].body
    assert "전입신고" in body and "11월 30일(월)" in body and "3일 남았습니다" in body
    assert "알림취소" in body

    assert await service.deliver_due(FIRST + dt.timedelta(hours=5)) == 0
    assert len(outbox.calls) == 1

    assert await service.deliver_due(LAST) == 1
    assert "오늘" in outbox.calls[1].body
    assert await service.deliver_due(LAST + dt.timedelta(hours=1)) == 0
    assert len(outbox.calls) == 2
    assert [r.status for r in await store.reminders(PHONE)] == [ReminderStatus.SENT] * 2


async def test_a_crash_between_sending_and_marking_never_sends_twice(
    service: ReminderService,
    store: SqlReminderStore,
    outbox: RecordingOutbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await set_up_move(service)
    real_mark_sent = store.mark_sent

    async def crash(reminder_id: int) -> bool:
        raise ConnectionError("the gateway died here")

    monkeypatch.setattr(store, "mark_sent", crash)
    with pytest.raises(ConnectionError):
        await service.deliver_due(FIRST)
    monkeypatch.setattr(store, "mark_sent", real_mark_sent)

    assert await service.deliver_due(FIRST) == 1
    keys = [c.dedupe_key for c in outbox.calls]
    assert len(keys) == 2 and keys[0] == keys[1]  # the same key both times
    assert len(outbox.stored) == 1  # so the outbox holds (and sends) one message


async def test_a_failed_hand_over_is_tried_again(
    service: ReminderService, outbox: RecordingOutbox
) -> None:
    await set_up_move(service)
    outbox.failures = 1
    assert await service.deliver_due(FIRST) == 0
    assert await service.deliver_due(FIRST) == 1
    assert len(outbox.stored) == 1


async def test_cancelled_reminders_are_never_sent(
    service: ReminderService, store: SqlReminderStore, outbox: RecordingOutbox
) -> None:
    await set_up_move(service)
    await set_up_move(service, OTHER, "en")
    assert "알림을 모두 껐습니다" in await service.cancel(PHONE, "ko")
    assert await service.deliver_due(LAST + dt.timedelta(hours=1)) == 1
    assert {c.to for c in outbox.calls} == {OTHER}
    assert outbox.calls[0].body.startswith("[Sotong] Move-in report")
    assert {r.status for r in await store.reminders(PHONE)} == {ReminderStatus.CANCELLED}


async def test_forget_removes_reminders_before_they_are_sent(
    service: ReminderService,
    store: SqlReminderStore,
    profiles: SqlProfileStore,
    outbox: RecordingOutbox,
) -> None:
    await profiles.save_with_consent(PHONE, "ko", {"low_vision": True})
    await set_up_move(service)
    profile = await profiles.get(PHONE)
    assert profile is not None and profile.reminders_opt_in  # set up: opted in
    assert await profiles.forget(PHONE) == 3
    assert await service.deliver_due(LAST) == 0
    assert outbox.calls == []
    assert await store.reminders(PHONE) == [] and await profiles.get(PHONE) is None


async def test_reminders_set_up_again_after_forget_are_sent(
    service: ReminderService, profiles: SqlProfileStore, outbox: RecordingOutbox
) -> None:
    await set_up_move(service)
    assert await service.deliver_due(FIRST) == 1
    await profiles.forget(PHONE)
    await set_up_move(service)
    assert await service.deliver_due(FIRST) == 1  # a new id, so a new dedupe key
    assert len(outbox.stored) == 2


async def test_a_deadline_that_passed_while_down_is_not_reminded(
    service: ReminderService, store: SqlReminderStore, outbox: RecordingOutbox
) -> None:
    await set_up_move(service)
    assert await service.deliver_due(seoul(2026, 12, 1, 9)) == 0
    assert outbox.calls == []
    assert {r.status for r in await store.reminders(PHONE)} == {ReminderStatus.EXPIRED}


async def test_after_an_outage_only_the_latest_reminder_of_a_deadline_goes(
    service: ReminderService, store: SqlReminderStore, outbox: RecordingOutbox
) -> None:
    await set_up_move(service)
    assert await service.deliver_due(LAST + dt.timedelta(hours=2)) == 1
    assert len(outbox.calls) == 1 and "오늘" in outbox.calls[0].body
    assert [r.status for r in await store.reminders(PHONE)] == [
        ReminderStatus.EXPIRED,
        ReminderStatus.SENT,
    ]


async def test_more_due_than_one_batch(
    store: SqlReminderStore, catalog: Catalog, outbox: RecordingOutbox, clock: ManualClock
) -> None:
    service = ReminderService(store, catalog, outbox.send_sms, batch_size=2, clock=clock)
    for n in range(5):
        await service.set_up(f"+8210000000{n:02d}", "move_in_report", MOVED, "ko", SET_UP_AT)
    assert await service.deliver_due(FIRST) == 5
    assert len(outbox.stored) == 5


async def test_the_loop_delivers_and_stops(
    service: ReminderService, outbox: RecordingOutbox, clock: ManualClock
) -> None:
    await set_up_move(service)
    clock.now = FIRST
    task = service.start()
    assert service.start() is task  # one loop per service
    await asyncio.wait_for(outbox.received.wait(), timeout=10)
    await asyncio.wait_for(service.stop(), timeout=10)
    assert task.done() and len(outbox.stored) == 1


async def test_the_loop_survives_a_failing_round(
    service: ReminderService,
    store: SqlReminderStore,
    outbox: RecordingOutbox,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await set_up_move(service)
    clock.now = FIRST
    real_due = store.due
    rounds = 0

    async def flaky_due(now: dt.datetime, limit: int = 100) -> list:  # type: ignore[type-arg]
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise ConnectionError("database restarting")
        return await real_due(now, limit)

    monkeypatch.setattr(store, "due", flaky_due)
    service.start()
    await asyncio.wait_for(outbox.received.wait(), timeout=10)
    await service.stop()
    assert rounds >= 2 and len(outbox.stored) == 1


def test_the_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().reminder_interval_seconds == 60.0
    monkeypatch.setenv("SOTONG_REMINDER_INTERVAL_SECONDS", "5")
    assert Settings().reminder_interval_seconds == 5.0


# ---- the SMS set-up exchange ---------------------------------------------------------
def number_of(catalog: Catalog, service_id: str) -> str:
    return str(next(c.number for c in reminder_choices(catalog) if c.service.id == service_id))


async def test_set_up_over_sms(
    service: ReminderService, store: SqlReminderStore, catalog: Catalog, clock: ManualClock
) -> None:
    assert await service.reply(PHONE, "어제") is None  # no set-up in progress
    menu = await service.begin(PHONE, "ko")
    assert "1. " in menu and "전입신고" in menu
    assert await service.reply(PHONE, number_of(catalog, "move_in_report")) == (
        "이사한 날이 언제인가요? 이렇게 보내 주세요: 11월 20일, 어제"
    )
    answer = await service.reply(PHONE, "11월 16일")
    assert answer is not None and answer.startswith("알림을 맞췄습니다.")
    assert "11월 30일(월)까지" in answer and "11월 27일(금)과 11월 30일(월)" in answer
    assert [r.send_at for r in await store.reminders(PHONE)] == [FIRST, LAST]
    assert await store.get_draft(PHONE) is None


async def test_the_set_up_survives_a_restart(
    service: ReminderService,
    store: SqlReminderStore,
    url: str,
    catalog: Catalog,
    outbox: RecordingOutbox,
    clock: ManualClock,
) -> None:
    await service.begin(PHONE, "en", service_id="birth_report")
    restarted_store = SqlReminderStore.from_url(url, clock)
    try:
        restarted = ReminderService(restarted_store, catalog, outbox.send_sms, clock=clock)
        answer = await restarted.reply(PHONE, "yesterday")
    finally:
        await restarted_store.close()
    assert answer is not None and answer.startswith("Reminder set. Birth report")
    (first, last) = await store.reminders(PHONE)
    assert first.event_date == dt.date(2026, 11, 19) and last.due_date == dt.date(2026, 12, 19)
    assert first.language == "en"


async def test_answers_not_understood_twice_end_the_set_up(
    service: ReminderService, store: SqlReminderStore, catalog: Catalog
) -> None:
    await service.begin(PHONE, "ko")
    hint = await service.reply(PHONE, "뭐라고요?")
    assert hint is not None and hint.startswith("번호로 골라 주세요.")
    assert await service.reply(PHONE, "기초연금 알려줘") is None  # goes to the dialogue
    assert await store.get_draft(PHONE) is None

    await service.begin(PHONE, "ko", service_id="death_report")
    again = await service.reply(PHONE, "잘 모르겠어요")
    assert again is not None and again.startswith("날짜를 알아듣지 못했습니다.")
    assert await service.reply(PHONE, "언젠가") is None
    assert await store.reminders(PHONE) == []


async def test_cancel_word_during_set_up(service: ReminderService, store: SqlReminderStore) -> None:
    await service.begin(PHONE, "ko")
    assert await service.reply(PHONE, "알림취소") == (
        "맞춰 둔 알림이 없습니다. 알림을 받으려면 '알림'이라고 보내 주세요."
    )
    assert await store.get_draft(PHONE) is None


async def test_a_passed_deadline_is_said_and_nothing_stored(
    service: ReminderService, store: SqlReminderStore, clock: ManualClock
) -> None:
    await service.begin(PHONE, "ko", service_id="move_in_report")
    answer = await service.reply(PHONE, "11월 1일")
    assert answer is not None and "11월 15일(일)까지였습니다" in answer
    assert await store.reminders(PHONE) == []


async def test_a_stale_set_up_is_forgotten(
    service: ReminderService, store: SqlReminderStore, clock: ManualClock
) -> None:
    await service.begin(PHONE, "ko")
    clock.now = SET_UP_AT + DRAFT_TTL + dt.timedelta(minutes=1)
    assert await service.reply(PHONE, "1") is None


async def test_profiles_only_with_consent(
    service: ReminderService, profiles: SqlProfileStore
) -> None:
    await set_up_move(service)
    assert await profiles.get(PHONE) is None  # reminders never create a profile
    await profiles.save_with_consent(PHONE, "ko")
    await set_up_move(service)
    profile = await profiles.get(PHONE)
    assert profile is not None and profile.reminders_opt_in
    await service.cancel(PHONE, "ko")
    profile = await profiles.get(PHONE)
    assert profile is not None and not profile.reminders_opt_in


async def test_unknown_services_are_refused(service: ReminderService) -> None:
    with pytest.raises(ValueError, match="deadline"):
        await service.set_up(PHONE, "passport", MOVED, "ko")
    with pytest.raises(ValueError, match="deadline"):
        await service.begin(PHONE, "ko", service_id="nope")


def test_draft_stages_are_stable() -> None:
    # Stored in the database: renaming a value would strand drafts in progress.
    assert [s.value for s in DraftStage] == ["choosing", "awaiting_date"]
