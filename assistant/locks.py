"""Locks that keep one conversation's turns, and one number's messages, one at a time.

``LocalLocks`` are asyncio locks in this process: the embedded default, where one
gateway process is all there is. ``RedisLocks`` (with ``SOTONG_REDIS_URL``, issue 18)
hold the same key across every gateway: redis-py's lock, a ``SET NX PX`` with a random
token, released by a script that compares the token, so only its holder frees it; it
expires if its gateway dies mid-turn, and is extended while held, since a dialogue turn
may outlast the expiry. In-process waiters queue on a local lock first, so Redis sees
one contender per process and a process's own turns keep their order.

Why Redis and not PostgreSQL advisory locks: an advisory lock lives on one database
connection for the whole turn (a pool drained by waiting turns under load), does not
exist on SQLite, and the scaled mode has Redis anyway. Redis unreachable: the lock falls
back to this process's own (logged): a turn is answered rather than refused, and only
two gateways taking one conversation's turns during the outage could interleave them.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import redis.asyncio as aioredis
import structlog
from redis.exceptions import LockError, RedisError

log = structlog.get_logger(__name__)

KEY_PREFIX = "sotong:lock:"


class LockTimeout(Exception):
    """The lock stayed taken for longer than one is willing to wait."""


class Locks(abc.ABC):
    """Named locks: ``async with locks.hold("conversation:<id>"): …``."""

    @classmethod
    def from_url(cls, redis_url: str | None) -> Locks:
        """Locks for this deployment: across gateways over Redis when a URL is given."""
        return RedisLocks(redis_url) if redis_url else LocalLocks()

    @abc.abstractmethod
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the lock named ``key`` for the block (waiting for it first)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Let go of connections."""


class LocalLocks(Locks):
    """One asyncio lock per key, alive while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, key: str) -> asyncio.Lock:
        """The asyncio lock of ``key`` (the same one while it is in use)."""
        found = self._locks.get(key)
        if found is None:
            found = asyncio.Lock()
            self._locks[key] = found
        return found

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        return _held(self.lock(key))

    async def close(self) -> None:
        """Nothing to let go of in one process."""


class RedisLocks(Locks):
    """A key's lock held in Redis, across every gateway process."""

    def __init__(
        self, redis_url: str, expire_seconds: float = 30.0, wait_seconds: float = 120.0
    ) -> None:
        self._redis = aioredis.from_url(redis_url)
        self._local = LocalLocks()
        self._expire = expire_seconds
        self._wait = wait_seconds

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key):
            lock = self._redis.lock(
                KEY_PREFIX + key, timeout=self._expire, blocking_timeout=self._wait, sleep=0.02
            )
            try:
                acquired = await lock.acquire()
            except (RedisError, OSError) as exc:
                log.warning("locks.redis_unavailable", key=key, error=repr(exc))
                yield  # this process's lock only, while Redis is away
                return
            if not acquired:
                raise LockTimeout(key)
            keeper = asyncio.create_task(self._keep(lock, key))
            try:
                yield
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
                try:
                    await lock.release()
                except (LockError, RedisError, OSError) as exc:
                    # It expired (a stalled turn) or Redis went away: nothing to free.
                    log.warning("locks.release_failed", key=key, error=repr(exc))

    async def _keep(self, lock: aioredis.lock.Lock, key: str) -> None:
        """Extend the lock while it is held (every third of its expiry)."""
        while True:
            await asyncio.sleep(self._expire / 3)
            try:
                await lock.extend(self._expire, replace_ttl=True)
            except (LockError, RedisError, OSError) as exc:
                log.warning("locks.extend_failed", key=key, error=repr(exc))
                return

    async def close(self) -> None:
        await self._redis.aclose()


@contextlib.asynccontextmanager
async def _held(lock: asyncio.Lock) -> AsyncIterator[None]:
    async with lock:
        yield
