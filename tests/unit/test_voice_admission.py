"""How many calls the line takes at once (channels/voice/admission.py; review M10), in
one gateway and across gateways through Redis (issue 18 points 5 and 6).

The shared count runs against the real Redis of the development and CI machines (the
``redis_url`` fixture says loudly when it is missing); every test has a namespace of its
own there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from assistant.instances import GatewayRegistry
from channels.voice.admission import CallAdmission, RedisCallAdmission


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_line_takes_its_limit_then_frees_a_place_when_a_call_ends() -> None:
    clock = Clock()
    line = CallAdmission(2, pending_seconds=20, clock=clock)
    assert await line.admit("CA1") and await line.admit("CA2")
    assert not await line.admit("CA3") and await line.active() == 2
    assert await line.admit("CA1")  # Twilio retrying the webhook of a call already taken
    await line.started("CA1")
    await line.started("CA2")
    assert not await line.admit("CA3")
    await line.ended("CA1")
    assert await line.admit("CA3") and await line.active() == 2
    await line.ended("CA404")  # an unknown call changes nothing
    assert await line.active() == 2


async def test_a_call_whose_stream_never_opens_stops_counting() -> None:
    clock = Clock()
    line = CallAdmission(1, pending_seconds=20, clock=clock)
    assert await line.admit("CA1")
    clock.now += 19
    assert not await line.admit("CA2")
    clock.now += 2  # the caller hung up before the stream opened
    assert await line.admit("CA2") and await line.active() == 1
    await line.started("CA2")
    clock.now += 3600  # a live call counts however long it lasts
    assert not await line.admit("CA3")


def test_at_least_one_call() -> None:
    with pytest.raises(ValueError):
        CallAdmission(0)


# ---- across gateways ------------------------------------------------------------------
@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex}"  # the Redis is shared


def gateway(
    redis: aioredis.Redis, namespace: str, max_calls: int, **kwargs: float
) -> tuple[GatewayRegistry, RedisCallAdmission]:
    """One gateway's registry entry and its view of the line."""
    alive = kwargs.pop("alive_seconds", 20.0)
    registry = GatewayRegistry(redis, namespace=namespace, alive_seconds=alive)
    admission = RedisCallAdmission(
        redis, max_calls, namespace=namespace, alive_seconds=alive, **kwargs
    )
    return registry, admission


async def test_a_call_answered_on_one_gateway_and_streamed_on_another_counts_once(
    redis: aioredis.Redis, namespace: str
) -> None:
    (reg_a, a), (reg_b, b) = gateway(redis, namespace, 1), gateway(redis, namespace, 1)
    await reg_a.beat()
    await reg_b.beat()  # two gateways of one call each: the line takes two
    assert await a.admit("CA1")  # the webhook on A
    assert await b.admit("CA1")  # Twilio retrying it, on B: the same call
    await b.started("CA1")  # its stream on B
    assert await a.active() == await b.active() == 1
    assert await b.admit("CA2")
    assert not await a.admit("CA3") and not await b.admit("CA3")
    await b.ended("CA1")
    assert await a.admit("CA3")
    assert {g.id for g in await reg_a.alive()} == {reg_a.id, reg_b.id}


async def test_two_gateways_admitting_at_once_never_pass_the_line_s_capacity(
    redis: aioredis.Redis, namespace: str
) -> None:
    (reg_a, a), (reg_b, b) = gateway(redis, namespace, 3), gateway(redis, namespace, 3)
    await reg_a.beat()
    await reg_b.beat()
    answers = await asyncio.gather(
        *(line.admit(f"CA{n}") for n in range(20) for line in (a, b) if n % 2 == (line is b))
    )
    assert sum(answers) == 6  # three places on each of two gateways


async def test_a_killed_gateway_s_calls_and_capacity_leave_the_count_together(
    redis: aioredis.Redis, namespace: str
) -> None:
    (reg_a, a), (reg_b, b) = (
        gateway(redis, namespace, 1, alive_seconds=1.0),
        gateway(redis, namespace, 1, alive_seconds=1.0),
    )
    await reg_a.beat()
    await reg_b.beat()
    for line, sid in ((a, "CA1"), (b, "CA2")):
        assert await line.admit(sid)
        await line.started(sid)
    assert not await a.admit("CA3")
    # B is killed: it stops beating and renewing; A goes on.
    for _ in range(3):
        await asyncio.sleep(0.5)
        await reg_a.beat()
        await a.renew()
    assert [g.id for g in await reg_a.alive()] == [reg_a.id]
    assert await a.active() == 1  # B's call is gone with B
    assert not await a.admit("CA3")  # and so is B's place
    await a.ended("CA1")
    assert await a.admit("CA3")


async def test_a_call_whose_stream_never_opens_stops_counting_on_the_line(
    redis: aioredis.Redis, namespace: str
) -> None:
    registry, line = gateway(redis, namespace, 1, pending_seconds=0.5)
    await registry.beat()
    assert await line.admit("CA1") and not await line.admit("CA2")
    await asyncio.sleep(0.7)
    assert await line.admit("CA2") and await line.active() == 1


async def test_redis_out_takes_the_caller_rather_than_turning_them_away() -> None:
    unreachable = aioredis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)
    line = RedisCallAdmission(unreachable, 1)
    try:
        assert await line.admit("CA1") and await line.admit("CA2")
        await line.started("CA1")
        await line.ended("CA1")
    finally:
        await unreachable.aclose()
