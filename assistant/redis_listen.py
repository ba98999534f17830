"""The subscription loop and shutdown both Redis fan-outs share (assistant/push.py's
pushes, assistant/video/shared_signalling.py's video events)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


async def listen_forever(
    client: aioredis.Redis,
    channel: str,
    on_message: Callable[[Any, Any], None],
    subscribed: asyncio.Event,
    *,
    pattern: bool = False,
    event: str,
) -> None:
    """Subscribe to ``channel`` (a pattern with ``pattern``) and hand every message's
    channel and data to ``on_message``; set ``subscribed`` once Redis confirms. A lost
    subscription is logged as ``event`` and tried again with growing pauses."""
    kind = "pmessage" if pattern else "message"
    pause = 0.5
    while True:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await (pubsub.psubscribe(channel) if pattern else pubsub.subscribe(channel))
            subscribed.set()
            pause = 0.5
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == kind:
                    on_message(message["channel"], message["data"])
        except (RedisError, OSError) as exc:
            log.warning(event, error=repr(exc), retry_in=pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


async def cancel_all(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel the tasks and wait for each to end."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
