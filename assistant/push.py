"""Fan-out of messages pushed to connected clients: web chats, consoles, the citizen's
status line.

One queue per open WebSocket, per topic (a conversation id, or a console topic).
Messages for a topic with no open socket are not lost: they are in the transcript, which
a reconnecting client reads from its last id; a console refetches everything when its
socket reconnects.

``PushHub`` delivers within one gateway process (the embedded default). With
``SOTONG_REDIS_URL`` set, ``RedisPushHub`` publishes every message on Redis and delivers
what Redis hands back to the sockets this process holds, so a message reaches its
socket whichever gateway holds it (issue 18). Why pub/sub and not Streams: a push is a
nudge whose content is kept elsewhere (the transcript, the queue); a gateway that missed
one while reconnecting to Redis loses nothing a client cannot read again, so at-most-once
delivery without storage is the right contract, and Streams would keep (and need
trimming of) every push of every conversation.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from assistant.redis_listen import cancel_all, listen_forever

log = structlog.get_logger(__name__)

CHANNEL_PREFIX = "sotong:push:"
SUBSCRIBE_TIMEOUT_SECONDS = 10.0  # start-up waits this long for Redis to confirm


class PushHub:
    """Subscribers per topic, in this process."""

    def __init__(self, queue_size: int = 256) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._queue_size = queue_size

    @classmethod
    def from_url(cls, redis_url: str | None) -> PushHub:
        """The hub for this deployment: across gateways over Redis when a URL is given."""
        return RedisPushHub(redis_url) if redis_url else cls()

    def subscribe(self, conversation_id: str) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives every message published for ``conversation_id``."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=self._queue_size)
        self._subscribers[conversation_id].add(queue)
        return queue

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to ``queue``."""
        subscribers = self._subscribers.get(conversation_id)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[conversation_id]

    def publish(self, conversation_id: str, message: dict[str, Any]) -> int:
        """Deliver to every subscriber; return how many (in this process) received it."""
        return self.deliver(conversation_id, message)

    def deliver(self, conversation_id: str, message: dict[str, Any]) -> int:
        """Put ``message`` on this process's queues for the topic; how many took it."""
        delivered = 0
        for queue in list(self._subscribers.get(conversation_id, ())):
            try:
                queue.put_nowait(message)
                delivered += 1
            except asyncio.QueueFull:
                # A stalled client: it catches up from the transcript when it reconnects.
                log.warning("push.queue_full", conversation_id=conversation_id)
        return delivered

    async def start(self) -> None:
        """Get ready to deliver (nothing to do in one process)."""

    async def close(self) -> None:
        """Stop delivering (nothing to do in one process)."""


class RedisPushHub(PushHub):
    """Messages published on Redis (``sotong:push:<topic>``), delivered to this process's
    subscribers by one pattern subscription.

    ``publish`` stays synchronous, as every caller expects: it queues the message for
    one writer task, so this process's messages reach Redis — and every gateway — in
    the order they were published. This process's own sockets get them back from
    Redis like everyone else's (never twice). Redis unreachable: messages are dropped
    with a warning and clients read what they missed from the transcript; the reader
    reconnects with growing pauses.
    """

    def __init__(
        self,
        redis_url: str,
        queue_size: int = 256,
        backlog: int = 10_000,
        ready_within: float = SUBSCRIBE_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(queue_size)
        self._ready_within = ready_within
        self._redis = aioredis.from_url(redis_url)
        self._outgoing: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize=backlog)
        self._subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def publish(self, conversation_id: str, message: dict[str, Any]) -> int:
        try:
            # default=str: a stray datetime goes as text rather than breaking a turn.
            data = json.dumps(message, ensure_ascii=False, default=str)
            self._outgoing.put_nowait((conversation_id, data))
        except asyncio.QueueFull:
            log.warning("push.redis_backlog_full", conversation_id=conversation_id)
            return 0
        return len(self._subscribers.get(conversation_id, ()))

    @property
    def subscribed(self) -> bool:
        """Whether the subscription is (or was once) confirmed by Redis."""
        return self._subscribed.is_set()

    async def start(self) -> None:
        """Start the writer and the subscription; wait until Redis confirmed it (so a
        message published after this returns reaches this process's sockets). Redis
        not answering in time is logged, not fatal: the reader keeps trying."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._write(), name="push-redis-writer"),
                asyncio.create_task(self._read(), name="push-redis-reader"),
            ]
        try:
            async with asyncio.timeout(self._ready_within):
                await self._subscribed.wait()
        except TimeoutError:
            log.error("push.redis_not_ready", waited_seconds=self._ready_within)

    async def close(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        await self._redis.aclose()

    async def _write(self) -> None:
        while True:
            topic, data = await self._outgoing.get()
            try:
                await self._redis.publish(CHANNEL_PREFIX + topic, data)
            except (RedisError, OSError) as exc:
                log.warning("push.redis_publish_failed", topic=topic, error=repr(exc))

    async def _read(self) -> None:
        await listen_forever(
            self._redis,
            CHANNEL_PREFIX + "*",
            self._deliver_raw,
            self._subscribed,
            pattern=True,
            event="push.redis_subscription_lost",
        )

    def _deliver_raw(self, channel: bytes | str, data: bytes | str) -> None:
        topic = channel.decode() if isinstance(channel, bytes) else channel
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("push.redis_message_unreadable", channel=topic)
            return
        if isinstance(message, dict):
            self.deliver(topic.removeprefix(CHANNEL_PREFIX), message)
