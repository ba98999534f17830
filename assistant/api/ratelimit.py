"""Abuse limits on what anyone may call without an account (security review H2, H5, L10).

The web chat is anonymous: without limits one address opened 200 sessions in 0.8 s. Each
limited action has a moving window per client address and, where there is one, per
session, counted by the ``limits`` library: in Redis when ``SOTONG_REDIS_URL`` is set
(every gateway process sees the same counts), else in this process's memory (the
default of one gateway process). Past a limit the answer is 429 with ``Retry-After``
and a plain sentence in both languages; nothing the citizen already sent is lost (a
refused message was never stored, and the page keeps it to send again).

The client address is the one uvicorn reports: behind a proxy, the forwarded address
when the proxy is trusted (``--forwarded-allow-ips``), else the proxy's own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from fastapi import HTTPException, Request, WebSocket
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from assistant.config import Settings

log = structlog.get_logger(__name__)

TOO_MANY = (
    "요청이 너무 많습니다. {seconds}초 뒤에 다시 해 주세요. "
    "Too many requests. Please try again in {seconds} seconds."
)


@dataclass(frozen=True)
class Rule:
    """One action's limits: per client address, and per session when there is one."""

    name: str
    per_address: tuple[RateLimitItem, ...]
    per_session: tuple[RateLimitItem, ...] = ()

    @classmethod
    def parse(cls, name: str, per_address: str, per_session: str | None = None) -> Rule:
        """From limits written the way ``limits`` reads them: ``"10/minute;100/hour"``
        (parsed once here, not on every request)."""
        return cls(
            name,
            tuple(parse_many(per_address)),
            tuple(parse_many(per_session)) if per_session else (),
        )


class RateLimits:
    """The process's limiter: the shared counts, and the rule of each limited action."""

    def __init__(self, settings: Settings) -> None:
        redis_url = settings.redis_url
        self.storage: Storage = (
            RedisStorage(_async_redis(redis_url), implementation="redispy")
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(self.storage)
        self.sessions = Rule.parse("webchat.session", settings.limit_sessions)
        self.messages = Rule.parse(
            "webchat.message", settings.limit_messages, settings.limit_session_messages
        )
        self.speech = Rule.parse(
            "webchat.speech", settings.limit_speech, settings.limit_session_speech
        )
        self.sockets = Rule.parse("webchat.socket", settings.limit_sockets)
        self.frames_per_second = settings.limit_socket_frames_per_second
        # Console sign-in (review M5): attempts per address and by everyone together;
        # failures per username and address (counted only when a sign-in fails).
        self.login = Rule.parse("console.login", settings.limit_login)
        self.login_all = Rule.parse("console.login_all", settings.limit_login_all)
        self.login_failures = Rule.parse("console.login_failure", settings.limit_login_failures)
        # Texts a phone call makes us send, per destination number (review L10; the key
        # is a hash of the number, see channels/voice/call_texts.py).
        self.voice_texts = Rule.parse("voice.sms", f"{settings.voice_sms_per_number_per_day}/day")

    async def retry_after(self, rule: Rule, address: str, session: str | None = None) -> int:
        """Count one use of ``rule``; 0 when allowed, else the seconds to wait."""
        specs = [("address", address, rule.per_address)]
        if session is not None:
            specs.append(("session", session, rule.per_session))
        wait = 0
        for scope, key, items in specs:
            for item in items:
                if not await self._limiter.hit(item, rule.name, scope, key):
                    stats = await self._limiter.get_window_stats(item, rule.name, scope, key)
                    wait = max(wait, max(1, math.ceil(stats.reset_time - time.time())))
        return wait

    async def wait_for(self, rule: Rule, key: str) -> int:
        """Seconds until ``key`` may use ``rule`` again, counting nothing (0: now)."""
        wait = 0
        for item in rule.per_address:
            if not await self._limiter.test(item, rule.name, "address", key):
                stats = await self._limiter.get_window_stats(item, rule.name, "address", key)
                wait = max(wait, max(1, math.ceil(stats.reset_time - time.time())))
        return wait

    async def count(self, rule: Rule, key: str) -> None:
        """Count one use of ``rule`` by ``key`` (a failure, where only failures count)."""
        for item in rule.per_address:
            await self._limiter.hit(item, rule.name, "address", key)

    async def forget(self, rule: Rule, key: str) -> None:
        """Drop what ``key`` has used of ``rule`` (a sign-in succeeded)."""
        for item in rule.per_address:
            await self._limiter.clear(item, rule.name, "address", key)

    async def check(self, rule: Rule, request: Request, session: str | None = None) -> None:
        """Raise 429 (with ``Retry-After``) when ``request`` goes past ``rule``."""
        wait = await self.retry_after(rule, client_address(request), session)
        if wait:
            log.warning("abuse.rate_limited", action=rule.name, retry_after=wait)
            raise HTTPException(
                429, TOO_MANY.format(seconds=wait), headers={"Retry-After": str(wait)}
            )


class FrameBudget:
    """Frames a client may send on one WebSocket: ``per_second`` on average, in bursts
    of up to twice that (a token bucket; one connection's, so kept in memory)."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_second
        self._capacity = 2 * per_second
        self._tokens = self._capacity
        self._clock = clock
        self._at = clock()

    def take(self) -> bool:
        """Whether one more frame is within the budget."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def _async_redis(url: str) -> str:
    # limits picks its asyncio client from the scheme: "async+redis://…".
    return url if url.startswith("async+") else f"async+{url}"


def client_address(connection: Request | WebSocket) -> str:
    """Who is calling, as far as the server can tell."""
    return connection.client.host if connection.client else "unknown"
