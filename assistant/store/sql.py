"""The SQL store: SQLite (default, a file under var/) or PostgreSQL, by URL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import CursorResult, delete, event, exists, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import aliased

from assistant.store.base import ConversationStore, StoreError, utcnow
from assistant.store.models import ContinuationRow, ConversationRow, HandoffRequestRow, TurnRow
from assistant.store.records import (
    Button,
    Conversation,
    HandoffRequest,
    Turn,
    TurnDirection,
    TurnStatus,
)


def aware(value: dt.datetime) -> dt.datetime:
    """A datetime read back from the database, as aware UTC.

    SQLite hands back naive datetimes; everything stored is UTC.
    """
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def maybe_aware(value: dt.datetime | None) -> dt.datetime | None:
    """``aware`` for a nullable column."""
    return aware(value) if value is not None else None


def as_utc(value: dt.datetime) -> dt.datetime:
    """A datetime to bind: SQLite would drop an offset without converting, so bind UTC."""
    return value.astimezone(dt.UTC)


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (0 when the driver cannot tell)."""
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def _buttons_in(buttons: tuple[Button, ...]) -> list[dict[str, str]]:
    return [{"title": b.title, "payload": b.payload} for b in buttons]


def _buttons_out(raw: list[dict[str, str]] | None) -> tuple[Button, ...]:
    return tuple(Button(title=b["title"], payload=b["payload"]) for b in raw or [])


def _conversation(row: ConversationRow) -> Conversation:
    return Conversation(
        id=row.id,
        channel=row.channel,
        address=row.address,
        language=row.language,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        accessibility=dict(row.accessibility or {}),
        last_buttons=_buttons_out(row.last_buttons),
    )


def _turn(row: TurnRow) -> Turn:
    return Turn(
        id=row.id,
        conversation_id=row.conversation_id,
        direction=TurnDirection(row.direction),
        text=row.text,
        language=row.language,
        status=TurnStatus(row.status),
        created_at=aware(row.created_at),
        payload=row.payload,
        buttons=_buttons_out(row.buttons),
        client_message_id=row.client_message_id,
        reply_to=row.reply_to,
        author=row.author,
    )


def _turn_row(
    *,
    conversation_id: str,
    direction: TurnDirection,
    text: str,
    language: str,
    status: TurnStatus,
    payload: str | None,
    buttons: tuple[Button, ...],
    client_message_id: str | None,
    reply_to: int | None,
    created_at: dt.datetime,
    author: str | None = None,
) -> TurnRow:
    return TurnRow(
        conversation_id=conversation_id,
        direction=direction.value,
        text=text,
        language=language,
        status=status.value,
        payload=payload,
        buttons=_buttons_in(buttons),
        client_message_id=client_message_id,
        reply_to=reply_to,
        created_at=created_at,
        author=author,
    )


def _handoff(row: HandoffRequestRow) -> HandoffRequest:
    return HandoffRequest(
        id=row.id,
        conversation_id=row.conversation_id,
        reason=row.reason,
        service=row.service,
        channel=row.channel,
        language=row.language,
        accessibility=dict(row.accessibility or {}),
        status=row.status,
        created_at=aware(row.created_at),
    )


async def probe(
    engine: AsyncEngine, what: str, *queries: str, error: type[Exception] = StoreError
) -> None:
    """Run cheap SELECTs that prove a store's tables answer (every store's ``ping``);
    raise ``error`` naming ``what`` if the database does not."""
    try:
        async with engine.connect() as conn:
            for query in queries:
                await conn.execute(text(query))
    except SQLAlchemyError as exc:
        raise error(f"{what} unavailable: {exc.__class__.__name__}") from exc


