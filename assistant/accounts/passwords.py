"""Password hashing: argon2id through argon2-cffi, off the event loop.

Hashing costs tens of milliseconds of CPU and memory on purpose; it runs in a worker
thread so one sign-in never stalls every other request of the process.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hash and verify passwords with one ``PasswordHasher`` (argon2id, library defaults
    unless a test passes cheaper parameters)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """A new argon2id hash ("$argon2id$...") of ``password``."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``stored_hash`` (a malformed hash never matches)."""
        return await asyncio.to_thread(self._verify, stored_hash, password)

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
