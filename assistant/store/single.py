"""Which gateways may share a database (review M3, issue 18 point 6), and one
migration at a time.

In the embedded mode (no ``SOTONG_REDIS_URL``, or SQLite) the push hub, console
notifications, video signalling, the per-conversation and per-number locks and the
count of calls on the line live in one process's memory. A second gateway on the same
database would answer kept messages twice, lose pushes between processes and race on
the last-offered buttons, so it refuses to start, loudly, instead of half working:

- PostgreSQL: a session-level advisory lock, held on a connection of its own for the
  process's life (released by the server if the process dies);
- SQLite: an exclusive ``flock`` on a file beside the database (released by the
  kernel if the process dies, ``kill -9`` included). SQLite is one machine's file:
  there is no scaled mode on it, Redis or not.

In the scaled mode (``SOTONG_REDIS_URL`` and PostgreSQL) those parts live in Redis and
any number of gateways run; each holds the same advisory lock *shared*. Shared and
exclusive holders exclude each other, so an embedded gateway (one started without the
Redis URL by mistake) cannot start beside scaled ones, nor they beside it.

Migrations take another advisory lock on PostgreSQL, so two ``sotong db upgrade`` (or a
job and a gateway started with ``SOTONG_AUTO_MIGRATE``) never race on ``alembic_version``.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psycopg
import structlog

from assistant.config import to_sync_url

log = structlog.get_logger(__name__)

# Advisory locks are per database server and database; the key adds the schema, since a
# deployment's tables live in one (the tests give each run its own schema).
_KEY = "hashtextextended(current_database() || '.' || current_schema() || %s, 0)"
GATEWAY_LOCK = "sotong.gateway"
MIGRATION_LOCK = "sotong.migration"


class AnotherGateway(RuntimeError):
    """A gateway process already runs on this database."""


def _libpq_url(database_url: str) -> str:
    """A URL psycopg itself takes (no SQLAlchemy driver suffix)."""
    url = to_sync_url(database_url)
    scheme, _, rest = url.partition("://")
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def _sqlite_path(database_url: str) -> Path | None:
    path = database_url.split(":///", 1)[-1].split("?", 1)[0]
    return None if not path or path == ":memory:" else Path(path)


class GatewayGuard:
    """Held while this process is the database's gateway; ``release`` lets it go."""

    def __init__(
        self,
        connection: psycopg.Connection | None,
        lock_file: IO[str] | None,
        *,
        scaled: bool = False,
    ) -> None:
        self._connection = connection
        self._lock_file = lock_file
        self._unlock = "pg_advisory_unlock_shared" if scaled else "pg_advisory_unlock"

    @classmethod
    def acquire(cls, database_url: str, *, scaled: bool = False) -> GatewayGuard:
        """Become the database's one gateway, or with ``scaled`` (PostgreSQL and Redis)
        one of its scaled gateways (blocking: call from a thread in async code).

        Raises AnotherGateway, naming what to do, if that is not safe.
        """
        if database_url.startswith("postgres"):
            connection = psycopg.connect(_libpq_url(database_url), autocommit=True)
            function = "pg_try_advisory_lock_shared" if scaled else "pg_try_advisory_lock"
            locked = connection.execute(f"SELECT {function}({_KEY})", (GATEWAY_LOCK,)).fetchone()
            if not (locked and locked[0]):
                connection.close()
                raise AnotherGateway(_SCALED_REFUSAL if scaled else _REFUSAL)
            return cls(connection, None, scaled=scaled)
        if scaled:
            raise ValueError("the scaled mode needs PostgreSQL")
        path = _sqlite_path(database_url)
        if path is None:
            return cls(None, None)  # an in-memory database is this process's alone
        path.parent.mkdir(parents=True, exist_ok=True)
        # Held open for the process's life (closed by ``release``).
        lock_file = open(path.with_name(path.name + ".gateway-lock"), "a", encoding="utf-8")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            lock_file.close()
            raise AnotherGateway(_REFUSAL) from exc
        return cls(None, lock_file)

    def release(self) -> None:
        """Stop being the gateway (at shutdown)."""
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.execute(f"SELECT {self._unlock}({_KEY})", (GATEWAY_LOCK,))
            self._connection.close()
            self._connection = None
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


_REFUSAL = (
    "another Sotong gateway process already runs on this database; without "
    "SOTONG_REDIS_URL (or on SQLite) run exactly one (no `uvicorn --workers`, one compose "
    "replica): its live parts are in memory. To run several, give every gateway the same "
    "SOTONG_REDIS_URL and a PostgreSQL SOTONG_DATABASE_URL (README: Running several "
    "gateways)"
)
_SCALED_REFUSAL = (
    "a Sotong gateway without SOTONG_REDIS_URL already runs on this database: it keeps "
    "its live parts in memory, so no other gateway may join it. Stop it and start every "
    "gateway with the same SOTONG_REDIS_URL (README: Running several gateways)"
)


@contextlib.contextmanager
def migration_lock(database_url: str) -> Iterator[None]:
    """Hold the migration lock while the body runs (PostgreSQL; SQLite's own write
    lock already serialises two migrations of one file)."""
    if not database_url.startswith("postgres"):
        yield
        return
    with psycopg.connect(_libpq_url(database_url), autocommit=True) as connection:
        connection.execute(f"SELECT pg_advisory_lock({_KEY})", (MIGRATION_LOCK,))
        try:
            yield
        finally:
            connection.execute(f"SELECT pg_advisory_unlock({_KEY})", (MIGRATION_LOCK,))
