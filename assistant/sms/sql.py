"""The SQL SMS state store: SQLite (default) or PostgreSQL, by URL.

Every primitive is one statement (an insert that may hit the primary key, or an update
whose WHERE clause is the condition), never a read followed by a write in one
transaction: that is atomic on PostgreSQL and on SQLite, where a deferred transaction
that reads and then writes fails when another connection wrote in between.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import case, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from assistant.sms.base import SmsStateStore
from assistant.sms.models import SmsMessageRow, SmsNumberRow
from assistant.sms.records import MessageRecord, MessageStatus, NumberState
from assistant.store.base import StoreError, utcnow
from assistant.store.sql import aware, create_engine, maybe_aware, probe, rowcount

# Taking a page retries its compare-and-set this often before giving up.
_CAS_ATTEMPTS = 5


def _number(row: SmsNumberRow) -> NumberState:
    return NumberState(
        phone=row.phone,
        opted_out=bool(row.opted_out),
        provider_blocked=bool(row.provider_blocked),
        restart_hint_sent=bool(row.restart_hint_sent),
        opted_out_at=maybe_aware(row.opted_out_at),
        opted_in_at=maybe_aware(row.opted_in_at),
        pages=tuple(tuple(page) for page in row.pages or []),
    )


def _message(row: SmsMessageRow) -> MessageRecord:
    return MessageRecord(
        message_sid=row.message_sid,
        phone=row.phone,
        status=MessageStatus(row.status),
        messages=tuple(row.messages or ()),
        outcome=row.outcome,
        claimed_at=aware(row.claimed_at),
        completed_at=maybe_aware(row.completed_at),
    )


class SqlSmsStateStore(SmsStateStore):
    """SmsStateStore on SQLAlchemy 2 (async)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], dt.datetime] = utcnow) -> None:
        super().__init__(clock)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, clock: Callable[[], dt.datetime] = utcnow) -> SqlSmsStateStore:
        """Build a store for an async database URL (``clock`` is for tests)."""
        return cls(create_engine(url), clock)

    async def ping(self) -> None:
        await probe(
            self._engine,
            "SMS state store",
            "SELECT 1 FROM sms_numbers LIMIT 1",
            "SELECT 1 FROM sms_messages LIMIT 1",
        )

    async def close(self) -> None:
        await self._engine.dispose()

    # ---- numbers -------------------------------------------------------------------
    async def _ensure_number(self, phone: str, now: dt.datetime) -> None:
        async with self._sessions() as session:
            if await session.get(SmsNumberRow, phone) is not None:
                return
        try:
            async with self._sessions.begin() as session:
                session.add(
                    SmsNumberRow(
                        phone=phone,
                        opted_out=False,
                        provider_blocked=False,
                        restart_hint_sent=False,
                        pages=[],
                        pages_version=0,
                        rate_window=0,
                        rate_count=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # created meanwhile by another request: that is all we wanted

    async def _get_number(self, phone: str) -> NumberState | None:
        async with self._sessions() as session:
            row = await session.get(SmsNumberRow, phone)
            return _number(row) if row else None

    async def _update_number(self, phone: str, **fields: object) -> None:
        values: dict[str, Any] = dict(fields)
        if "pages" in values:
            values["pages_version"] = SmsNumberRow.pages_version + 1
        async with self._sessions.begin() as session:
            await session.execute(
                update(SmsNumberRow).where(SmsNumberRow.phone == phone).values(**values)
            )

    async def _claim_restart_hint(self, phone: str, now: dt.datetime) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(SmsNumberRow)
                .where(
                    SmsNumberRow.phone == phone,
                    SmsNumberRow.opted_out.is_(True),
                    SmsNumberRow.restart_hint_sent.is_(False),
                )
                .values(restart_hint_sent=True, updated_at=now)
            )
            return rowcount(result) == 1

    async def _pop_page(self, phone: str, now: dt.datetime) -> tuple[str, ...] | None:
        for _ in range(_CAS_ATTEMPTS):
            async with self._sessions() as session:
                row = await session.get(SmsNumberRow, phone)
                if row is None or not row.pages:
                    return None
                pages, version = list(row.pages), row.pages_version
            async with self._sessions.begin() as session:
                result = await session.execute(
                    update(SmsNumberRow)
                    .where(SmsNumberRow.phone == phone, SmsNumberRow.pages_version == version)
                    .values(pages=pages[1:], pages_version=version + 1, updated_at=now)
                )
            if rowcount(result) == 1:
                return tuple(pages[0])
        raise StoreError("could not take a page: the number's pages keep changing")

    async def _count_hit(self, phone: str, window: int) -> int:
        # One UPDATE … RETURNING: both databases evaluate every SET expression against
        # the row as it was, and lock the row for the statement.
        async with self._sessions.begin() as session:
            count = await session.scalar(
                update(SmsNumberRow)
                .where(SmsNumberRow.phone == phone)
                .values(
                    rate_count=case(
                        (SmsNumberRow.rate_window == window, SmsNumberRow.rate_count + 1),
                        else_=1,
                    ),
                    rate_window=window,
                )
                .returning(SmsNumberRow.rate_count)
            )
        if count is None:
            raise StoreError("rate counter row is missing")
        return int(count)

    # ---- messages ------------------------------------------------------------------
    async def _insert_claim(self, message_sid: str, phone: str, now: dt.datetime) -> bool:
        try:
            async with self._sessions.begin() as session:
                session.add(
                    SmsMessageRow(
                        message_sid=message_sid,
                        phone=phone,
                        status=MessageStatus.PROCESSING.value,
                        messages=None,
                        outcome=None,
                        claimed_at=now,
                        completed_at=None,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def _get_message(self, message_sid: str) -> MessageRecord | None:
        async with self._sessions() as session:
            row = await session.get(SmsMessageRow, message_sid)
            return _message(row) if row else None

    async def _take_over(
        self, message_sid: str, stale_before: dt.datetime, now: dt.datetime
    ) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(SmsMessageRow)
                .where(
                    SmsMessageRow.message_sid == message_sid,
                    SmsMessageRow.status == MessageStatus.PROCESSING.value,
                    SmsMessageRow.claimed_at < stale_before,
                )
                .values(claimed_at=now)
            )
            return rowcount(result) == 1

    async def _complete(
        self, message_sid: str, messages: list[str], outcome: str, now: dt.datetime
    ) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(SmsMessageRow)
                .where(SmsMessageRow.message_sid == message_sid)
                .values(
                    status=MessageStatus.DONE.value,
                    messages=messages,
                    outcome=outcome,
                    completed_at=now,
                )
            )

    async def _delete_message(self, message_sid: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(SmsMessageRow).where(SmsMessageRow.message_sid == message_sid)
            )

    async def _delete_messages_before(self, cutoff: dt.datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(SmsMessageRow).where(SmsMessageRow.claimed_at < cutoff)
            )
            return rowcount(result)

    async def _delete_done_messages_of(self, phone: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(SmsMessageRow).where(
                    SmsMessageRow.phone == phone,
                    SmsMessageRow.status == MessageStatus.DONE.value,
                )
            )
            return rowcount(result)
