"""In-process fan-out of messages pushed to connected web chat clients.

One queue per open WebSocket. Messages for a conversation with no open socket are not
lost: they are in the transcript, which a reconnecting client reads from its last id.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class PushHub:
    """Subscribers per conversation id."""

    def __init__(self, queue_size: int = 256) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._queue_size = queue_size

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
        """Deliver to every subscriber; return how many received it."""
        delivered = 0
        for queue in list(self._subscribers.get(conversation_id, ())):
            try:
                queue.put_nowait(message)
                delivered += 1
            except asyncio.QueueFull:
                # A stalled client: it catches up from the transcript when it reconnects.
                log.warning("push.queue_full", conversation_id=conversation_id)
        return delivered
