"""The SQL account store: SQLite (default) or PostgreSQL, by URL.

Each primitive is one statement; the username's uniqueness is the database's unique
index, so two processes creating the same account cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from assistant.accounts.base import AccountStore
from assistant.accounts.models import AccountRow, AuditRow, ConsoleSessionRow
from assistant.accounts.passwords import Passwords
from assistant.accounts.records import Account, AccountExists, AuditEntry, Role
from assistant.store.base import utcnow
from assistant.store.sql import as_utc, aware, create_engine, probe, rowcount

_TIMES = ("created_at", "updated_at", "expires_at", "at")


def _bind(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: as_utc(value) if key in _TIMES and isinstance(value, dt.datetime) else value
        for key, value in values.items()
    }


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        name=row.name,
        role=Role(row.role),
        centre=row.centre,
        region=row.region,
        active=bool(row.active),
        created_at=aware(row.created_at),
        totp=row.totp_nonce is not None,
    )


def _audit(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=aware(row.at),
        actor_id=row.actor_id,
        actor_username=row.actor_username,
        role=Role(row.role),
        action=row.action,
        conversation_id=row.conversation_id,
        detail=dict(row.detail or {}),
    )


class SqlAccountStore(AccountStore):
    """AccountStore on SQLAlchemy 2 (async)."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], dt.datetime] = utcnow,
        passwords: Passwords | None = None,
    ) -> None:
        super().__init__(clock, passwords)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(
        cls,
        url: str,
        clock: Callable[[], dt.datetime] = utcnow,
        passwords: Passwords | None = None,
    ) -> SqlAccountStore:
        """Build a store for an async database URL (``clock`` is for tests)."""
        return cls(create_engine(url), clock, passwords)

    async def ping(self) -> None:
        await probe(
            self._engine,
            "account store",
            "SELECT 1 FROM accounts LIMIT 1",
            "SELECT 1 FROM console_sessions LIMIT 1",
            "SELECT 1 FROM audit_log LIMIT 1",
        )

    async def close(self) -> None:
        await self._engine.dispose()

    async def _insert_account(self, values: dict[str, Any]) -> Account:
        row = AccountRow(**_bind(values))
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise AccountExists(f"an account {values['username']!r} already exists") from None
        return _account(row)

    async def _account_by_username(self, username: str) -> tuple[Account, str] | None:
        async with self._sessions() as session:
            row = await session.scalar(select(AccountRow).where(AccountRow.username == username))
            return (_account(row), row.password_hash) if row else None

    async def _account_by_id(self, account_id: int) -> Account | None:
        async with self._sessions() as session:
            row = await session.get(AccountRow, account_id)
            return _account(row) if row else None

    async def _list_accounts(self) -> list[Account]:
        async with self._sessions() as session:
            rows = await session.scalars(select(AccountRow).order_by(AccountRow.username))
            return [_account(row) for row in rows]

    async def _update_account(self, username: str, values: dict[str, Any]) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(AccountRow).where(AccountRow.username == username).values(**_bind(values))
            )
            return rowcount(result) == 1

    async def _totp_nonce(self, account_id: int) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(AccountRow.totp_nonce).where(AccountRow.id == account_id)
            )

    async def _advance_totp_step(self, account_id: int, step: int) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(AccountRow)
                .where(
                    AccountRow.id == account_id,
                    AccountRow.totp_nonce.is_not(None),
                    (AccountRow.totp_last_step.is_(None)) | (AccountRow.totp_last_step < step),
                )
                .values(totp_last_step=step)
            )
            return rowcount(result) == 1

    async def _insert_session(self, values: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            await session.execute(insert(ConsoleSessionRow).values(**_bind(values)))

    async def _session(self, token_hash: str) -> tuple[str, Account, dt.datetime] | None:
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(ConsoleSessionRow, AccountRow)
                    .join(AccountRow, AccountRow.id == ConsoleSessionRow.account_id)
                    .where(ConsoleSessionRow.token_hash == token_hash)
                )
            ).first()
            if found is None:
                return None
            web, account = found
            return web.csrf_token, _account(account), aware(web.expires_at)

    async def _session_created(self, token_hash: str) -> dt.datetime | None:
        async with self._sessions() as session:
            created = await session.scalar(
                select(ConsoleSessionRow.created_at).where(
                    ConsoleSessionRow.token_hash == token_hash
                )
            )
            return aware(created) if created is not None else None

    async def _extend_session(
        self, token_hash: str, now: dt.datetime, expires_at: dt.datetime
    ) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(ConsoleSessionRow)
                .where(
                    ConsoleSessionRow.token_hash == token_hash,
                    ConsoleSessionRow.expires_at > as_utc(now),
                )
                .values(expires_at=as_utc(expires_at))
            )
            return rowcount(result) == 1

    async def _delete_session(self, token_hash: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.token_hash == token_hash)
            )

    async def _delete_sessions_of(self, account_id: int) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.account_id == account_id)
            )
            return rowcount(result)

    async def _delete_expired_sessions(self, now: dt.datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= as_utc(now))
            )
            return rowcount(result)

    async def _insert_audit(self, values: dict[str, Any]) -> AuditEntry:
        row = AuditRow(**_bind(values))
        async with self._sessions.begin() as session:
            session.add(row)
        return _audit(row)

    async def _audit_log(
        self, conversation_id: str | None, actor_id: int | None, action: str | None, limit: int
    ) -> list[AuditEntry]:
        query = select(AuditRow)
        if conversation_id is not None:
            query = query.where(AuditRow.conversation_id == conversation_id)
        if actor_id is not None:
            query = query.where(AuditRow.actor_id == actor_id)
        if action is not None:
            query = query.where(AuditRow.action == action)
        # The id orders entries written in the same instant too.
        query = query.order_by(AuditRow.id.desc()).limit(limit)
        async with self._sessions() as session:
            return [_audit(row) for row in await session.scalars(query)]

    async def _delete_audit_before(self, before: dt.datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(AuditRow).where(AuditRow.at < as_utc(before)))
            return rowcount(result)
