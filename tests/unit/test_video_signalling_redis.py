"""Video signalling across gateways over Redis (assistant/video/shared_signalling.py,
issue 18 point 1).

Against the real Redis of the development and CI machines (the ``redis_url`` fixture
says loudly when it is missing). Two hubs stand for two gateway processes: the person's
socket on one, the citizen's on the other, and the protocol is the one-process hub's
(tests/unit/test_video_signalling.py): greetings, peer-joined, relays in order and once,
replacement, leaving, ending. Every test uses a room number of its own (the Redis is
shared).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import structlog

from assistant.app import create_app
from assistant.video.shared_signalling import (
    CHANNEL,
    ROOM_PREFIX,
    RedisSignallingHub,
    signalling_hub,
)
from assistant.video.signalling import (
    CLOSE_ENDED,
    CLOSE_REPLACED,
    REPLACED_REASON,
    Close,
    SignallingConnection,
    SignallingHub,
)
from tests.consoles import console_settings

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
QUIET_SECONDS = 0.3  # Redis on loopback answers in well under a millisecond


def _room() -> int:
    return random.randrange(10**9, 2 * 10**9)


async def expect(connection: SignallingConnection, count: int) -> list[dict[str, Any] | Close]:
    """The next ``count`` things for the socket (waiting for Redis to bring them)."""
    async with asyncio.timeout(5):
        return [await connection.next() for _ in range(count)]


async def quiet(*connections: SignallingConnection) -> None:
    """Nothing more arrives for any of ``connections``."""
    await asyncio.sleep(QUIET_SECONDS)
    for connection in connections:
        assert not connection._pending, list(connection._pending)


@pytest.fixture
async def gateways(redis_url: str) -> AsyncIterator[tuple[RedisSignallingHub, RedisSignallingHub]]:
    a, b = RedisSignallingHub(redis_url), RedisSignallingHub(redis_url)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.shutdown()
        await b.shutdown()


async def test_the_two_sides_meet_and_signal_across_gateways(
    gateways: tuple[RedisSignallingHub, RedisSignallingHub], redis_url: str
) -> None:
    a, b = gateways
    room = _room()
    person = a.join(room, "person", greeting={"type": "welcome", "role": "person"})
    assert await expect(person, 1) == [{"type": "welcome", "role": "person"}]
    await quiet(person)
    citizen = b.join(room, "citizen", greeting={"type": "welcome", "role": "citizen"})
    assert await expect(citizen, 2) == [
        {"type": "welcome", "role": "citizen"},
        {"type": "peer-joined", "role": "person"},
    ]
    assert await expect(person, 1) == [{"type": "peer-joined", "role": "citizen"}]

    elsewhere = b.join(_room(), "person")  # another call: hears none of this one
    for n in range(30):
        assert a.receive(person, json.dumps({"type": "offer", "sdp": f"{SDP}a=n:{n}\r\n"}))
    assert b.receive(citizen, json.dumps({"type": "answer", "sdp": SDP}))
    relayed = await expect(citizen, 30)
    assert [m["sdp"].rsplit(":", 1)[1] for m in relayed] == [f"{n}\r\n" for n in range(30)]
    assert await expect(person, 1) == [{"type": "answer", "sdp": SDP}]
    await quiet(person, citizen, elsewhere)  # each once, nothing to the other room

    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        assert await client.hkeys(f"{ROOM_PREFIX}{room}") in (
            ["person", "citizen"],
            ["citizen", "person"],
        )
        b.leave(citizen)
        assert await expect(person, 1) == [{"type": "peer-left", "role": "citizen"}]
        a.leave(person)
        await quiet(person)
        assert not await client.exists(f"{ROOM_PREFIX}{room}")  # nothing left behind
    finally:
        await client.aclose()


async def test_a_side_replaced_on_another_gateway_is_closed_and_the_other_side_told(
    gateways: tuple[RedisSignallingHub, RedisSignallingHub],
) -> None:
    """Review L9 across gateways: a forwarded link taking the citizen's place."""
    a, b = gateways
    room = _room()
    citizen = a.join(room, "citizen")
    person = b.join(room, "person")
    await expect(citizen, 1), await expect(person, 1)  # peer-joined each
    again = b.join(room, "citizen", greeting={"type": "welcome"})
    assert await expect(citizen, 1) == [Close(CLOSE_REPLACED, REPLACED_REASON)]
    assert await expect(again, 2) == [
        {"type": "welcome"},
        {"type": "peer-joined", "role": "person"},
    ]
    assert await expect(person, 2) == [
        {"type": "peer-replaced", "role": "citizen"},
        {"type": "peer-joined", "role": "citizen"},
    ]
    # The old socket's late frames and its leaving change nothing.
    assert not a.receive(citizen, json.dumps({"type": "bye"}))
    assert a.dropped == {"not_joined": 1}
    a.leave(citizen)
    await quiet(person, again)
    assert b.receive(person, json.dumps({"type": "offer", "sdp": SDP}))
    assert await expect(again, 1) == [{"type": "offer", "sdp": SDP}]


