"""The SQL call store: SQLite (default) or PostgreSQL, by URL.

Every primitive is one statement (an insert that may hit the primary key, or an update
whose WHERE clause is the condition and whose COALESCE keeps values already set), so
it is atomic on both databases without a read-then-write transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from assistant.calls.base import CallStore
from assistant.calls.models import CallRow
from assistant.calls.records import CallRecord, CallStatus
from assistant.store.base import utcnow
from assistant.store.sql import as_utc, create_engine, maybe_aware, probe, rowcount


def _bind(value: Any) -> Any:
    return as_utc(value) if isinstance(value, dt.datetime) else value


def _record(row: CallRow) -> CallRecord:
    return CallRecord(
        call_sid=row.call_sid,
        status=CallStatus(row.status),
        caller=row.caller,
        called=row.called,
        conversation_id=row.conversation_id,
        language=row.language,
        started_at=maybe_aware(row.started_at),
        ended_at=maybe_aware(row.ended_at),
        duration_seconds=row.duration_seconds,
        outcome=row.outcome,
        turns=int(row.turns or 0),
        handoff=bool(row.handoff),
        stream_started_at=maybe_aware(row.stream_started_at),
        created_at=maybe_aware(row.created_at),
        updated_at=maybe_aware(row.updated_at),
    )


class SqlCallStore(CallStore):
    """CallStore on SQLAlchemy 2 (async)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], dt.datetime] = utcnow) -> None:
        super().__init__(clock)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, clock: Callable[[], dt.datetime] = utcnow) -> SqlCallStore:
        """Build a store for an async database URL (``clock`` is for tests)."""
        return cls(create_engine(url), clock)

    async def ping(self) -> None:
        await probe(self._engine, "call store", "SELECT 1 FROM calls LIMIT 1")

    async def close(self) -> None:
        await self._engine.dispose()

    async def _insert(self, row: dict[str, Any]) -> bool:
        try:
            async with self._sessions.begin() as session:
                session.add(CallRow(**{name: _bind(value) for name, value in row.items()}))
        except IntegrityError:
            return False
        return True

    async def _get(self, call_sid: str) -> CallRecord | None:
        async with self._sessions() as session:
            row = await session.get(CallRow, call_sid)
            return _record(row) if row else None

    async def _update(
        self,
        call_sid: str,
        *,
        values: dict[str, Any],
        fill: dict[str, Any] | None = None,
        statuses: Sequence[CallStatus] | None = None,
        unset: Sequence[str] = (),
    ) -> bool:
        assignments: dict[str, Any] = {name: _bind(value) for name, value in values.items()}
        for name, value in (fill or {}).items():
            if value is not None:
                column = getattr(CallRow, name)
                assignments[name] = func.coalesce(column, _bind(value))
        if not assignments:
            return False
        query = update(CallRow).where(CallRow.call_sid == call_sid)
        if statuses is not None:
            query = query.where(CallRow.status.in_([status.value for status in statuses]))
        for name in unset:
            query = query.where(getattr(CallRow, name).is_(None))
        async with self._sessions.begin() as session:
            result = await session.execute(query.values(**assignments))
            return rowcount(result) == 1

    async def _list_for(self, phone: str) -> list[CallRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CallRow)
                .where(or_(CallRow.caller == phone, CallRow.called == phone))
                .order_by(CallRow.created_at.desc(), CallRow.call_sid)
            )
            return [_record(row) for row in rows]

    async def _delete_for(self, phone: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CallRow).where(or_(CallRow.caller == phone, CallRow.called == phone))
            )
            return rowcount(result)

    async def _delete_before(self, before: dt.datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CallRow).where(CallRow.updated_at < as_utc(before))
            )
            return rowcount(result)
