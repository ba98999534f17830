"""The SQL outbox: SQLite (default) or PostgreSQL, by URL.

Claims are conditional UPDATEs (``WHERE status/lease still say it is free``) rather than
``SELECT … FOR UPDATE SKIP LOCKED``: SQLite has no row locks, and one statement whose
WHERE clause only one transaction can satisfy is just as safe on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import aliased

from assistant.outbox.base import OPEN_STATUSES, OutboxError, OutboxStore
from assistant.outbox.models import OutboxRow
from assistant.outbox.records import OutboxMessage, OutboxStatus
from assistant.store.sql import create_engine, probe, rowcount

_OPEN = [status.value for status in OPEN_STATUSES]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _message(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        recipient=row.recipient,
        body=row.body,
        kind=row.kind,
        conversation_id=row.conversation_id,
        dedupe_key=row.dedupe_key,
        part=row.part,
        parts=row.parts,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=_aware(row.next_attempt_at) or row.next_attempt_at,
        lease_until=_aware(row.lease_until),
        claim_token=row.claim_token,
        provider_sid=row.provider_sid,
        error_code=row.error_code,
        last_error=row.last_error,
        created_at=_aware(row.created_at) or row.created_at,
        updated_at=_aware(row.updated_at) or row.updated_at,
        sent_at=_aware(row.sent_at),
    )


def _due(now: dt.datetime) -> Any:
    return or_(
        and_(
            OutboxRow.status == OutboxStatus.QUEUED.value,
            OutboxRow.next_attempt_at <= now,
        ),
        and_(
            OutboxRow.status == OutboxStatus.SENDING.value,
            OutboxRow.lease_until <= now,
        ),
    )


def _first_of_recipient() -> Any:
    earlier = aliased(OutboxRow)
    return ~exists().where(
        earlier.recipient == OutboxRow.recipient,
        earlier.id < OutboxRow.id,
        earlier.status.in_(_OPEN),
    )


class SqlOutboxStore(OutboxStore):
    """OutboxStore on SQLAlchemy 2 (async)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> SqlOutboxStore:
        """Build a store for an async database URL."""
        return cls(create_engine(url))

    async def ping(self) -> None:
        await probe(
            self._engine, "outbox", "SELECT 1 FROM outbox_messages LIMIT 1", error=OutboxError
        )

    async def close(self) -> None:
        await self._engine.dispose()

    async def _insert_messages(self, rows: list[dict[str, Any]]) -> list[OutboxMessage] | None:
        try:
            async with self._sessions.begin() as session:
                stored = []
                # One by one, in order: ids then follow the parts of the text.
                for values in rows:
                    row_id = await session.scalar(
                        insert(OutboxRow).values(**values).returning(OutboxRow.id)
                    )
                    stored.append(row_id)
                result = await session.scalars(
                    select(OutboxRow).where(OutboxRow.id.in_(stored)).order_by(OutboxRow.id)
                )
                return [_message(row) for row in result]
        except IntegrityError:
            if rows and rows[0].get("dedupe_key") is not None:
                return None
            raise

    async def _find_by_dedupe(self, dedupe_key: str) -> list[OutboxMessage]:
        async with self._sessions() as session:
            result = await session.scalars(
                select(OutboxRow).where(OutboxRow.dedupe_key == dedupe_key).order_by(OutboxRow.id)
            )
            return [_message(row) for row in result]

    async def _find_by_sid(self, provider_sid: str) -> OutboxMessage | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(OutboxRow).where(OutboxRow.provider_sid == provider_sid)
            )
            return _message(row) if row else None

    async def _get(self, message_id: int) -> OutboxMessage | None:
        async with self._sessions() as session:
            row = await session.get(OutboxRow, message_id)
            return _message(row) if row else None

    async def _list(self, recipient: str | None) -> list[OutboxMessage]:
        query = select(OutboxRow)
        if recipient is not None:
            query = query.where(OutboxRow.recipient == recipient)
        async with self._sessions() as session:
            result = await session.scalars(query.order_by(OutboxRow.id))
            return [_message(row) for row in result]

    async def _count(self, statuses: Sequence[OutboxStatus]) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.status.in_([status.value for status in statuses]))
            )
            return int(count or 0)

    async def _delete(
        self,
        statuses: Sequence[OutboxStatus],
        *,
        recipient: str | None = None,
        changed_before: dt.datetime | None = None,
    ) -> int:
        query = delete(OutboxRow).where(OutboxRow.status.in_([s.value for s in statuses]))
        if recipient is not None:
            query = query.where(OutboxRow.recipient == recipient)
        if changed_before is not None:
            query = query.where(OutboxRow.updated_at < changed_before)
        async with self._sessions.begin() as session:
            result = await session.execute(query)
            return rowcount(result)

    async def _due_heads(self, now: dt.datetime, limit: int) -> list[int]:
        async with self._sessions() as session:
            result = await session.scalars(
                select(OutboxRow.id)
                .where(_due(now), _first_of_recipient())
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            return list(result)

    async def _try_claim(
        self, message_id: int, now: dt.datetime, lease_until: dt.datetime, token: str
    ) -> OutboxMessage | None:
        # The WHERE clause repeats every condition of _due_heads: between that read and
        # this write another worker may have claimed the row, and only one UPDATE can
        # still find it free. The transaction starts with the write (no read first), so
        # SQLite takes its write lock at once instead of failing to upgrade a snapshot.
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id, _due(now), _first_of_recipient())
                .values(
                    status=OutboxStatus.SENDING.value,
                    attempts=OutboxRow.attempts + 1,
                    lease_until=lease_until,
                    claim_token=token,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            row = await session.get(OutboxRow, message_id, populate_existing=True)
            return _message(row) if row else None

    async def _update(
        self,
        message_id: int,
        *,
        values: dict[str, Any],
        statuses: Sequence[OutboxStatus] | None = None,
        claim_token: str | None = None,
        sid_is_null: bool = False,
    ) -> bool:
        conditions: list[Any] = [OutboxRow.id == message_id]
        if statuses is not None:
            conditions.append(OutboxRow.status.in_([status.value for status in statuses]))
        if claim_token is not None:
            conditions.append(OutboxRow.claim_token == claim_token)
        if sid_is_null:
            conditions.append(OutboxRow.provider_sid.is_(None))
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(OutboxRow)
                .where(*conditions)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)
