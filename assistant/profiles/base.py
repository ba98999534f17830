"""The profile store's algorithm: consent first, then only what the citizen agreed to.

A profile exists only after ``save_with_consent``; ``update`` never creates one, so a
number that did not consent has nothing stored. ``forget`` is the right to erasure: it
deletes the profile and asks every other holder of per-number data (the reminders) to
delete theirs too.

Subclasses provide storage primitives (the ``_``-prefixed methods), each one atomic
statement or a compare-and-set on ``version``, so several processes can share a database.
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from assistant.profiles.records import (
    CitizenProfile,
    check_accessibility,
    check_language,
    check_phone,
    full_accessibility,
)
from assistant.store.base import StoreError, utcnow

# A concurrent update of the same profile makes a compare-and-set miss; retry this often.
_CAS_ATTEMPTS = 10


class Erasable(Protocol):
    """Anything that keeps data per phone number and can delete all of it."""

    async def forget(self, phone: str) -> int:
        """Delete everything kept for ``phone``; the number of records deleted."""
        ...


class ProfileStore(abc.ABC):
    """Citizen profiles, kept only with consent."""

    def __init__(
        self,
        clock: Callable[[], dt.datetime] = utcnow,
        also_forget: Sequence[Erasable] = (),
    ) -> None:
        self._clock = clock
        self._also_forget: list[Erasable] = list(also_forget)

    def also_forget(self, holder: Erasable) -> None:
        """Add a holder of per-number data that ``forget`` must erase too."""
        self._also_forget.append(holder)

    async def save_with_consent(
        self,
        phone: str,
        language: str,
        accessibility: Mapping[str, bool] | None = None,
        *,
        reminders_opt_in: bool | None = None,
    ) -> CitizenProfile:
        """Create or replace the profile of ``phone``, recording the consent time now.

        ``accessibility`` is the whole set of needs (unnamed keys are False).
        ``reminders_opt_in`` None keeps an existing profile's choice (False when new).
        """
        check_phone(phone)
        lang = check_language(language)
        flags = full_accessibility(check_accessibility(accessibility or {}))
        now = self._clock()
        for _ in range(_CAS_ATTEMPTS):
            existing = await self._get(phone)
            if existing is None:
                profile = CitizenProfile(
                    phone=phone,
                    language=lang,
                    consented_at=now,
                    updated_at=now,
                    accessibility=flags,
                    reminders_opt_in=bool(reminders_opt_in),
                )
                if await self._insert(profile):
                    return profile
                continue  # created meanwhile: replace it as below
            profile, version = existing
            updated = CitizenProfile(
                phone=phone,
                language=lang,
                consented_at=now,
                updated_at=now,
                accessibility=flags,
                reminders_opt_in=(
                    profile.reminders_opt_in if reminders_opt_in is None else reminders_opt_in
                ),
            )
            if await self._replace(updated, version):
                return updated
            # Lost the race: a short random wait spreads the retries of several writers.
            await asyncio.sleep(random.uniform(0, 0.01))  # noqa: S311 (not security)
        raise StoreError("profile changed concurrently too often; try again")

    async def get(self, phone: str) -> CitizenProfile | None:
        """The profile of ``phone``, or None when the citizen never consented."""
        check_phone(phone)
        found = await self._get(phone)
        return found[0] if found else None

    async def update(
        self,
        phone: str,
        *,
        language: str | None = None,
        accessibility: Mapping[str, bool] | None = None,
        reminders_opt_in: bool | None = None,
    ) -> CitizenProfile | None:
        """Change an existing profile; None (and nothing stored) if there is none.

        ``accessibility`` flags given here are set; flags not named keep their value.
        """
        check_phone(phone)
        lang = check_language(language) if language is not None else None
        flags = check_accessibility(accessibility) if accessibility is not None else {}
        for _ in range(_CAS_ATTEMPTS):
            found = await self._get(phone)
            if found is None:
                return None
            profile, version = found
            updated = CitizenProfile(
                phone=phone,
                language=lang or profile.language,
                consented_at=profile.consented_at,
                updated_at=self._clock(),
                accessibility=full_accessibility({**profile.accessibility, **flags}),
                reminders_opt_in=(
                    profile.reminders_opt_in if reminders_opt_in is None else reminders_opt_in
                ),
            )
            if await self._replace(updated, version):
                return updated
            # Lost the race: a short random wait spreads the retries of several writers.
            await asyncio.sleep(random.uniform(0, 0.01))  # noqa: S311 (not security)
        raise StoreError("profile changed concurrently too often; try again")

    async def forget(self, phone: str) -> int:
        """Erase the profile of ``phone`` and everything other holders keep for it.

        The other holders go first: if one fails, the profile (and with it the request
        to forget) is still there to retry, rather than leaving data nobody can find.
        Returns how many records were deleted in all.
        """
        check_phone(phone)
        deleted = 0
        for holder in self._also_forget:
            deleted += await holder.forget(phone)
        deleted += await self._delete(phone)
        return deleted

    # ---- health --------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise StoreError unless the store answers and its schema is current."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # ---- primitives ----------------------------------------------------------------
    @abc.abstractmethod
    async def _get(self, phone: str) -> tuple[CitizenProfile, int] | None:
        """The profile and its version, or None."""

    @abc.abstractmethod
    async def _insert(self, profile: CitizenProfile) -> bool:
        """Insert a new profile at version 1; False if ``phone`` already has one."""

    @abc.abstractmethod
    async def _replace(self, profile: CitizenProfile, version: int) -> bool:
        """Overwrite the profile if it is still at ``version`` (and bump it)."""

    @abc.abstractmethod
    async def _delete(self, phone: str) -> int:
        """Delete the profile; 1 if there was one, else 0."""
