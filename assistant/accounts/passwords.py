"""Password hashing: argon2id through argon2-cffi, off the event loop.

Hashing costs tens of milliseconds of CPU and memory on purpose; it runs in threads of
its own (not the event loop's default executor, which sends SMS and transfers calls),
and only so many checks may wait: past that a sign-in is refused at once
(``PasswordsBusy``) instead of queueing behind a flood (review M5).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")


class PasswordsBusy(RuntimeError):
    """Too many password checks are waiting already: try again in a moment."""


class Passwords:
    """Hash and verify passwords with one ``PasswordHasher`` (argon2id, library defaults
    unless a test passes cheaper parameters), ``workers`` at a time and at most
    ``max_waiting`` more waiting."""

    def __init__(
        self, hasher: PasswordHasher | None = None, *, workers: int = 2, max_waiting: int = 8
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._capacity = workers + max_waiting
        self._in_flight = 0

    async def hash(self, password: str) -> str:
        """A new argon2id hash ("$argon2id$...") of ``password``."""
        return await self._run(self._hasher.hash, password)

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``stored_hash`` (a malformed hash never matches);
        ``PasswordsBusy`` when too many checks wait already."""
        return await self._run(self._verify, stored_hash, password)

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        if self._in_flight >= self._capacity:
            raise PasswordsBusy("too many password checks at once")
        self._in_flight += 1  # one event loop: no lock needed around the count
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._in_flight -= 1

    def needs_rehash(self, stored_hash: str) -> bool:
        """The hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    async def spend(self, password: str) -> None:
        """Verify against a throwaway hash: an unknown username costs as much time as a
        wrong password, so response times do not tell which usernames exist."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy, password)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
