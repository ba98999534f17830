"""The gateways that are alive now (issue 18 point 6).

In the scaled mode every gateway process registers in Redis and renews its entry with a
heartbeat; one that stops renewing (killed, frozen, cut off) drops out after
``ALIVE_SECONDS``. What the registry is for:

- the line's capacity for calls is the sum of the live gateways' (``RedisCallAdmission``):
  a dead gateway's calls and capacity leave together;
- ``sotong_gateways_alive`` on /metrics, and a log line naming how many others a gateway
  found when it started, so an operator sees a replica missing.

Times are Redis's own (``TIME``), so gateways whose clocks disagree still agree on who is
alive. Which gateways may start at all is decided by the database
(``assistant.store.single``), not here: a registry in Redis cannot see a gateway that was
started without Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, cast

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS: Final = 5.0
# Missing three heartbeats in a row (and a bit) is being gone.
ALIVE_SECONDS: Final = 20.0


def gateways_key(namespace: str) -> str:
    """The sorted set of gateway ids scored by their last heartbeat (Redis seconds)."""
    return f"{namespace}:gateways"


async def redis_now(client: aioredis.Redis) -> float:
    """Redis's clock, in seconds: one clock for every gateway."""
    seconds, microseconds = await client.time()
    return seconds + microseconds / 1_000_000


@dataclass(frozen=True)
class GatewayInstance:
    """One live gateway process."""

    id: str
    host: str
    pid: int
    started_at: float  # Redis seconds
    seen_at: float  # its last heartbeat, Redis seconds


class GatewayRegistry:
    """This process's entry in the registry, and a view of everyone's."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        namespace: str = "sotong",
        gateway_id: str | None = None,
        alive_seconds: float = ALIVE_SECONDS,
    ) -> None:
        self.id = gateway_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.namespace = namespace
        self.alive_seconds = alive_seconds
        self._client = client
        self._key = gateways_key(namespace)
        self._started_at: float | None = None

    def _details_key(self, gateway_id: str) -> str:
        return f"{self.namespace}:gateway:{gateway_id}"

    async def beat(self) -> None:
        """Say this gateway is alive (at start, then every heartbeat)."""
        now = await redis_now(self._client)
        if self._started_at is None:
            self._started_at = now
        details = {"host": socket.gethostname(), "pid": os.getpid(), "started_at": self._started_at}
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zadd(self._key, {self.id: now})
            pipe.set(
                self._details_key(self.id), json.dumps(details), ex=int(self.alive_seconds) + 1
            )
            # The dead are forgotten by whoever beats next.
            pipe.zremrangebyscore(self._key, "-inf", now - self.alive_seconds)
            await pipe.execute()

    async def alive(self) -> list[GatewayInstance]:
        """The gateways that beat within ``alive_seconds``, this one included."""
        now = await redis_now(self._client)
        entries = cast(
            list[tuple[bytes | str, float]],
            await self._client.zrangebyscore(
                self._key, now - self.alive_seconds, "+inf", withscores=True
            ),
        )
        instances = []
        for raw_id, seen_at in entries:
            gateway_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            raw = await self._client.get(self._details_key(gateway_id))
            details = json.loads(raw) if raw else {}
            instances.append(
                GatewayInstance(
                    id=gateway_id,
                    host=str(details.get("host", "?")),
                    pid=int(details.get("pid", 0)),
                    started_at=float(details.get("started_at") or seen_at),
                    seen_at=float(seen_at),
                )
            )
        return instances

    async def leave(self) -> None:
        """Leave the registry at a clean shutdown (a killed process just stops beating)."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrem(self._key, self.id)
            pipe.delete(self._details_key(self.id))
            await pipe.execute()

    async def run(
        self,
        *,
        every: float = HEARTBEAT_SECONDS,
        on_beat: Callable[[], Awaitable[None]] | None = None,
        on_alive: Callable[[int], object] | None = None,
    ) -> None:
        """Beat until cancelled. After each beat ``on_beat`` (what must be renewed with
        the heartbeat: the calls this gateway holds) and ``on_alive`` with how many
        gateways are alive. Redis failing is logged and tried again at the next beat."""
        registered = False
        while True:
            try:
                await self.beat()
                if on_beat is not None:
                    await on_beat()
                alive = len(await self.alive())
                if on_alive is not None:
                    on_alive(alive)
                if not registered:
                    log.info("gateway.registered", gateway=self.id, alive=alive)
                    registered = True
            except (RedisError, OSError) as exc:
                log.warning("gateway.heartbeat_failed", gateway=self.id, error=repr(exc))
            _stop_if_cancelled()
            await asyncio.sleep(every)


def _stop_if_cancelled() -> None:
    """Raise CancelledError if this task was asked to stop and the request was lost.

    A cancellation that lands inside a Redis command can be swallowed on the way (a
    library catching CancelledError to clean up its connection); the task then goes on
    beating and whoever awaits it waits for ever. The shifted-clock unit pass once hung
    on this in the heartbeat test. ``Task.cancelling()`` still counts the request.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
