"""How many calls the line takes at once (review M10; across gateways, issue 18).

Every call costs a recogniser (55–110 MB) and a share of two cores; past the measured
limit every caller's answers slow down and the gateway, which also serves SMS and the
web, runs out of memory. So each gateway takes ``SOTONG_VOICE_MAX_CALLS`` at once and
the line answers the next caller with a short spoken "busy" and a text, never silence.

A call counts from the moment its webhook is answered (its media stream opens a moment
later) until its stream ends; one whose stream never opens stops counting after
``pending_seconds``. Twilio retrying the webhook of a call already taken is the same
call.

- :class:`CallAdmission`: one gateway process counts its own calls (the embedded mode).
- :class:`RedisCallAdmission`: several gateways (the scaled mode). A call's webhook and
  its media stream may reach different gateways (the stream's gateway holds the audio),
  so the count is the line's, in Redis, against the line's capacity: the per-gateway
  limit times the gateways alive (``assistant.instances``). A gateway's live calls are
  renewed with its heartbeat, so a killed gateway's calls and its capacity leave the
  count together. The balancer (nginx ``least_conn``) spreads the streams; a gateway is
  not refused a stream it was sent, since the caller is already listening.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from assistant.instances import ALIVE_SECONDS, gateways_key, redis_now

log = structlog.get_logger(__name__)

PENDING_SECONDS: Final = 20.0


class CallAdmission:
    """Counts one gateway's calls and decides whether one more is taken."""

    def __init__(
        self,
        max_calls: int,
        *,
        pending_seconds: float = PENDING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self.max_calls = max_calls
        self._pending_seconds = pending_seconds
        self._clock = clock
        self._pending: dict[str, float] = {}  # call sid → when its webhook was answered
        self._live: set[str] = set()

    async def active(self) -> int:
        """Calls taken now: streaming, or answered and about to stream."""
        self._forget_stale()
        return len(self._live) + len(self._pending)

    async def admit(self, call_sid: str) -> bool:
        """Take the call if there is room (or it was taken already); False: busy."""
        self._forget_stale()
        if call_sid in self._live or call_sid in self._pending:
            return True
        if len(self._live) + len(self._pending) >= self.max_calls:
            return False
        self._pending[call_sid] = self._clock()
        return True

    async def started(self, call_sid: str) -> None:
        """The call's media stream began here (it counts until ``ended``)."""
        self._pending.pop(call_sid, None)
        self._live.add(call_sid)

    async def ended(self, call_sid: str) -> None:
        """The call's media stream ended: its place is free."""
        self._pending.pop(call_sid, None)
        self._live.discard(call_sid)

    async def renew(self) -> None:
        """Keep this gateway's live calls counted (nothing to do in one process)."""

    def _forget_stale(self) -> None:
        oldest = self._clock() - self._pending_seconds
        for call_sid in [sid for sid, at in self._pending.items() if at < oldest]:
            del self._pending[call_sid]


# KEYS: live calls (sid → last renewal), pending calls (sid → admitted at), gateways.
# ARGV: call sid, per-gateway limit, pending seconds, alive seconds.
# One script, so two gateways admitting at once cannot both take the last place.
_ADMIT = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local alive, pending = tonumber(ARGV[4]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - alive)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - pending)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 1
end
local gateways = redis.call('ZCOUNT', KEYS[3], now - alive, '+inf')
if gateways < 1 then gateways = 1 end
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) * gateways then
  return 0
end
redis.call('ZADD', KEYS[2], now, ARGV[1])
return 1
"""


class RedisCallAdmission(CallAdmission):
    """The line's count of calls, shared by every gateway through Redis."""

    def __init__(
        self,
        client: aioredis.Redis,
        max_calls: int,
        *,
        namespace: str = "sotong",
        pending_seconds: float = PENDING_SECONDS,
        alive_seconds: float = ALIVE_SECONDS,
    ) -> None:
        super().__init__(max_calls, pending_seconds=pending_seconds)
        self._client = client
        self._alive_seconds = alive_seconds
        self._keys = [f"{namespace}:calls:live", f"{namespace}:calls:pending"]
        self._keys.append(gateways_key(namespace))
        self._admit = client.register_script(_ADMIT)
        self._here: set[str] = set()  # the calls whose stream this gateway holds

    async def active(self) -> int:
        now = await redis_now(self._client)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.zcount(self._keys[0], now - self._alive_seconds, "+inf")
            pipe.zcount(self._keys[1], now - self._pending_seconds, "+inf")
            live, pending = await pipe.execute()
        return int(live) + int(pending)

    async def admit(self, call_sid: str) -> bool:
        try:
            args: list[str | int | float] = [
                call_sid,
                self.max_calls,
                self._pending_seconds,
                self._alive_seconds,
            ]
            return bool(await self._admit(keys=self._keys, args=args))
        except (RedisError, OSError) as exc:
            # The caller is on the line now; a Redis blip must not turn them away.
            log.warning("voice.admission_unshared", call_sid=call_sid, error=repr(exc))
            return True

    async def started(self, call_sid: str) -> None:
        self._here.add(call_sid)
        try:
            now = await redis_now(self._client)
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.zrem(self._keys[1], call_sid)
                pipe.zadd(self._keys[0], {call_sid: now})
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("voice.admission_unshared", call_sid=call_sid, error=repr(exc))

    async def ended(self, call_sid: str) -> None:
        self._here.discard(call_sid)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.zrem(self._keys[0], call_sid)
                pipe.zrem(self._keys[1], call_sid)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("voice.admission_unshared", call_sid=call_sid, error=repr(exc))

    async def renew(self) -> None:
        """Renew this gateway's live calls (with its heartbeat): a gateway that stops
        renewing stops counting its calls after ``alive_seconds``."""
        if self._here:
            now = await redis_now(self._client)
            await self._client.zadd(self._keys[0], dict.fromkeys(self._here, now))
