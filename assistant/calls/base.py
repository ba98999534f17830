"""The call store's algorithm, independent of where the rows live.

One record per phone call (Twilio's CallSid), written from two sides that race:
the media stream (who is calling, in which conversation, how the session ended) and
Twilio's status callbacks (ringing, in progress, completed, busy…, the duration).
Either may come first, and status callbacks may arrive out of order or twice, so:

- every write creates the record if it is missing (a unique insert) and otherwise
  updates it;
- a status only ever moves a call forward (``STATUS_RANK``); a final status, once
  recorded, never changes; repeating a status changes nothing but may fill in what the
  first delivery lacked (the duration);
- values the other side may already have set are filled in, not overwritten;
- a call has one media stream: ``claim_stream`` lets its first ``start`` through, once,
  and only while the call is in progress (review L1).

Subclasses provide storage primitives (the ``_``-prefixed methods), each one atomic
statement, so several gateway processes can share one database.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from assistant.calls.records import (
    STATUS_RANK,
    CallRecord,
    CallStatus,
    StreamClaim,
    parse_call_status,
)
from assistant.store.base import StoreError, utcnow

_MAX_SID = 64
_MAX_OUTCOME = 32


def _check_sid(call_sid: str) -> None:
    if not call_sid or len(call_sid) > _MAX_SID:
        raise ValueError("a CallSid is 1 to 64 characters")


def _earlier(target: CallStatus) -> list[CallStatus]:
    """The statuses a call may be in for ``target`` to move it forward."""
    return [status for status in CallStatus if STATUS_RANK[status] < STATUS_RANK[target]]


class CallStore(abc.ABC):
    """Records of phone calls; also an ``Erasable`` for FORGET (``forget(phone)``)."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._clock = clock

    def _time(self, at: dt.datetime | None) -> dt.datetime:
        if at is None:
            return self._clock()
        if at.tzinfo is None:
            raise ValueError("call times must be timezone-aware")
        return at.astimezone(dt.UTC)

    async def call_started(
        self,
        call_sid: str,
        *,
        caller: str | None,
        called: str | None,
        conversation_id: str | None,
        language: str | None,
        at: dt.datetime | None = None,
    ) -> CallRecord:
        """The media stream of ``call_sid`` started: the bot answers the call now.

        Creates the record or completes one a status callback created; the call is at
        least in progress from now on (a final status already recorded stays).
        """
        _check_sid(call_sid)
        now = self._clock()
        started = self._time(at)
        created = await self._insert(
            {
                "call_sid": call_sid,
                "status": CallStatus.IN_PROGRESS.value,
                "caller": caller,
                "called": called,
                "conversation_id": conversation_id,
                "language": language,
                "started_at": started,
                "turns": 0,
                "handoff": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        if not created:
            values: dict[str, Any] = {"updated_at": now}
            if conversation_id is not None:
                values["conversation_id"] = conversation_id
            if language is not None:
                values["language"] = language
            await self._update(
                call_sid,
                values=values,
                fill={"caller": caller, "called": called, "started_at": started},
            )
            await self._update(
                call_sid,
                values={"status": CallStatus.IN_PROGRESS.value},
                statuses=_earlier(CallStatus.IN_PROGRESS),
            )
        return await self._require(call_sid)

    async def stream_ended(
        self,
        call_sid: str,
        outcome: str,
        turns: int,
        *,
        handoff: bool = False,
        at: dt.datetime | None = None,
    ) -> CallRecord:
        """The media stream of ``call_sid`` ended, with ``outcome`` after ``turns`` turns.

        ``handoff`` records that the caller was handed to a person (it is never unset).
        The end time is kept only until Twilio's final status brings the real one.
        """
        _check_sid(call_sid)
        if not outcome or len(outcome) > _MAX_OUTCOME:
            raise ValueError("an outcome is 1 to 32 characters")
        if turns < 0:
            raise ValueError("turns cannot be negative")
        now = self._clock()
        ended = self._time(at)
        created = await self._insert(
            {
                "call_sid": call_sid,
                "status": CallStatus.IN_PROGRESS.value,
                "ended_at": ended,
                "outcome": outcome,
                "turns": turns,
                "handoff": handoff,
                "created_at": now,
                "updated_at": now,
            }
        )
        if not created:
            values: dict[str, Any] = {"outcome": outcome, "turns": turns, "updated_at": now}
            if handoff:
                values["handoff"] = True
            await self._update(call_sid, values=values, fill={"ended_at": ended})
        return await self._require(call_sid)

    async def claim_stream(self, call_sid: str, at: dt.datetime | None = None) -> StreamClaim:
        """The media stream of ``call_sid`` is starting: CLAIMED if it may, once.

        In one statement the call is marked as streaming, only if it is in progress, has
        not ended and no stream of it started before; so of two ``start``s of one call,
        even at once on two processes, one is CLAIMED. Otherwise says why not (UNKNOWN,
        ENDED, ALREADY_STARTED) and changes nothing. Twilio never re-sends ``start`` on a
        stream, and a new ``<Stream>`` would come with a new webhook: a second ``start``
        is a replay.
        """
        _check_sid(call_sid)
        now = self._clock()
        claimed = await self._update(
            call_sid,
            values={"stream_started_at": self._time(at), "updated_at": now},
            statuses=[CallStatus.IN_PROGRESS],
            unset=("stream_started_at", "ended_at"),
        )
        if claimed:
            return StreamClaim.CLAIMED
        record = await self._get(call_sid)
        if record is None:
            return StreamClaim.UNKNOWN
        if record.stream_started_at is not None:
            return StreamClaim.ALREADY_STARTED
        return StreamClaim.ENDED

    async def status_update(
        self,
        call_sid: str,
        status: CallStatus | str,
        duration_seconds: int | None = None,
        at: dt.datetime | None = None,
        *,
        caller: str | None = None,
        called: str | None = None,
    ) -> CallRecord | None:
        """Apply one of Twilio's call statuses (a status callback); idempotent.

        An unknown ``call_sid`` is recorded anyway (the callback may come before the
        stream). The status only moves the call forward; a final one sets ``ended_at``
        to ``at`` (Twilio's Timestamp). ``duration_seconds``, ``caller`` and ``called``
        fill in what is missing. Returns the record as it is now, or None (and nothing
        stored) when ``status`` is not one of Twilio's.
        """
        _check_sid(call_sid)
        target = status if isinstance(status, CallStatus) else parse_call_status(status)
        if target is None:
            return None
        if duration_seconds is not None and duration_seconds < 0:
            raise ValueError("a duration cannot be negative")
        now = self._clock()
        when = self._time(at)
        final = target.is_final
        created = await self._insert(
            {
                "call_sid": call_sid,
                "status": target.value,
                "caller": caller,
                "called": called,
                "ended_at": when if final else None,
                "duration_seconds": duration_seconds,
                "turns": 0,
                "handoff": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        if not created:
            fill: dict[str, Any] = {
                "caller": caller,
                "called": called,
                "duration_seconds": duration_seconds,
            }
            fill = {name: value for name, value in fill.items() if value is not None}
            values: dict[str, Any] = {"status": target.value, "updated_at": now}
            if final:
                values["ended_at"] = when
            moved = await self._update(
                call_sid, values=values, fill=fill, statuses=_earlier(target)
            )
            if not moved and fill:
                await self._update(call_sid, values={}, fill=fill)
        return await self._require(call_sid)

    async def get(self, call_sid: str) -> CallRecord | None:
        """The record of ``call_sid``, or None."""
        return await self._get(call_sid)

    async def calls_of(self, phone: str) -> list[CallRecord]:
        """Every call from (or to) ``phone``, newest first."""
        return await self._list_for(phone)

    async def forget(self, phone: str) -> int:
        """Delete every call record from or to ``phone`` (FORGET); how many."""
        return await self._delete_for(phone)

    async def drop_before(self, before: dt.datetime) -> int:
        """Retention: delete call records unchanged since before ``before``; how many."""
        return await self._delete_before(before)

    async def _require(self, call_sid: str) -> CallRecord:
        record = await self._get(call_sid)
        if record is None:
            raise StoreError("call record vanished after it was written")
        return record

    # ---- health --------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise StoreError unless the store answers and its table exists."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # ---- primitives ----------------------------------------------------------------
    @abc.abstractmethod
    async def _insert(self, row: dict[str, Any]) -> bool:
        """Insert a record; False (and nothing changed) if ``call_sid`` has one."""

    @abc.abstractmethod
    async def _get(self, call_sid: str) -> CallRecord | None: ...

    @abc.abstractmethod
    async def _update(
        self,
        call_sid: str,
        *,
        values: dict[str, Any],
        fill: dict[str, Any] | None = None,
        statuses: Sequence[CallStatus] | None = None,
        unset: Sequence[str] = (),
    ) -> bool:
        """In one statement: set ``values``, set each of ``fill`` where it is still
        NULL, if the call is in one of ``statuses`` (when given) and each column named
        in ``unset`` is still NULL. True if it did."""

    @abc.abstractmethod
    async def _list_for(self, phone: str) -> list[CallRecord]: ...

    @abc.abstractmethod
    async def _delete_for(self, phone: str) -> int: ...

    @abc.abstractmethod
    async def _delete_before(self, before: dt.datetime) -> int:
        """Delete records last updated before ``before``; how many."""
