"""The SMS state store's algorithm, independent of where the data lives.

Per phone number: the opt-out (honoured by every outbound message), the pages of the
last long reply still waiting for "더보기"/MORE, and a rate-limit counter. Per incoming
message (Twilio's MessageSid): a claim, so a retried or concurrent duplicate delivery is
processed once, and the answer, so the duplicate gets the same one.

Subclasses provide storage primitives (the ``_``-prefixed methods), each a single atomic
statement or a compare-and-set, so several gateway processes can share one database.
Everything written that could carry a citizen's words is masked first (mask_rrn).
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import time
from collections.abc import Callable, Sequence

from assistant.privacy import mask_rrn
from assistant.sms.records import (
    Claim,
    ClaimTimeout,
    MessageRecord,
    MessageStatus,
    NumberState,
    RateDecision,
)
from assistant.store.base import utcnow

# Polling a claim held by another request: start fast (a keyword answer takes
# milliseconds), back off to this (a dialogue turn takes up to seconds).
_FIRST_POLL_SECONDS = 0.02
_MAX_POLL_SECONDS = 0.25


class SmsStateStore(abc.ABC):
    """Per-number SMS state and per-message idempotency."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._clock = clock

    # ---- opt-out -------------------------------------------------------------------
    async def number(self, phone: str) -> NumberState:
        """What is known about ``phone`` (a fresh state if nothing is)."""
        return await self._get_number(phone) or NumberState(phone=phone)

    async def is_opted_out(self, phone: str) -> bool:
        """True when ``phone`` asked to receive no more messages."""
        state = await self._get_number(phone)
        return state is not None and state.opted_out

    async def set_opted_out(
        self, phone: str, opted_out: bool, *, provider_blocked: bool = False
    ) -> None:
        """Record an opt-out (``True``) or an opt-in (``False``), with its time.

        ``provider_blocked`` records that Twilio blocks the number too (it answered the
        STOP itself), so no reply of ours can reach it until it opts in again.
        """
        now = self._clock()
        await self._ensure_number(phone, now)
        if opted_out:
            await self._update_number(
                phone,
                opted_out=True,
                provider_blocked=provider_blocked,
                restart_hint_sent=False,
                opted_out_at=now,
                pages=[],
                updated_at=now,
            )
        else:
            await self._update_number(
                phone,
                opted_out=False,
                provider_blocked=False,
                restart_hint_sent=False,
                opted_in_at=now,
                updated_at=now,
            )

    async def claim_restart_hint(self, phone: str) -> bool:
        """True exactly once per opt-out: the caller may tell the number how to restart."""
        return await self._claim_restart_hint(phone, self._clock())

    # ---- "더보기" / MORE pages -----------------------------------------------------------
    async def save_pages(self, phone: str, pages: Sequence[Sequence[str]]) -> None:
        """Keep the rest of a long reply (replacing any older rest); empty clears it."""
        now = self._clock()
        await self._ensure_number(phone, now)
        masked = [[mask_rrn(message) for message in page] for page in pages]
        await self._update_number(phone, pages=masked, updated_at=now)

    async def take_page(self, phone: str) -> tuple[str, ...] | None:
        """The next kept page, removed from the store; None when nothing is left."""
        return await self._pop_page(phone, self._clock())

    # ---- rate limit ----------------------------------------------------------------
    async def hit_rate(self, phone: str, limit: int, window_seconds: int) -> RateDecision:
        """Count one message of ``phone`` in the current fixed window and judge it.

        Up to ``limit`` messages a window are allowed; the first one over gets
        REFUSED_NOTIFY (one polite reply), every later one REFUSED_SILENT, so an
        auto-responder answering our replies cannot loop with us.
        """
        now = self._clock()
        window = int(now.timestamp()) // window_seconds
        await self._ensure_number(phone, now)
        count = await self._count_hit(phone, window)
        if count <= limit:
            return RateDecision.ALLOWED
        return RateDecision.REFUSED_NOTIFY if count == limit + 1 else RateDecision.REFUSED_SILENT

    # ---- MessageSid idempotency ----------------------------------------------------
    async def claim_message(
        self, message_sid: str, phone: str, *, wait_seconds: float, lease_seconds: float
    ) -> Claim:
        """Claim ``message_sid`` for processing, or get the answer it already has.

        The claim is a unique insert, so of two concurrent deliveries exactly one owns
        the message. The other waits up to ``wait_seconds`` for the owner's answer and
        returns it. A claim older than ``lease_seconds`` belongs to a request that died
        (a crashed process) and is taken over; a claim the owner released (its
        processing failed) is claimed anew. Raises ClaimTimeout if the owner is still
        working when the wait ends.
        """
        deadline = time.monotonic() + wait_seconds
        delay = _FIRST_POLL_SECONDS
        if await self._insert_claim(message_sid, phone, self._clock()):
            return Claim(owned=True)
        while True:
            now = self._clock()
            record = await self._get_message(message_sid)
            if record is None:  # the owner released it: try to become the owner
                if await self._insert_claim(message_sid, phone, now):
                    return Claim(owned=True)
            elif record.status is MessageStatus.DONE:
                return Claim(owned=False, messages=record.messages, outcome=record.outcome)
            else:
                stale_before = now - dt.timedelta(seconds=lease_seconds)
                if record.claimed_at < stale_before and await self._take_over(
                    message_sid, stale_before, now
                ):
                    return Claim(owned=True)
            if time.monotonic() >= deadline:
                raise ClaimTimeout(message_sid)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_POLL_SECONDS)

    async def complete_message(
        self, message_sid: str, messages: Sequence[str], outcome: str
    ) -> None:
        """Store the answer of a claimed message; duplicates get exactly this."""
        masked = [mask_rrn(message) for message in messages]
        await self._complete(message_sid, masked, outcome, self._clock())

    async def release_message(self, message_sid: str) -> None:
        """Give a claimed message up (processing failed), so a retry processes it."""
        await self._delete_message(message_sid)

    async def message(self, message_sid: str) -> MessageRecord | None:
        """The idempotency record of ``message_sid``, or None."""
        return await self._get_message(message_sid)

    async def forget_messages(self, before: dt.datetime) -> int:
        """Drop idempotency records claimed before ``before`` (Twilio retries within
        minutes; a day is plenty); return how many."""
        return await self._delete_messages_before(before)

    async def forget(self, phone: str) -> int:
        """FORGET: the number's kept pages and the answers recorded for its finished
        messages go; how many records. Its opt-out state stays: it is the citizen's
        own instruction, and the carrier's rule. A message still being answered keeps
        its record (its retry must get the same answer; the daily drop takes it)."""
        if await self._get_number(phone) is not None:
            await self.save_pages(phone, [])
        return await self._delete_done_messages_of(phone)

    # ---- health --------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise StoreError unless the store answers and its schema is current."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # ---- primitives ----------------------------------------------------------------
    @abc.abstractmethod
    async def _ensure_number(self, phone: str, now: dt.datetime) -> None:
        """Create the number's row if it does not exist (a concurrent create is fine)."""

    @abc.abstractmethod
    async def _get_number(self, phone: str) -> NumberState | None: ...

    @abc.abstractmethod
    async def _update_number(self, phone: str, **fields: object) -> None: ...

    @abc.abstractmethod
    async def _claim_restart_hint(self, phone: str, now: dt.datetime) -> bool:
        """Atomically set the hint flag of an opted-out number; True if this call set it."""

    @abc.abstractmethod
    async def _pop_page(self, phone: str, now: dt.datetime) -> tuple[str, ...] | None:
        """Atomically remove and return the first kept page."""

    @abc.abstractmethod
    async def _count_hit(self, phone: str, window: int) -> int:
        """Atomically count one hit in ``window`` (restarting at 1 in a new window)."""

    @abc.abstractmethod
    async def _insert_claim(self, message_sid: str, phone: str, now: dt.datetime) -> bool:
        """Insert a PROCESSING record; False if ``message_sid`` already has one."""

    @abc.abstractmethod
    async def _get_message(self, message_sid: str) -> MessageRecord | None: ...

    @abc.abstractmethod
    async def _take_over(
        self, message_sid: str, stale_before: dt.datetime, now: dt.datetime
    ) -> bool:
        """Re-claim a PROCESSING record claimed before ``stale_before``; True if taken."""

    @abc.abstractmethod
    async def _complete(
        self, message_sid: str, messages: list[str], outcome: str, now: dt.datetime
    ) -> None: ...

    @abc.abstractmethod
    async def _delete_message(self, message_sid: str) -> None: ...

    @abc.abstractmethod
    async def _delete_messages_before(self, cutoff: dt.datetime) -> int: ...

    @abc.abstractmethod
    async def _delete_done_messages_of(self, phone: str) -> int:
        """Delete the finished message records of ``phone``; how many."""
