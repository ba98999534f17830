"""The SQL profile store: SQLite (default) or PostgreSQL, by URL.

Each primitive is one statement (reads, an insert that may hit the primary key, an update
whose WHERE clause holds the expected version), never a read and a write in one
transaction, which SQLite refuses when another connection wrote in between.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from assistant.profiles.base import Erasable, ProfileStore
from assistant.profiles.models import CitizenProfileRow
from assistant.profiles.records import CitizenProfile, check_language, full_accessibility
from assistant.store.base import utcnow
from assistant.store.sql import as_utc, aware, create_engine, probe, rowcount


def _profile(row: CitizenProfileRow) -> CitizenProfile:
    return CitizenProfile(
        phone=row.phone,
        language=check_language(row.language),
        consented_at=aware(row.consented_at),
        updated_at=aware(row.updated_at),
        accessibility=full_accessibility(row.accessibility or {}),
        reminders_opt_in=bool(row.reminders_opt_in),
    )


class SqlProfileStore(ProfileStore):
    """ProfileStore on SQLAlchemy 2 (async)."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], dt.datetime] = utcnow,
        also_forget: Sequence[Erasable] = (),
    ) -> None:
        super().__init__(clock, also_forget)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(
        cls,
        url: str,
        clock: Callable[[], dt.datetime] = utcnow,
        also_forget: Sequence[Erasable] = (),
    ) -> SqlProfileStore:
        """Build a store for an async database URL (``clock`` is for tests)."""
        return cls(create_engine(url), clock, also_forget)

    async def ping(self) -> None:
        await probe(self._engine, "profile store", "SELECT 1 FROM citizen_profiles LIMIT 1")

    async def close(self) -> None:
        await self._engine.dispose()

    async def _get(self, phone: str) -> tuple[CitizenProfile, int] | None:
        async with self._sessions() as session:
            row = await session.get(CitizenProfileRow, phone)
            return (_profile(row), row.version) if row else None

    async def _insert(self, profile: CitizenProfile) -> bool:
        try:
            async with self._sessions.begin() as session:
                session.add(
                    CitizenProfileRow(
                        phone=profile.phone,
                        language=profile.language,
                        accessibility=dict(profile.accessibility),
                        reminders_opt_in=profile.reminders_opt_in,
                        consented_at=as_utc(profile.consented_at),
                        updated_at=as_utc(profile.updated_at),
                        version=1,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def _replace(self, profile: CitizenProfile, version: int) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(CitizenProfileRow)
                .where(
                    CitizenProfileRow.phone == profile.phone,
                    CitizenProfileRow.version == version,
                )
                .values(
                    language=profile.language,
                    accessibility=dict(profile.accessibility),
                    reminders_opt_in=profile.reminders_opt_in,
                    consented_at=as_utc(profile.consented_at),
                    updated_at=as_utc(profile.updated_at),
                    version=version + 1,
                )
            )
            return rowcount(result) == 1

    async def _delete(self, phone: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CitizenProfileRow).where(CitizenProfileRow.phone == phone)
            )
            return rowcount(result)
