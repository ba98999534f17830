"""The registry of live gateways (assistant/instances.py, issue 18 point 6), on the real
Redis of the development and CI machines (the ``redis_url`` fixture says loudly when it
is missing); each test has a namespace of its own there."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import redis.asyncio as aioredis
import structlog

from assistant.instances import GatewayRegistry


async def test_the_heartbeat_renews_what_the_gateway_holds_and_counts_the_living(
    redis_url: str,
) -> None:
    client = aioredis.from_url(redis_url)
    namespace = f"test-{uuid.uuid4().hex}"
    one = GatewayRegistry(client, namespace=namespace, alive_seconds=1.0)
    other = GatewayRegistry(client, namespace=namespace, alive_seconds=1.0)
    renewed: list[int] = []
    counts: list[int] = []

    async def renew() -> None:
        renewed.append(1)

    try:
        await other.beat()
        with structlog.testing.capture_logs() as logs:
            beating = asyncio.create_task(one.run(every=0.2, on_beat=renew, on_alive=counts.append))
            await asyncio.sleep(1.5)  # the other stopped beating over a second ago
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        assert len(renewed) >= 5 and counts[0] == 2 and counts[-1] == 1
        assert [e["alive"] for e in logs if e["event"] == "gateway.registered"] == [2]
        await one.leave()
        assert await one.alive() == []
    finally:
        await client.aclose()


async def test_redis_out_is_logged_and_the_heartbeat_goes_on() -> None:
    unreachable = aioredis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    registry = GatewayRegistry(unreachable, namespace="unreachable")
    try:
        with structlog.testing.capture_logs() as logs:
            beating = asyncio.create_task(registry.run(every=0.1))
            await asyncio.sleep(0.5)
            assert not beating.done()
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        assert [e["event"] for e in logs].count("gateway.heartbeat_failed") >= 2
    finally:
        await unreachable.aclose()


async def test_a_cancellation_swallowed_inside_a_beat_still_stops_the_heartbeat(
    redis_url: str,
) -> None:
    client = aioredis.from_url(redis_url)
    registry = GatewayRegistry(client, namespace=f"test-{uuid.uuid4().hex}", alive_seconds=1.0)
    inside = asyncio.Event()

    async def swallowing() -> None:
        if inside.is_set():
            return  # only the first beat swallows, so the test ends either way
        inside.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass  # as a library cleaning up a connection mid-command may do

    try:
        beating = asyncio.create_task(registry.run(every=0.05, on_beat=swallowing))
        await inside.wait()
        beating.cancel()
        await asyncio.wait([beating], timeout=1)
        # Without the check the heartbeat goes on beating after its cancellation.
        assert beating.cancelled()
    finally:
        await registry.leave()
        await client.aclose()
