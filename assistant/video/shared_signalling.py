"""Video signalling across gateways (issue 18): the person's socket may be on one
gateway and the citizen's on another.

:class:`RedisSignallingHub` keeps the protocol of :class:`SignallingHub` (the same
messages, the same replace / leave / end rules, the same validation) and moves the two
things that were one process's memory to Redis:

- **who holds each role of a room**: a hash ``sotong:video:room:<id>`` of role →
  connection key, written in one transaction that also reads what was there, so a join
  learns at once whether it replaced someone and whether the other side is present;
- **what happens in a room**: events on one pub/sub channel, ``sotong:video``, that every
  gateway reads and applies to the sockets it holds (joined, left, relayed message,
  ended). A gateway's own events come back to it the same way, so a room whose two sides
  are on one gateway behaves exactly like one split over two.

Why one channel for every room and not one per room: signalling is a few dozen small
messages per call, and a gateway subscribing and unsubscribing per room would add a
round trip to every join for no saving that matters. Why pub/sub and not Streams: a
message lost while a gateway reconnects to Redis costs a renegotiation, which the
browsers start on their own at the next ``peer-joined`` (a reconnect), as they do after
any network blip; nothing here needs keeping.

A gateway killed with its sockets open leaves their keys in the room hash; the hash
expires ``ROOM_SECONDS`` after its last join, and a stale key only makes a newly joined
side offer to nobody until the other side reconnects and replaces it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from assistant.redis_listen import cancel_all, listen_forever
from assistant.video.signalling import (
    CLOSE_ENDED,
    CLOSE_REPLACED,
    REPLACED_REASON,
    ROLES,
    Close,
    SignallingConnection,
    SignallingHub,
    other_role,
)

log = structlog.get_logger(__name__)

CHANNEL: Final = "sotong:video"
ROOM_PREFIX: Final = "sotong:video:room:"
# A call's room outlives any call (the longest is a few hours); refreshed at each join.
ROOM_SECONDS: Final = 6 * 3600
SUBSCRIBE_TIMEOUT_SECONDS: Final = 10.0

# Deletes a role's entry only if it still names this connection: a replaced
# connection leaving must not remove its successor.
_LEAVE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


class RedisSignallingHub(SignallingHub):
    """Rooms whose sides may be held by different gateways, shared through Redis.

    Every public method stays synchronous, as the route expects: Redis work is queued
    for one writer task, so this gateway's events reach Redis in the order they
    happened. Redis unreachable: events are dropped with a warning; the browsers
    negotiate afresh once their sockets reconnect.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        backlog: int = 10_000,
        ready_within: float = SUBSCRIBE_TIMEOUT_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._redis = aioredis.from_url(redis_url, decode_responses=True)
        self._leave_script = self._redis.register_script(_LEAVE)
        self._outgoing: asyncio.Queue[tuple[str, int, dict[str, Any]]] = asyncio.Queue(
            maxsize=backlog
        )
        self._ready_within = ready_within
        self._subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- what the route calls ---------------------------------------------------------
    def join(
        self, request_id: int, role: str, greeting: dict[str, Any] | None = None
    ) -> SignallingConnection:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        connection = SignallingConnection(request_id, role, self._queue_size)
        if greeting is not None:
            connection._push(greeting)
        room = self._rooms.setdefault(request_id, {})
        old = room.get(role)
        if old is not None:  # on this gateway: closed now; the other side hears it below
            old._shut(Close(CLOSE_REPLACED, REPLACED_REASON))
            log.warning("video.replaced", request_id=request_id, role=role)
        room[role] = connection
        self._queue("join", request_id, role=role, key=connection.key)
        log.info("video.joined", request_id=request_id, role=role, gateway="shared")
        return connection

    def leave(self, connection: SignallingConnection) -> None:
        connection._shut(Close(1000, "left"))
        room = self._rooms.get(connection.request_id)
        if room is None or room.get(connection.role) is not connection:
            return  # replaced or ended: its successor (or nobody) holds the role
        del room[connection.role]
        if not room:
            del self._rooms[connection.request_id]
        self._queue("leave", connection.request_id, role=connection.role, key=connection.key)
        log.info("video.left", request_id=connection.request_id, role=connection.role)

    def end(self, request_id: int, reason: str = "the call has ended") -> bool:
        here = super().end(request_id, reason)
        self._queue("end", request_id, reason=reason)
        return here

    def _relay(self, connection: SignallingConnection, message: dict[str, Any]) -> bool:
        self._queue("relay", connection.request_id, to=other_role(connection.role), message=message)
        self.relayed += 1
        return True

    # ---- life -------------------------------------------------------------------------
    @property
    def subscribed(self) -> bool:
        """Whether Redis confirmed the subscription (at least once)."""
        return self._subscribed.is_set()

    async def start(self) -> None:
        """Start the writer and the subscription; wait until Redis confirmed it. Redis
        not answering in time is logged, not fatal: the reader keeps trying."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._write(), name="video-redis-writer"),
                asyncio.create_task(self._read(), name="video-redis-reader"),
            ]
        try:
            async with asyncio.timeout(self._ready_within):
                await self._subscribed.wait()
        except TimeoutError:
            log.error("video.redis_not_ready", waited_seconds=self._ready_within)

    async def shutdown(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        await self._redis.aclose()

    # ---- to Redis ---------------------------------------------------------------------
    def _queue(self, kind: str, request_id: int, **fields: Any) -> None:
        try:
            self._outgoing.put_nowait((kind, request_id, fields))
        except asyncio.QueueFull:
            log.warning("video.redis_backlog_full", kind=kind, request_id=request_id)

    async def _write(self) -> None:
        while True:
            kind, request_id, fields = await self._outgoing.get()
            try:
                await self._apply(kind, request_id, fields)
            except (RedisError, OSError) as exc:
                log.warning("video.redis_failed", kind=kind, request_id=request_id, error=repr(exc))

    async def _apply(self, kind: str, request_id: int, fields: dict[str, Any]) -> None:
        room_key = f"{ROOM_PREFIX}{request_id}"
        event: dict[str, Any] = {"kind": kind, "room": request_id, **fields}
        if kind == "join":
            role, key = fields["role"], fields["key"]
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(room_key)
                pipe.hset(room_key, role, key)
                pipe.expire(room_key, ROOM_SECONDS)
                before, *_ = await pipe.execute()
            # The later of two joins (in Redis's order) tells both sides: the newcomer
            # here, the one it met through the event (``met``), so each hears it once.
            event["replaced"] = role in before
            event["met"] = before.get(other_role(role))
            if event["met"] is not None:
                self._tell_joined(request_id, role, key)
        elif kind == "leave":
            if not await self._leave_script(keys=[room_key], args=[fields["role"], fields["key"]]):
                return  # a newer connection holds the role: nobody left
        elif kind == "end":
            await self._redis.delete(room_key)
        await self._redis.publish(CHANNEL, json.dumps(event, ensure_ascii=False))

    def _tell_joined(self, request_id: int, role: str, key: str) -> None:
        """The other side was in the room when ``key`` joined: tell the newcomer."""
        connection = self._rooms.get(request_id, {}).get(role)
        if connection is not None and connection.key == key:
            connection._push({"type": "peer-joined", "role": other_role(role)})

    # ---- from Redis -------------------------------------------------------------------
    async def _read(self) -> None:
        await listen_forever(
            self._redis,
            CHANNEL,
            lambda _channel, data: self._on_event(data),
            self._subscribed,
            event="video.redis_subscription_lost",
        )

    def _on_event(self, data: str) -> None:
        try:
            event = json.loads(data)
            kind, request_id = event["kind"], int(event["room"])
        except (ValueError, KeyError, TypeError):
            log.warning("video.redis_event_unreadable")
            return
        room = self._rooms.get(request_id)
        if room is None:
            return  # no socket of this room here
        if kind == "join":
            self._on_joined(room, request_id, event)
        elif kind == "leave":
            other = room.get(other_role(event.get("role", "")))
            if other is not None:
                other._push({"type": "peer-left", "role": event["role"]})
        elif kind == "relay":
            target, message = room.get(event.get("to", "")), event.get("message")
            if target is not None and isinstance(message, dict) and not target._push(message):
                self._count_drop("peer_closed")
        elif kind == "end":
            for connection in self._rooms.pop(request_id).values():
                connection._shut(Close(CLOSE_ENDED, event.get("reason", "the call has ended")))
            log.info("video.ended", request_id=request_id)

    def _on_joined(
        self, room: dict[str, SignallingConnection], request_id: int, event: dict[str, Any]
    ) -> None:
        role, key = event.get("role", ""), event.get("key")
        if role not in ROLES:
            return
        mine = room.get(role)
        if mine is not None and mine.key != key:  # replaced from another gateway
            mine._shut(Close(CLOSE_REPLACED, REPLACED_REASON))
            del room[role]
            log.warning("video.replaced", request_id=request_id, role=role)
        other = room.get(other_role(role))
        if other is not None and other.key == event.get("met"):
            if event.get("replaced"):
                other._push({"type": "peer-replaced", "role": role})
            other._push({"type": "peer-joined", "role": role})
        if not room:
            del self._rooms[request_id]


def signalling_hub(redis_url: str | None, **kwargs: Any) -> SignallingHub:
    """The hub for this deployment: across gateways over Redis when a URL is given."""
    return RedisSignallingHub(redis_url, **kwargs) if redis_url else SignallingHub(**kwargs)
