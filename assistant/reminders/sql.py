"""The SQL reminder store: SQLite (default) or PostgreSQL, by URL.

Each primitive is a single statement or a transaction of writes only (SQLite refuses a
deferred transaction that reads, then writes after another connection wrote).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from assistant.profiles.records import check_language
from assistant.reminders.base import ReminderStore
from assistant.reminders.models import ReminderDraftRow, ReminderRow
from assistant.reminders.records import DraftStage, Reminder, ReminderDraft, ReminderStatus
from assistant.store.base import StoreError, utcnow
from assistant.store.sql import as_utc, aware, create_engine, probe, rowcount


def _reminder(row: ReminderRow) -> Reminder:
    return Reminder(
        id=row.id,
        phone=row.phone,
        service_id=row.service_id,
        event_date=row.event_date,
        due_date=row.due_date,
        send_at=aware(row.send_at),
        language=check_language(row.language),
        status=ReminderStatus(row.status),
        created_at=aware(row.created_at),
        sent_at=aware(row.sent_at) if row.sent_at is not None else None,
    )


def _draft(row: ReminderDraftRow) -> ReminderDraft:
    return ReminderDraft(
        phone=row.phone,
        stage=DraftStage(row.stage),
        language=check_language(row.language),
        updated_at=aware(row.updated_at),
        service_id=row.service_id,
        attempts=row.attempts,
    )


class SqlReminderStore(ReminderStore):
    """ReminderStore on SQLAlchemy 2 (async)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], dt.datetime] = utcnow) -> None:
        super().__init__(clock)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, clock: Callable[[], dt.datetime] = utcnow) -> SqlReminderStore:
        """Build a store for an async database URL (``clock`` is for tests)."""
        return cls(create_engine(url), clock)

    async def ping(self) -> None:
        await probe(
            self._engine,
            "reminder store",
            "SELECT 1 FROM reminders LIMIT 1",
            "SELECT 1 FROM reminder_drafts LIMIT 1",
        )

    async def close(self) -> None:
        await self._engine.dispose()

    # ---- reminders -----------------------------------------------------------------
    async def _replace_scheduled(
        self, phone: str, service_id: str, new: list[Reminder], now: dt.datetime
    ) -> list[Reminder]:
        rows = [
            ReminderRow(
                phone=r.phone,
                service_id=r.service_id,
                event_date=r.event_date,
                due_date=r.due_date,
                send_at=as_utc(r.send_at),
                language=r.language,
                status=r.status.value,
                created_at=as_utc(r.created_at),
            )
            for r in new
        ]
        async with self._sessions.begin() as session:
            await session.execute(
                update(ReminderRow)
                .where(
                    ReminderRow.phone == phone,
                    ReminderRow.service_id == service_id,
                    ReminderRow.status == ReminderStatus.SCHEDULED.value,
                )
                .values(status=ReminderStatus.CANCELLED.value)
            )
            session.add_all(rows)
            await session.flush()
            return [_reminder(row) for row in rows]

    async def _due(self, now: dt.datetime, limit: int) -> list[Reminder]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ReminderRow)
                .where(
                    ReminderRow.status == ReminderStatus.SCHEDULED.value,
                    ReminderRow.send_at <= as_utc(now),
                )
                .order_by(ReminderRow.send_at, ReminderRow.id)
                .limit(limit)
            )
            return [_reminder(row) for row in rows]

    async def _transition(
        self, reminder_id: int, old: ReminderStatus, new: ReminderStatus, at: dt.datetime
    ) -> bool:
        values: dict[str, Any] = {"status": new.value}
        if new == ReminderStatus.SENT:
            values["sent_at"] = as_utc(at)
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(ReminderRow)
                .where(ReminderRow.id == reminder_id, ReminderRow.status == old.value)
                .values(**values)
            )
            return rowcount(result) == 1

    async def _cancel_scheduled(self, phone: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(ReminderRow)
                .where(
                    ReminderRow.phone == phone,
                    ReminderRow.status == ReminderStatus.SCHEDULED.value,
                )
                .values(status=ReminderStatus.CANCELLED.value)
            )
            return rowcount(result)

    async def _list(self, phone: str) -> list[Reminder]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ReminderRow)
                .where(ReminderRow.phone == phone)
                .order_by(ReminderRow.send_at, ReminderRow.id)
            )
            return [_reminder(row) for row in rows]

    async def _get(self, reminder_id: int) -> Reminder | None:
        async with self._sessions() as session:
            row = await session.get(ReminderRow, reminder_id)
            return _reminder(row) if row else None

    async def _delete_all(self, phone: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ReminderRow).where(ReminderRow.phone == phone))
            return rowcount(result)

    # ---- drafts --------------------------------------------------------------------
    async def _get_draft(self, phone: str) -> ReminderDraft | None:
        async with self._sessions() as session:
            row = await session.get(ReminderDraftRow, phone)
            return _draft(row) if row else None

    async def _put_draft(self, draft: ReminderDraft) -> None:
        values: dict[str, Any] = {
            "stage": draft.stage.value,
            "service_id": draft.service_id,
            "language": draft.language,
            "attempts": draft.attempts,
            "updated_at": as_utc(draft.updated_at),
        }
        for _ in range(2):
            if await self._update_draft(draft.phone, values):
                return
            try:
                async with self._sessions.begin() as session:
                    session.add(ReminderDraftRow(phone=draft.phone, **values))
                return
            except IntegrityError:
                continue  # inserted meanwhile by another request: update it instead
        raise StoreError("reminder draft could not be written")

    async def _update_draft(self, phone: str, values: dict[str, Any]) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(ReminderDraftRow).where(ReminderDraftRow.phone == phone).values(**values)
            )
            return rowcount(result) == 1

    async def _delete_draft(self, phone: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ReminderDraftRow).where(ReminderDraftRow.phone == phone)
            )
            return rowcount(result)