# How long a statement may wait for the database: a lock (SQLite), a pooled connection
# or the statement itself (PostgreSQL). Well under Twilio's 15 s webhook wait, so an
# outage becomes a plain answer and a kept message, not a hung request (review M12).
QUERY_TIMEOUT_SECONDS = 5.0
# How long opening a connection may take (PostgreSQL; a blackholed host hangs for minutes).
CONNECT_TIMEOUT_SECONDS = 3.0
# Set on every SQLite connection (``busy_timeout`` comes from the query timeout). WAL:
# readers never block the writer. synchronous stays FULL (SQLite's default): NORMAL
# would save about 1 ms of fsync a commit (measured, issue 19), but a power cut could
# then lose the last commits — a citizen's message already acknowledged to Twilio or
# the web page. A turn commits twice (its message, then its whole answer), so FULL costs
# about 2 ms a turn.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)


def create_engine(
    url: str,
    *,
    query_timeout: float = QUERY_TIMEOUT_SECONDS,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
) -> AsyncEngine:
    """An async engine whose every wait is bounded (``query_timeout``, ``connect_timeout``
    in seconds). SQLite gets WAL, so readers never block writers, and ``SQLITE_PRAGMAS``."""
    if url.startswith("sqlite"):
        # hide_parameters: an error's text never carries the values (a citizen's
        # message, a phone number) into a log line (review M8).
        engine = create_async_engine(
            url, connect_args={"timeout": query_timeout}, hide_parameters=True
        )
        busy_ms = int(query_timeout * 1000)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in (*SQLITE_PRAGMAS, f"PRAGMA busy_timeout={busy_ms}"):
                cursor.execute(pragma)
            cursor.close()

        return engine
    if url.startswith("postgresql"):
        return create_async_engine(
            url,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            pool_timeout=query_timeout,
            hide_parameters=True,
            connect_args=_postgres_timeouts(url, query_timeout, connect_timeout),
        )
    # Fail loudly: never fall back to some other store.
    raise StoreError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}")


def _postgres_timeouts(url: str, query_timeout: float, connect_timeout: float) -> dict[str, Any]:
    """libpq's connect timeout and a server-side statement timeout, added to whatever
    the URL says (its own ``options``, e.g. a search path, are kept; its own
    ``connect_timeout`` wins)."""
    query = make_url(url).query
    options = query.get("options")
    if isinstance(options, tuple):
        options = " ".join(options)
    timeout = f"-c statement_timeout={int(query_timeout * 1000)}"
    return {
        "connect_timeout": query.get("connect_timeout") or max(1, round(connect_timeout)),
        "options": f"{options} {timeout}" if options else timeout,
    }


