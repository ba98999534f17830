"""Call-back attempts: each time a person called a citizen back, and how it ended.

``CallbackLog`` says what an attempt log does; ``SqlCallbackLog`` keeps it in the
gateway's database (SQLite or PostgreSQL, table ``callback_attempts``). An attempt's
outcome is set once: Twilio may report the same end twice (the ``<Dial>`` action and the
call's status callback, or a retried webhook), and only the first report counts.
Attempts hold ids and outcomes only, never a number.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.handoff.models import CallbackAttemptRow
from assistant.handoff.records import CallbackAttempt, CallOutcome
from assistant.store.base import StoreError, utcnow
from assistant.store.sql import as_utc, aware, create_engine, maybe_aware, rowcount


class CallbackLog(abc.ABC):
    """Every attempt at calling a citizen back."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._clock = clock

    async def start(self, request_id: int, person: str) -> CallbackAttempt:
        """A person starts calling the citizen of ``request_id`` back."""
        attempt_id = await self._insert(
            {"request_id": request_id, "person": person, "started_at": self._clock()}
        )
        return await self._require(attempt_id)

    async def set_call_sid(self, attempt_id: int, call_sid: str) -> bool:
        """The call Twilio created for the attempt; False if the attempt is unknown."""
        return await self._update(attempt_id, {"call_sid": call_sid}, only_open=False)

    async def finish(
        self, attempt_id: int, outcome: CallOutcome, retry_at: dt.datetime | None = None
    ) -> CallbackAttempt | None:
        """Record how the attempt ended; None if it had ended already (the first report
        of an end counts) or is unknown."""
        values = {"outcome": outcome.value, "ended_at": self._clock(), "retry_at": retry_at}
        if not await self._update(attempt_id, values, only_open=True):
            return None
        return await self._require(attempt_id)

    async def get(self, attempt_id: int) -> CallbackAttempt | None:
        """The attempt, or None."""
        return await self._get(attempt_id)

    async def of_request(self, request_id: int) -> list[CallbackAttempt]:
        """The request's attempts, oldest first."""
        return await self._of_request(request_id)

    async def drop_before(self, before: dt.datetime) -> int:
        """Retention: forget attempts started before ``before``; how many."""
        return await self._delete_before(before)

    async def _require(self, attempt_id: int) -> CallbackAttempt:
        attempt = await self._get(attempt_id)
        if attempt is None:
            raise StoreError("call-back attempt vanished after it was written")
        return attempt

    # ---- storage primitives --------------------------------------------------------
    @abc.abstractmethod
    async def _insert(self, values: dict[str, Any]) -> int: ...

    @abc.abstractmethod
    async def _update(self, attempt_id: int, values: dict[str, Any], *, only_open: bool) -> bool:
        """Update the attempt (only while it has no outcome, with ``only_open``)."""

    @abc.abstractmethod
    async def _get(self, attempt_id: int) -> CallbackAttempt | None: ...

    @abc.abstractmethod
    async def _of_request(self, request_id: int) -> list[CallbackAttempt]: ...

    @abc.abstractmethod
    async def _delete_before(self, before: dt.datetime) -> int: ...

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""


def _attempt(row: CallbackAttemptRow) -> CallbackAttempt:
    return CallbackAttempt(
        id=row.id,
        request_id=row.request_id,
        person=row.person,
        started_at=aware(row.started_at),
        call_sid=row.call_sid,
        outcome=CallOutcome(row.outcome) if row.outcome else None,
        ended_at=maybe_aware(row.ended_at),
        retry_at=maybe_aware(row.retry_at),
    )


def _bind(values: dict[str, Any]) -> dict[str, Any]:
    return {k: as_utc(v) if isinstance(v, dt.datetime) else v for k, v in values.items()}


class SqlCallbackLog(CallbackLog):
    """CallbackLog on SQLAlchemy 2 (async)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], dt.datetime] = utcnow) -> None:
        super().__init__(clock)
        self._engine = engine

    @classmethod
    def from_url(cls, url: str, clock: Callable[[], dt.datetime] = utcnow) -> SqlCallbackLog:
        """A log for an async database URL (``clock`` is for tests)."""
        return cls(create_engine(url), clock)

    async def _insert(self, values: dict[str, Any]) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                insert(CallbackAttemptRow).values(**_bind(values)).returning(CallbackAttemptRow.id)
            )
            return int(result.scalar_one())

    async def _update(self, attempt_id: int, values: dict[str, Any], *, only_open: bool) -> bool:
        statement = update(CallbackAttemptRow).where(CallbackAttemptRow.id == attempt_id)
        if only_open:
            statement = statement.where(CallbackAttemptRow.outcome.is_(None))
        async with self._engine.begin() as conn:
            return rowcount(await conn.execute(statement.values(**_bind(values)))) == 1

    async def _get(self, attempt_id: int) -> CallbackAttempt | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(CallbackAttemptRow).where(CallbackAttemptRow.id == attempt_id)
                )
            ).first()
            return _attempt(row) if row else None  # type: ignore[arg-type]

    async def _of_request(self, request_id: int) -> list[CallbackAttempt]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(CallbackAttemptRow)
                .where(CallbackAttemptRow.request_id == request_id)
                .order_by(CallbackAttemptRow.started_at, CallbackAttemptRow.id)
            )
            return [_attempt(row) for row in rows]  # type: ignore[arg-type]

    async def _delete_before(self, before: dt.datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(CallbackAttemptRow).where(CallbackAttemptRow.started_at < as_utc(before))
            )
            return rowcount(result)

    async def close(self) -> None:
        await self._engine.dispose()