async def test_a_replacement_on_the_same_gateway_is_told_once(
    gateways: tuple[RedisSignallingHub, RedisSignallingHub],
) -> None:
    a, b = gateways
    room = _room()
    person, citizen = a.join(room, "person"), b.join(room, "citizen")
    await expect(person, 1), await expect(citizen, 1)
    again = a.join(room, "person")  # the console in a second tab, same gateway
    assert await expect(person, 1) == [Close(CLOSE_REPLACED, REPLACED_REASON)]
    assert await expect(citizen, 2) == [
        {"type": "peer-replaced", "role": "person"},
        {"type": "peer-joined", "role": "person"},
    ]
    assert await expect(again, 1) == [{"type": "peer-joined", "role": "citizen"}]
    await quiet(person, citizen, again)


async def test_ending_a_call_on_any_gateway_closes_both_sides(
    gateways: tuple[RedisSignallingHub, RedisSignallingHub], redis_url: str
) -> None:
    a, b = gateways
    room = _room()
    person, citizen = b.join(room, "person"), b.join(room, "citizen")
    await expect(person, 1), await expect(citizen, 1)
    b.receive(person, json.dumps({"type": "bye"}))
    assert not a.end(room, "handed over")  # no socket of the call on A, but it ends
    assert await expect(citizen, 2) == [{"type": "bye"}, Close(CLOSE_ENDED, "handed over")]
    assert await expect(person, 1) == [Close(CLOSE_ENDED, "handed over")]
    assert b.rooms == 0
    b.leave(person), b.leave(citizen)  # what the routes do then: nobody else is told
    client = aioredis.from_url(redis_url)
    try:
        await asyncio.sleep(QUIET_SECONDS)
        assert not await client.exists(f"{ROOM_PREFIX}{room}")
    finally:
        await client.aclose()


async def test_malformed_frames_are_dropped_where_they_arrive_and_never_sent_on(
    gateways: tuple[RedisSignallingHub, RedisSignallingHub],
) -> None:
    a, b = gateways
    told: list[str] = []
    room = _room()
    person, citizen = a.join(room, "person"), b.join(room, "citizen")
    await expect(person, 1), await expect(citizen, 1)
    a._on_drop = told.append
    for frame in ("not json", json.dumps({"type": "offer", "sdp": {"x": 1}}), b"\x00"):
        assert not a.receive(person, frame)
    assert a.dropped == {"not_json": 1, "bad_sdp": 1, "binary": 1} and len(told) == 3
    assert not a.receive(person, '{"type": "ping"}')
    assert await expect(person, 1) == [{"type": "pong"}]
    await quiet(citizen)
    assert a.relayed == 0


async def test_an_unreadable_event_on_the_channel_is_logged_and_ignored(
    gateways: tuple[RedisSignallingHub, RedisSignallingHub], redis_url: str
) -> None:
    a, b = gateways
    room = _room()
    person, citizen = a.join(room, "person"), b.join(room, "citizen")
    await expect(person, 1), await expect(citizen, 1)
    client = aioredis.from_url(redis_url)
    try:
        with structlog.testing.capture_logs() as logs:
            for junk in ("{", json.dumps({"kind": "relay"}), json.dumps([1])):
                await client.publish(CHANNEL, junk)
            await asyncio.sleep(QUIET_SECONDS)
    finally:
        await client.aclose()
    assert [e["event"] for e in logs].count("video.redis_event_unreadable") == 6  # 3 each
    assert a.receive(person, json.dumps({"type": "bye"}))
    assert await expect(citizen, 1) == [{"type": "bye"}]


def test_the_hub_is_shared_only_with_a_redis_url() -> None:
    assert type(signalling_hub(None)) is SignallingHub
    assert isinstance(signalling_hub("redis://127.0.0.1:6379/15"), RedisSignallingHub)


async def test_two_gateway_apps_share_their_video_rooms(tmp_path: Path, redis_url: str) -> None:
    first = create_app(console_settings(tmp_path / "a").model_copy(update={"redis_url": redis_url}))
    second = create_app(
        console_settings(tmp_path / "b").model_copy(update={"redis_url": redis_url})
    )
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        hub_a, hub_b = first.state.services.video, second.state.services.video
        assert isinstance(hub_a, RedisSignallingHub) and hub_a.subscribed
        room = _room()
        person, citizen = hub_a.join(room, "person"), hub_b.join(room, "citizen")
        assert await expect(person, 1) == [{"type": "peer-joined", "role": "citizen"}]
        assert await expect(citizen, 1) == [{"type": "peer-joined", "role": "person"}]
