"""Locks per conversation and per number (assistant/locks.py, issue 18 point 2).

On the real Redis of the development and CI machines (the ``redis_url`` fixture says
loudly when it is missing): two ``RedisLocks`` stand for two gateway processes; the
holders of one key never overlap, a lock whose gateway died frees itself at its expiry,
a turn longer than the expiry keeps its lock, and without Redis a turn still runs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from assistant.locks import KEY_PREFIX, LocalLocks, Locks, LockTimeout, RedisLocks


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"  # the Redis is shared: a key of this test's own


@pytest.fixture
async def gateways(redis_url: str) -> AsyncIterator[tuple[RedisLocks, RedisLocks]]:
    a = RedisLocks(redis_url, expire_seconds=2.0, wait_seconds=20.0)
    b = RedisLocks(redis_url, expire_seconds=2.0, wait_seconds=20.0)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def _crowd(locks: list[Locks], key: str, turns: int) -> tuple[int, list[int]]:
    """``turns`` turns over the given gateways on one key; the most ever inside at
    once, and the order the turns ran in."""
    inside = 0
    most = 0
    ran: list[int] = []

    async def turn(n: int) -> None:
        nonlocal inside, most
        async with locks[n % len(locks)].hold(key):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            ran.append(n)
            inside -= 1

    await asyncio.gather(*(turn(n) for n in range(turns)))
    return most, ran


async def test_two_gateways_never_hold_one_key_at_once(
    gateways: tuple[RedisLocks, RedisLocks],
) -> None:
    most, ran = await _crowd(list(gateways), _key(), 30)
    assert most == 1 and sorted(ran) == list(range(30))


async def test_other_keys_do_not_wait(gateways: tuple[RedisLocks, RedisLocks]) -> None:
    a, b = gateways
    first, second = _key(), _key()
    async with a.hold(first):
        async with asyncio.timeout(2):
            async with b.hold(second):
                pass


async def test_a_dead_gateway_s_lock_frees_itself_and_a_long_turn_keeps_its_own(
    redis_url: str, gateways: tuple[RedisLocks, RedisLocks]
) -> None:
    a, b = gateways
    key = _key()
    client = aioredis.from_url(redis_url)
    try:
        # A gateway that died mid-turn: its lock is there, with a short life, never freed.
        dead = client.lock(KEY_PREFIX + key, timeout=0.5)
        assert await dead.acquire()
        async with asyncio.timeout(5):
            async with a.hold(key):
                pass
        # A turn longer than the expiry (2 s) is extended while held: nobody else gets in.
        entered = asyncio.Event()
        order: list[str] = []

        async def long_turn() -> None:
            async with a.hold(key):
                entered.set()
                await asyncio.sleep(3.0)
                order.append("long")

        async def other() -> None:
            await entered.wait()
            async with b.hold(key):
                order.append("other")

        await asyncio.gather(long_turn(), other())
        assert order == ["long", "other"]
    finally:
        await client.aclose()


async def test_waiting_too_long_is_an_error_not_a_second_holder(redis_url: str) -> None:
    a = RedisLocks(redis_url, expire_seconds=5.0, wait_seconds=5.0)
    b = RedisLocks(redis_url, expire_seconds=5.0, wait_seconds=0.3)
    key = _key()
    try:
        async with a.hold(key):
            with pytest.raises(LockTimeout):
                async with b.hold(key):
                    pytest.fail("two holders")
    finally:
        await a.close()
        await b.close()


async def test_without_redis_a_turn_still_runs_one_at_a_time_in_its_process() -> None:
    locks = RedisLocks("redis://127.0.0.1:1/0", wait_seconds=1.0)
    most, ran = await _crowd([locks], _key(), 5)
    assert most == 1 and len(ran) == 5
    await locks.close()


async def test_local_locks_and_the_choice() -> None:
    most, ran = await _crowd([LocalLocks()], "k", 10)
    assert most == 1 and ran == list(range(10))  # in the order they came
    assert isinstance(Locks.from_url(None), LocalLocks)
    assert isinstance(Locks.from_url("redis://127.0.0.1:6379/15"), RedisLocks)
