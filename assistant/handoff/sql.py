"""The SQL handoff queue: SQLite (default) or PostgreSQL, by URL.

Every change of a request is one conditional UPDATE (the WHERE clause is the allowed
"from" state), atomic on both databases. ``accept`` adds the capacity check inside that
same UPDATE, as a subquery counting the sessions the interpreter holds:

- SQLite runs one writer at a time and a write transaction always reads the newest
  data, so the UPDATE's subquery sees every earlier accept: no race at all.
- PostgreSQL (READ COMMITTED) re-checks the WHERE clause on the request's row after
  waiting for its lock, so two accepts of one request can never both succeed; but the
  capacity subquery reads other rows as of the statement's start, so two accepts of
  *different* requests by the same interpreter could both pass it. To close that, the
  accept first locks the interpreter's row (``SELECT … FOR UPDATE``) in the same
  transaction: accepts by one interpreter run one after another, and the UPDATE,
  starting after the lock is granted, sees the previous accept committed. Locks are
  always taken interpreter first, then request, so accepts cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from assistant.handoff.base import HELD, QUEUED, HandoffQueue
from assistant.handoff.models import HandoffRefusalRow, InterpreterRow, handoff_requests
from assistant.handoff.records import (
    SIGN_LANGUAGE_REASON,
    SKILL_KSL,
    SKILL_PERSON,
    WAITING_VALUES,
    CallbackState,
    Interpreter,
    Outcome,
    QueueEntry,
    QueueState,
    parse_state,
)
from assistant.store.base import utcnow
from assistant.store.sql import as_utc, aware, create_engine, maybe_aware, probe, rowcount

T = handoff_requests.c

# The skill a request needs: the one set on it, else the one its reason implies.
EFFECTIVE_SKILL: ColumnElement[Any] = func.coalesce(
    T.skill,
    case((T.reason == SIGN_LANGUAGE_REASON, literal(SKILL_KSL)), else_=literal(SKILL_PERSON)),
)


def _values(states: Sequence[QueueState]) -> list[str]:
    """Stored status values of ``states`` (waiting: "waiting", or a pre-0006 "requested")."""
    out: list[str] = []
    for state in states:
        out.extend(WAITING_VALUES if state is QueueState.WAITING else (state.value,))
    return out


def _bind(value: Any) -> Any:
    return as_utc(value) if isinstance(value, dt.datetime) else value


def _entry(row: Any) -> QueueEntry:
    return QueueEntry(
        id=row.id,
        conversation_id=row.conversation_id,
        reason=row.reason,
        service=row.service,
        channel=row.channel,
        language=row.language,
        state=parse_state(row.status),
        skill=row.effective_skill,
        created_at=aware(row.created_at),
        accessibility=dict(row.accessibility or {}),
        region=row.region,
        offered_to=row.offered_to,
        accepted_by=row.accepted_by,
        offered_at=maybe_aware(row.offered_at),
        accepted_at=maybe_aware(row.accepted_at),
        session_started_at=maybe_aware(row.session_started_at),
        ended_at=maybe_aware(row.ended_at),
        updated_at=maybe_aware(row.updated_at),
        outcome=row.outcome,
        notes=row.notes,
        contact=row.contact,
        scheduled_for=maybe_aware(row.scheduled_for),
        requested_by=row.requested_by,
        told_position=row.told_position,
        told_wait_minutes=row.told_wait_minutes,
        origin_ref=row.origin_ref,
        callback_number=row.callback_number,
        callback_state=CallbackState(row.callback_state) if row.callback_state else None,
        callback_consent_at=maybe_aware(row.callback_consent_at),
        feedback_asked_at=maybe_aware(row.feedback_asked_at),
        helpful=row.helpful,
        feedback_at=maybe_aware(row.feedback_at),
        booked_with=row.booked_with,
        reminded_day_at=maybe_aware(row.reminded_day_at),
        reminded_soon_at=maybe_aware(row.reminded_soon_at),
    )


def _interpreter(row: InterpreterRow) -> Interpreter:
    return Interpreter(
        id=row.id,
        name=row.name,
        centre=row.centre,
        region=row.region,
        skills=tuple(row.skills or ()),
        languages=tuple(row.languages or ()),
        available=bool(row.available),
        capacity=int(row.capacity),
        work_start=row.work_start,
        work_end=row.work_end,
        updated_at=aware(row.updated_at),
        phone=row.phone,
    )


_ENTRIES = select(handoff_requests, EFFECTIVE_SKILL.label("effective_skill"))
_OLDEST_FIRST = (T.created_at, T.id)


class SqlHandoffQueue(HandoffQueue):
    """HandoffQueue on SQLAlchemy 2 (async)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], dt.datetime] = utcnow) -> None:
        super().__init__(clock)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._lock_interpreter = engine.dialect.name == "postgresql"

    @classmethod
    def from_url(cls, url: str, clock: Callable[[], dt.datetime] = utcnow) -> SqlHandoffQueue:
        """Build a queue for an async database URL (``clock`` is for tests)."""
        return cls(create_engine(url), clock)

    async def ping(self) -> None:
        await probe(
            self._engine,
            "handoff queue",
            "SELECT 1 FROM interpreters LIMIT 1",
            "SELECT accepted_by FROM handoff_requests LIMIT 1",
        )

    async def close(self) -> None:
        await self._engine.dispose()

    # ---- interpreters --------------------------------------------------------------
    async def _insert_interpreter(self, row: dict[str, Any]) -> bool:
        try:
            async with self._sessions.begin() as session:
                session.add(InterpreterRow(**{k: _bind(v) for k, v in row.items()}))
        except IntegrityError:
            return False
        return True

    async def _update_interpreter(self, interpreter_id: str, values: dict[str, Any]) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(InterpreterRow)
                .where(InterpreterRow.id == interpreter_id)
                .values(**{k: _bind(v) for k, v in values.items()})
            )
            return rowcount(result) == 1

    async def _get_interpreter(self, interpreter_id: str) -> Interpreter | None:
        async with self._sessions() as session:
            row = await session.get(InterpreterRow, interpreter_id)
            return _interpreter(row) if row else None

    async def _list_interpreters(self) -> list[Interpreter]:
        async with self._sessions() as session:
            rows = await session.scalars(select(InterpreterRow).order_by(InterpreterRow.id))
            return [_interpreter(row) for row in rows]

    # ---- requests ------------------------------------------------------------------
    async def _select(self, *conditions: ColumnElement[bool]) -> list[QueueEntry]:
        async with self._engine.connect() as conn:
            result = await conn.execute(_ENTRIES.where(*conditions).order_by(*_OLDEST_FIRST))
            return [_entry(row) for row in result]

    async def _get(self, request_id: int) -> QueueEntry | None:
        found = await self._select(T.id == request_id)
        return found[0] if found else None

    async def _queued(self, *, region: str | None, skill: str | None) -> list[QueueEntry]:
        conditions: list[ColumnElement[bool]] = [T.status.in_(_values(QUEUED))]
        if region is not None:
            conditions.append(or_(T.region == region, T.region.is_(None)))
        if skill is not None:
            conditions.append(EFFECTIVE_SKILL == skill)
        return await self._select(*conditions)

    async def _active_for_conversation(self, conversation_id: str) -> QueueEntry | None:
        found = await self._select(
            T.conversation_id == conversation_id,
            T.status.in_(_values((*QUEUED, *HELD))),
        )
        return found[-1] if found else None

    async def _update_open(self, request_id: int, values: dict[str, Any]) -> bool:
        return await self._transition(request_id, from_states=(*QUEUED, *HELD), values=values)

    async def _for_interpreter(self, interpreter_id: str) -> list[QueueEntry]:
        return await self._select(
            or_(
                and_(T.status == QueueState.OFFERED.value, T.offered_to == interpreter_id),
                and_(T.status.in_(_values(HELD)), T.accepted_by == interpreter_id),
            )
        )

    async def _set_feedback(
        self, request_id: int, values: dict[str, Any], *, unanswered: bool
    ) -> bool:
        conditions = [T.id == request_id]
        if unanswered:
            conditions += [T.feedback_asked_at.is_not(None), T.helpful.is_(None)]
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(handoff_requests)
                .where(*conditions)
                .values(**{k: _bind(v) for k, v in values.items()})
            )
            return rowcount(result) == 1

    async def _ended_for(self, conversation_ids: list[str]) -> list[QueueEntry]:
        final = [state.value for state in QueueState if state.is_final]
        return await self._select(T.conversation_id.in_(conversation_ids), T.status.in_(final))

    async def _queued_from(self, origin_ref: str) -> list[int]:
        found = await self._select(T.origin_ref == origin_ref, T.status.in_(_values(QUEUED)))
        return [entry.id for entry in found]

    async def _transition(
        self,
        request_id: int,
        *,
        from_states: Sequence[QueueState],
        values: dict[str, Any],
        held_by: str | None = None,
        offered_to: str | None = None,
    ) -> bool:
        query = update(handoff_requests).where(
            T.id == request_id, T.status.in_(_values(from_states))
        )
        if held_by is not None:
            query = query.where(T.accepted_by == held_by)
        if offered_to is not None:
            query = query.where(T.offered_to == offered_to)
        async with self._engine.begin() as conn:
            result = await conn.execute(query.values(**{k: _bind(v) for k, v in values.items()}))
            return rowcount(result) == 1

    async def _accept(self, request_id: int, interpreter_id: str, now: dt.datetime) -> bool:
        held = handoff_requests.alias("held")
        load = (
            select(func.count())
            .select_from(held)
            .where(held.c.accepted_by == interpreter_id, held.c.status.in_(_values(HELD)))
            .scalar_subquery()
        )
        capacity = (
            select(InterpreterRow.capacity)
            .where(InterpreterRow.id == interpreter_id)
            .scalar_subquery()
        )
        query = (
            update(handoff_requests)
            .where(
                T.id == request_id,
                T.status.in_(_values(QUEUED)),
                or_(T.offered_to.is_(None), T.offered_to == interpreter_id),
                load < capacity,  # NULL (unknown interpreter) refuses too
            )
            .values(
                status=QueueState.ACCEPTED.value,
                accepted_by=interpreter_id,
                accepted_at=as_utc(now),
                updated_at=as_utc(now),
            )
        )
        async with self._engine.begin() as conn:
            if self._lock_interpreter:
                # Serialise one interpreter's accepts (see the module docstring).
                await conn.execute(
                    select(InterpreterRow.id)
                    .where(InterpreterRow.id == interpreter_id)
                    .with_for_update()
                )
            result = await conn.execute(query)
            return rowcount(result) == 1

    async def _expire(self, before: dt.datetime, now: dt.datetime) -> list[int]:
        return await self._end_where(
            QueueState.EXPIRED,
            Outcome.EXPIRED,
            now,
            T.status.in_(_values(QUEUED)),
            T.created_at < as_utc(before),
            # An appointment waits for its time, not for the queue's patience.
            or_(T.scheduled_for.is_(None), T.scheduled_for < as_utc(before)),
        )

    async def _end_where(
        self,
        state: QueueState,
        outcome: Outcome,
        now: dt.datetime,
        *conditions: ColumnElement[bool],
    ) -> list[int]:
        """In one statement: every request matching ``conditions`` ends in ``state`` with
        ``outcome``; their ids."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(handoff_requests)
                .where(*conditions)
                .values(
                    status=state.value,
                    outcome=outcome.value,
                    ended_at=as_utc(now),
                    updated_at=as_utc(now),
                )
                .returning(T.id)
            )
            return sorted(int(row_id) for row_id in result.scalars())

    async def _touch_held(self, interpreter_id: str, now: dt.datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(handoff_requests)
                .where(T.accepted_by == interpreter_id, T.status.in_(_values(HELD)))
                .values(updated_at=as_utc(now))
            )
            return rowcount(result)

    async def _held(self) -> list[QueueEntry]:
        return await self._select(T.status.in_(_values(HELD)))

    async def _time_out_held(self, before: dt.datetime, now: dt.datetime) -> list[int]:
        return await self._end_where(
            QueueState.RESOLVED,
            Outcome.TIMED_OUT,
            now,
            T.status.in_(_values(HELD)),
            func.coalesce(T.updated_at, T.accepted_at, T.created_at) < as_utc(before),
        )

    async def _count_since(
        self, since: dt.datetime, *, conversation_id: str | None, origin_ref: str | None
    ) -> int:
        query = (
            select(func.count()).select_from(handoff_requests).where(T.created_at >= as_utc(since))
        )
        if conversation_id is not None:
            query = query.where(T.conversation_id == conversation_id)
        if origin_ref is not None:
            query = query.where(T.origin_ref == origin_ref)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def _insert_refusal(self, row: dict[str, Any]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(HandoffRefusalRow).values(**{k: _bind(v) for k, v in row.items()})
            )

    async def _refusals_since(self, since: dt.datetime) -> list[tuple[str, str | None]]:
        R = HandoffRefusalRow
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(R.reason, R.origin_ref).where(R.at >= as_utc(since)).order_by(R.at)
            )
            return [(str(reason), origin) for reason, origin in rows]

    async def _clear_callback_numbers(
        self, *, ended_before: dt.datetime | None = None, number: str | None = None
    ) -> int:
        if number is not None:
            condition = T.callback_number == number
        elif ended_before is not None:
            condition = and_(T.callback_number.is_not(None), T.ended_at < as_utc(ended_before))
        else:
            raise ValueError("clear by a number or by an end before a time")
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(handoff_requests)
                .where(condition)
                .values(callback_number=None, callback_state=None, callback_consent_at=None)
            )
            return rowcount(result)

    async def _delete_refusals(self, before: dt.datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(HandoffRefusalRow).where(HandoffRefusalRow.at < as_utc(before))
            )
            return rowcount(result)

    # ---- appointments ----------------------------------------------------------------
    async def _scheduled(
        self, start: dt.datetime, end: dt.datetime, open_only: bool
    ) -> list[QueueEntry]:
        conditions = [
            T.scheduled_for >= as_utc(start),
            T.scheduled_for < as_utc(end),
            T.contact.is_not(None),
        ]
        if open_only:
            conditions.append(T.status.in_(_values((*QUEUED, *HELD))))
        async with self._engine.connect() as conn:
            result = await conn.execute(_ENTRIES.where(*conditions).order_by(T.scheduled_for, T.id))
            return [_entry(row) for row in result]

    async def _select_open_for_number(self, number: str) -> list[QueueEntry]:
        return await self._select(
            T.callback_number == number, T.status.in_(_values((*QUEUED, *HELD)))
        )

    async def _claim_reminder(self, request_id: int, column: str, now: dt.datetime) -> bool:
        target = T[column]
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(handoff_requests)
                .where(
                    T.id == request_id,
                    T.status.in_(_values(QUEUED)),
                    T.scheduled_for.is_not(None),
                    target.is_(None),
                )
                .values({column: as_utc(now)})
            )
            return rowcount(result) == 1
