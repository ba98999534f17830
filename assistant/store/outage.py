"""What counts as "the database is out" (review M12), as opposed to a bug.

A locked SQLite file, a PostgreSQL server that does not answer, a statement past its
timeout, no free pooled connection, Redis (shared limits and SMS state) unreachable:
each of these passes, and the request that met one gets a plain answer and is kept
or retried, not a 500. A constraint violation or a programming error is not an outage.
"""

from __future__ import annotations

from redis import exceptions as redis_errors
from sqlalchemy import exc as sql_errors

from assistant.store.base import StoreError

OUTAGES: tuple[type[Exception], ...] = (
    StoreError,
    sql_errors.OperationalError,  # locked, unreachable, statement timeout, connection lost
    sql_errors.InterfaceError,  # the connection broke under the driver
    sql_errors.TimeoutError,  # no pooled connection within the wait
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` is the database (or Redis) being out, not a bug."""
    return isinstance(exc, OUTAGES)