class SqlConversationStore(ConversationStore):
    """ConversationStore on SQLAlchemy 2 (async)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], dt.datetime] = utcnow) -> None:
        super().__init__(clock)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, clock: Callable[[], dt.datetime] = utcnow) -> SqlConversationStore:
        """Build a store for an async database URL (``clock`` is for tests)."""
        return cls(create_engine(url), clock)

    async def ping(self) -> None:
        await probe(self._engine, "store", "SELECT 1 FROM conversations LIMIT 1")

    async def close(self) -> None:
        await self._engine.dispose()

    async def _insert_conversation(self, conversation: Conversation) -> None:
        async with self._sessions.begin() as session:
            session.add(
                ConversationRow(
                    id=conversation.id,
                    channel=conversation.channel,
                    address=conversation.address,
                    language=conversation.language,
                    accessibility=conversation.accessibility,
                    last_buttons=_buttons_in(conversation.last_buttons),
                    created_at=conversation.created_at,
                    updated_at=conversation.updated_at,
                )
            )

    async def _get_conversation(self, conversation_id: str) -> Conversation | None:
        async with self._sessions() as session:
            row = await session.get(ConversationRow, conversation_id)
            return _conversation(row) if row else None

    async def _latest_conversation(self, channel: str, address: str) -> Conversation | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ConversationRow)
                .where(ConversationRow.channel == channel, ConversationRow.address == address)
                .order_by(ConversationRow.created_at.desc(), ConversationRow.id.desc())
                .limit(1)
            )
            return _conversation(row) if row else None

    async def _update_conversation(self, conversation_id: str, **fields: Any) -> None:
        if "last_buttons" in fields:
            fields["last_buttons"] = _buttons_in(fields["last_buttons"])
        async with self._sessions.begin() as session:
            await session.execute(
                update(ConversationRow)
                .where(ConversationRow.id == conversation_id)
                .values(**fields)
            )

    async def _insert_turn(
        self,
        *,
        conversation_id: str,
        direction: TurnDirection,
        text: str,
        language: str,
        status: TurnStatus,
        payload: str | None,
        buttons: tuple[Button, ...],
        client_message_id: str | None,
        reply_to: int | None,
        created_at: dt.datetime,
        author: str | None = None,
    ) -> Turn | None:
        row = _turn_row(
            conversation_id=conversation_id,
            direction=direction,
            text=text,
            language=language,
            status=status,
            payload=payload,
            buttons=buttons,
            client_message_id=client_message_id,
            reply_to=reply_to,
            created_at=created_at,
            author=author,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
                await session.flush()
                return _turn(row)
        except IntegrityError:
            if client_message_id is not None:
                return None
            raise

    async def _insert_answer(
        self,
        conversation_id: str,
        turns: list[dict[str, Any]],
        *,
        reply_to: int,
        status: TurnStatus | None,
        conversation: dict[str, Any],
    ) -> list[Turn]:
        stored: list[Turn] = []
        async with self._sessions.begin() as session:
            for fields in turns:
                row = _turn_row(**fields)
                session.add(row)
                # One at a time: each reply's id follows the one before (a transcript
                # is ordered by id), on every database.
                await session.flush()
                stored.append(_turn(row))
            if status is not None:
                await session.execute(
                    update(TurnRow).where(TurnRow.id == reply_to).values(status=status.value)
                )
            if conversation:
                values = dict(conversation)
                if "last_buttons" in values:
                    values["last_buttons"] = _buttons_in(values["last_buttons"])
                await session.execute(
                    update(ConversationRow)
                    .where(ConversationRow.id == conversation_id)
                    .values(**values)
                )
        return stored

    async def _find_turn_by_client_id(
        self, conversation_id: str, client_message_id: str
    ) -> Turn | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(TurnRow).where(
                    TurnRow.conversation_id == conversation_id,
                    TurnRow.client_message_id == client_message_id,
                )
            )
            return _turn(row) if row else None

    async def _update_turn_status(self, turn_id: int, status: TurnStatus) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(TurnRow).where(TurnRow.id == turn_id).values(status=status.value)
            )

    async def _list_turns(self, conversation_id: str, after_id: int) -> list[Turn]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(TurnRow)
                .where(TurnRow.conversation_id == conversation_id, TurnRow.id > after_id)
                .order_by(TurnRow.id)
            )
            return [_turn(row) for row in rows]

    async def _list_replies(self, turn_id: int) -> list[Turn]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(TurnRow).where(TurnRow.reply_to == turn_id).order_by(TurnRow.id)
            )
            return [_turn(row) for row in rows]

    async def _list_pending(self, conversation_id: str | None) -> list[Turn]:
        query = select(TurnRow).where(TurnRow.status == TurnStatus.PENDING.value)
        if conversation_id is not None:
            query = query.where(TurnRow.conversation_id == conversation_id)
        async with self._sessions() as session:
            rows = await session.scalars(query.order_by(TurnRow.id))
            return [_turn(row) for row in rows]

    async def _insert_handoff(self, **fields: Any) -> HandoffRequest:
        row = HandoffRequestRow(**fields)
        async with self._sessions.begin() as session:
            session.add(row)
            await session.flush()
            return _handoff(row)

    async def _list_handoffs(self, conversation_id: str) -> list[HandoffRequest]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(HandoffRequestRow)
                .where(HandoffRequestRow.conversation_id == conversation_id)
                .order_by(HandoffRequestRow.id)
            )
            return [_handoff(row) for row in rows]

    async def _insert_continuation(self, **fields: Any) -> None:
        for name in ("created_at", "expires_at"):
            fields[name] = as_utc(fields[name])
        async with self._sessions.begin() as session:
            session.add(ContinuationRow(**fields))

    async def _claim_continuation(self, token_hash: str, now: dt.datetime) -> str | None:
        async with self._sessions.begin() as session:
            # One UPDATE decides: of two simultaneous claims, only one finds used_at empty.
            result = await session.execute(
                update(ContinuationRow)
                .where(
                    ContinuationRow.token_hash == token_hash,
                    ContinuationRow.used_at.is_(None),
                    ContinuationRow.expires_at > as_utc(now),
                )
                .values(used_at=as_utc(now))
            )
            if rowcount(result) != 1:
                return None
            found: str | None = await session.scalar(
                select(ContinuationRow.conversation_id).where(
                    ContinuationRow.token_hash == token_hash
                )
            )
            return found

    async def _update_continuation(self, token_hash: str, **fields: Any) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(ContinuationRow)
                .where(ContinuationRow.token_hash == token_hash)
                .values(**fields)
            )

    async def _requeue_dropped(self, received_before: dt.datetime) -> int:
        reply = aliased(TurnRow)
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(TurnRow)
                .where(
                    TurnRow.direction == TurnDirection.INBOUND.value,
                    TurnRow.status == TurnStatus.RECEIVED.value,
                    TurnRow.created_at < as_utc(received_before),
                    # A turn whose answer was stored is not dropped: never answer twice.
                    ~exists().where(reply.reply_to == TurnRow.id),
                )
                .values(status=TurnStatus.PENDING.value)
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)

    async def _last_turn_at(self, conversation_id: str) -> dt.datetime | None:
        async with self._sessions() as session:
            newest = await session.scalar(
                select(func.max(TurnRow.created_at)).where(
                    TurnRow.conversation_id == conversation_id
                )
            )
            return maybe_aware(newest)

    async def _last_inbound_text(self, conversation_id: str) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(TurnRow.text)
                .where(
                    TurnRow.conversation_id == conversation_id,
                    TurnRow.direction == TurnDirection.INBOUND.value,
                )
                .order_by(TurnRow.id.desc())
                .limit(1)
            )

    async def _conversations_of(self, address: str) -> list[str]:
        async with self._sessions() as session:
            found = await session.scalars(
                select(ConversationRow.id).where(ConversationRow.address == address)
            )
            return list(found)

    async def _continued_from(self, conversation_ids: list[str]) -> list[str]:
        async with self._sessions() as session:
            found = await session.scalars(
                select(ContinuationRow.continued_as).where(
                    ContinuationRow.conversation_id.in_(conversation_ids),
                    ContinuationRow.continued_as.is_not(None),
                )
            )
            return [str(i) for i in found]

    async def _inactive_since(self, before: dt.datetime, limit: int) -> list[str]:
        recent = exists().where(
            TurnRow.conversation_id == ConversationRow.id,
            TurnRow.created_at >= as_utc(before),
        )
        async with self._sessions() as session:
            found = await session.scalars(
                select(ConversationRow.id)
                .where(ConversationRow.updated_at < as_utc(before), ~recent)
                .order_by(ConversationRow.updated_at)
                .limit(limit)
            )
            return list(found)

    async def _erase(self, conversation_ids: list[str]) -> int:
        if not conversation_ids:
            return 0
        erased = 0
        async with self._sessions.begin() as session:
            # Children first: no reliance on ON DELETE CASCADE (SQLite applies it only
            # with its foreign_keys pragma).
            for table, column in (
                (HandoffRequestRow, HandoffRequestRow.conversation_id),
                (ContinuationRow, ContinuationRow.conversation_id),
                (TurnRow, TurnRow.conversation_id),
                (ConversationRow, ConversationRow.id),
            ):
                result = await session.execute(delete(table).where(column.in_(conversation_ids)))
            erased = rowcount(result)  # the last statement: the conversations
        return erased
