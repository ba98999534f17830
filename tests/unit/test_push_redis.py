"""Pushes across gateways over Redis pub/sub (assistant/push.py, issue 18 point 1).

Against the real Redis of the development and CI machines (127.0.0.1:6379; the
``redis_url`` fixture says loudly when it is missing). Two hubs stand for two gateway
processes: a message published through one reaches the sockets subscribed on the
other, in order and once, and the publisher's own sockets get it once too. Two whole
gateway apps with ``SOTONG_REDIS_URL`` show the same through ``create_app``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from assistant.app import create_app
from assistant.push import PushHub, RedisPushHub
from tests.consoles import console_settings


def _topic() -> str:
    return f"test-{uuid.uuid4().hex}"  # the Redis is shared: a topic of this test's own


async def _drain(queue: asyncio.Queue[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        return [await queue.get() for _ in range(count)]


@pytest.fixture
async def hubs(redis_url: str) -> AsyncIterator[tuple[RedisPushHub, RedisPushHub]]:
    a, b = RedisPushHub(redis_url), RedisPushHub(redis_url)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_a_message_reaches_the_other_gateway_in_order_and_once(
    hubs: tuple[RedisPushHub, RedisPushHub],
) -> None:
    a, b = hubs
    topic = _topic()
    on_b = b.subscribe(topic)
    on_a = a.subscribe(topic)
    for n in range(200):
        a.publish(topic, {"type": "message", "n": n, "text": "안녕하세요"})
    assert [m["n"] for m in await _drain(on_b, 200)] == list(range(200))
    assert [m["n"] for m in await _drain(on_a, 200)] == list(range(200))  # once, via Redis
    await asyncio.sleep(0.3)
    assert on_a.empty() and on_b.empty()  # nothing twice
    other = b.subscribe(_topic())
    await asyncio.sleep(0.1)
    assert other.empty()  # a topic gets only its own messages
    # Whatever a caller puts in, publishing never breaks its turn.
    at = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    a.publish(topic, {"type": "status", "at": at})
    assert await _drain(on_b, 1) == [{"type": "status", "at": str(at)}]


async def test_both_gateways_publish_to_one_socket_each_in_its_own_order(
    hubs: tuple[RedisPushHub, RedisPushHub],
) -> None:
    a, b = hubs
    topic = _topic()
    socket = b.subscribe(topic)
    for n in range(50):
        a.publish(topic, {"from": "a", "n": n})
        b.publish(topic, {"from": "b", "n": n})
    got = await _drain(socket, 100)
    for source in ("a", "b"):
        assert [m["n"] for m in got if m["from"] == source] == list(range(50))


async def test_without_redis_nothing_is_raised_and_clients_catch_up_later() -> None:
    hub = RedisPushHub("redis://127.0.0.1:1/0", ready_within=0.5)
    await hub.start()  # logged, not fatal
    assert not hub.subscribed
    queue = hub.subscribe("x")
    hub.publish("x", {"type": "message"})  # dropped with a warning, never an error
    await asyncio.sleep(0.2)
    assert queue.empty()
    await hub.close()


def test_one_process_needs_no_redis() -> None:
    assert type(PushHub.from_url(None)) is PushHub
    assert isinstance(PushHub.from_url("redis://127.0.0.1:6379/15"), RedisPushHub)


async def test_two_gateway_apps_share_their_pushes(tmp_path: Path, redis_url: str) -> None:
    first = create_app(console_settings(tmp_path / "a").model_copy(update={"redis_url": redis_url}))
    second = create_app(
        console_settings(tmp_path / "b").model_copy(update={"redis_url": redis_url})
    )
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        topic = _topic()
        socket = second.state.services.push.subscribe(topic)
        first.state.services.push.publish(topic, {"type": "handoff_changed"})
        assert await _drain(socket, 1) == [{"type": "handoff_changed"}]
