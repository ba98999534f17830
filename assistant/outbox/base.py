"""The outbox's algorithm, independent of where the rows live.

Subclasses provide storage primitives (the ``_``-prefixed methods); this base class owns
the rules every implementation keeps:

- bodies are masked (resident registration numbers) before they are written;
- a ``dedupe_key`` is unique: enqueuing it again returns the rows already stored;
- a worker *claims* due messages under a lease; a claim whose worker died expires and the
  message becomes claimable again, so a crash or restart loses nothing (and may send a
  message twice: delivery is at-least-once);
- per recipient, messages go in order: a later message is never claimed while an earlier
  one to the same number is still queued, sending or waiting for a retry;
- a worker only finishes (retry, failed, suppressed) a message it still holds, so a worker
  whose lease ran out cannot undo what another one did;
- a provider status only ever moves a message forward (``STATUS_RANK``).
"""

from __future__ import annotations

import abc
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from assistant.outbox.records import STATUS_RANK, TWILIO_STATUSES, OutboxMessage, OutboxStatus
from assistant.privacy import mask_rrn


class OutboxError(RuntimeError):
    """The outbox store cannot be used (unreachable, schema missing, …)."""


def utcnow() -> dt.datetime:
    """Timestamps are timezone-aware UTC everywhere."""
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return utcnow()
    if value.tzinfo is None:
        raise ValueError("outbox timestamps must be timezone-aware")
    return value.astimezone(dt.UTC)


OPEN_STATUSES = (OutboxStatus.QUEUED, OutboxStatus.SENDING)


def _require_claim(message: OutboxMessage) -> None:
    if message.claim_token is None:
        raise ValueError(f"outbox message {message.id} was not claimed by this worker")


class OutboxStore(abc.ABC):
    """Outbound SMS, stored before they are sent and tracked until delivered."""

    # ---- enqueue -------------------------------------------------------------------
    async def enqueue(
        self,
        recipient: str,
        bodies: Sequence[str],
        *,
        kind: str,
        conversation_id: str | None = None,
        dedupe_key: str | None = None,
        now: dt.datetime | None = None,
    ) -> list[OutboxMessage]:
        """Store the messages of one text (in order), due at once. Returns them.

        With a ``dedupe_key`` already used, nothing is stored and the messages stored
        under that key come back instead (so nothing is ever sent twice for one key).
        """
        if not bodies:
            raise ValueError("nothing to enqueue")
        if dedupe_key is not None:
            existing = await self._find_by_dedupe(dedupe_key)
            if existing:
                return existing
        at = _utc(now)
        rows = [
            {
                "recipient": recipient,
                "body": mask_rrn(body),
                "kind": kind,
                "conversation_id": conversation_id,
                "dedupe_key": dedupe_key,
                "part": index,
                "parts": len(bodies),
                "status": OutboxStatus.QUEUED.value,
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
                "updated_at": at,
            }
            for index, body in enumerate(bodies, start=1)
        ]
        stored = await self._insert_messages(rows)
        if stored is None:  # lost a race with the same dedupe_key
            existing = await self._find_by_dedupe(dedupe_key or "")
            if not existing:
                raise OutboxError("outbox rows vanished after a duplicate insert")
            return existing
        return stored

    # ---- claim ---------------------------------------------------------------------
    async def claim_due(
        self, *, limit: int, lease_seconds: float, now: dt.datetime | None = None
    ) -> list[OutboxMessage]:
        """Claim up to ``limit`` due messages, at most one per recipient, oldest first.

        Due means queued with its time come, or sending with an expired lease (its worker
        died). Each claim counts as an attempt. Two workers never hold the same message:
        every claim is a conditional update that only one of them can win.
        """
        at = _utc(now)
        lease_until = at + dt.timedelta(seconds=lease_seconds)
        token = uuid.uuid4().hex
        claimed: list[OutboxMessage] = []
        for message_id in await self._due_heads(at, limit):
            message = await self._try_claim(message_id, at, lease_until, token)
            if message is not None:
                claimed.append(message)
        return claimed

    # ---- finish --------------------------------------------------------------------
    async def mark_sent(
        self, message: OutboxMessage, provider_sid: str, now: dt.datetime | None = None
    ) -> bool:
        """Twilio accepted the message (``provider_sid`` is its MessageSid).

        Acceptance is a fact, so it is recorded whoever holds the claim now. If a status
        callback already moved the message on, only the sid is filled in.
        """
        at = _utc(now)
        done = await self._update(
            message.id,
            statuses=OPEN_STATUSES,
            values={
                "status": OutboxStatus.SENT.value,
                "provider_sid": provider_sid,
                "sent_at": at,
                "lease_until": None,
                "claim_token": None,
                "error_code": None,
                "last_error": None,
                "updated_at": at,
            },
        )
        if not done:
            await self._update(message.id, sid_is_null=True, values={"provider_sid": provider_sid})
        return done

    async def schedule_retry(
        self,
        message: OutboxMessage,
        *,
        at: dt.datetime,
        error: str,
        error_code: str | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Put a claimed message back in the queue, due at ``at``, remembering the error."""
        _require_claim(message)
        return await self._update(
            message.id,
            statuses=(OutboxStatus.SENDING,),
            claim_token=message.claim_token,
            values={
                "status": OutboxStatus.QUEUED.value,
                "next_attempt_at": _utc(at),
                "lease_until": None,
                "claim_token": None,
                "error_code": error_code,
                "last_error": error,
                "updated_at": _utc(now),
            },
        )

    async def mark_failed(
        self,
        message: OutboxMessage,
        *,
        error: str,
        error_code: str | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Give up on a claimed message (refused by Twilio, or too many attempts)."""
        return await self._finish(message, OutboxStatus.FAILED, error, error_code, now)

    async def mark_suppressed(
        self,
        message: OutboxMessage,
        *,
        error: str = "recipient opted out",
        error_code: str | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Never send a claimed message: its recipient opted out."""
        return await self._finish(message, OutboxStatus.SUPPRESSED, error, error_code, now)

    async def _finish(
        self,
        message: OutboxMessage,
        status: OutboxStatus,
        error: str,
        error_code: str | None,
        now: dt.datetime | None,
    ) -> bool:
        _require_claim(message)
        return await self._update(
            message.id,
            statuses=(OutboxStatus.SENDING,),
            claim_token=message.claim_token,
            values={
                "status": status.value,
                "lease_until": None,
                "claim_token": None,
                "error_code": error_code,
                "last_error": error,
                "updated_at": _utc(now),
            },
        )

    # ---- provider status -----------------------------------------------------------
    async def apply_provider_status(
        self,
        provider_sid: str,
        provider_status: str,
        *,
        error_code: str | None = None,
        message_id: int | None = None,
        now: dt.datetime | None = None,
    ) -> OutboxMessage | None:
        """Apply a Twilio status (callback) to the message with this MessageSid.

        ``message_id`` (from the callback URL) finds a message whose status callback came
        before its sid was stored. A status never moves a message backwards (a late
        "sent" after "delivered" changes nothing). Returns the message as it is now, or
        None when no message matches or the status is not one of Twilio's.
        """
        target = TWILIO_STATUSES.get(provider_status.strip().lower())
        if target is None:
            return None
        message = await self._find_by_sid(provider_sid)
        if message is None and message_id is not None:
            candidate = await self._get(message_id)
            if candidate is not None and candidate.provider_sid in (None, provider_sid):
                message = candidate
        if message is None:
            return None
        at = _utc(now)
        # Compare-and-set on the status read, retried if another update slipped in.
        for _ in range(5):
            if STATUS_RANK[target] <= STATUS_RANK[message.status]:
                if message.provider_sid is None:
                    await self._update(
                        message.id, sid_is_null=True, values={"provider_sid": provider_sid}
                    )
                    return await self._get(message.id)
                return message
            values: dict[str, Any] = {
                "status": target.value,
                "provider_sid": provider_sid,
                "lease_until": None,
                "claim_token": None,
                "updated_at": at,
            }
            if message.sent_at is None:
                values["sent_at"] = at
            if target in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED):
                values["error_code"] = error_code
                values["last_error"] = f"Twilio reported {provider_status}"
            if await self._update(message.id, statuses=(message.status,), values=values):
                return await self._get(message.id)
            refreshed = await self._get(message.id)
            if refreshed is None:
                return None
            message = refreshed
        raise OutboxError(f"outbox message {message.id} kept changing under a status update")

    # ---- reading -------------------------------------------------------------------
    async def get(self, message_id: int) -> OutboxMessage | None:
        """The message with this id, or None."""
        return await self._get(message_id)

    async def messages(self, recipient: str | None = None) -> list[OutboxMessage]:
        """Every message (or every message to ``recipient``), oldest first."""
        return await self._list(recipient)

    async def count_open(self) -> int:
        """Messages not yet accepted by Twilio (queued, waiting for a retry, or sending)."""
        return await self._count(OPEN_STATUSES)

    # ---- erasure and retention -----------------------------------------------------
    async def forget(self, recipient: str) -> int:
        """FORGET: delete the messages to ``recipient``, queued ones too (they carry
        what the citizen asked about); how many. One being handed to Twilio this very
        moment (``sending``, seconds) is left to finish; retention removes it."""
        statuses = [s for s in OutboxStatus if s is not OutboxStatus.SENDING]
        return await self._delete(statuses, recipient=recipient)

    async def drop_finished(self, before: dt.datetime) -> int:
        """Retention: delete messages finished (sent, delivered or not, failed,
        suppressed) and unchanged since before ``before``; how many."""
        statuses = [s for s in OutboxStatus if s not in OPEN_STATUSES]
        return await self._delete(statuses, changed_before=before)

    # ---- health --------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise OutboxError unless the store answers and its table exists."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # ---- primitives ----------------------------------------------------------------
    @abc.abstractmethod
    async def _insert_messages(self, rows: list[dict[str, Any]]) -> list[OutboxMessage] | None:
        """Insert rows in one transaction, in order; None if the dedupe key exists."""

    @abc.abstractmethod
    async def _find_by_dedupe(self, dedupe_key: str) -> list[OutboxMessage]: ...

    @abc.abstractmethod
    async def _find_by_sid(self, provider_sid: str) -> OutboxMessage | None: ...

    @abc.abstractmethod
    async def _get(self, message_id: int) -> OutboxMessage | None: ...

    @abc.abstractmethod
    async def _list(self, recipient: str | None) -> list[OutboxMessage]: ...

    @abc.abstractmethod
    async def _count(self, statuses: Sequence[OutboxStatus]) -> int: ...

    @abc.abstractmethod
    async def _delete(
        self,
        statuses: Sequence[OutboxStatus],
        *,
        recipient: str | None = None,
        changed_before: dt.datetime | None = None,
    ) -> int:
        """Delete messages in ``statuses`` (to ``recipient``, changed before
        ``changed_before``, when given); how many."""

    @abc.abstractmethod
    async def _due_heads(self, now: dt.datetime, limit: int) -> list[int]:
        """Ids of due messages that are first among their recipient's open ones."""

    @abc.abstractmethod
    async def _try_claim(
        self, message_id: int, now: dt.datetime, lease_until: dt.datetime, token: str
    ) -> OutboxMessage | None:
        """Atomically claim one message if it is still due and still first; else None."""

    @abc.abstractmethod
    async def _update(
        self,
        message_id: int,
        *,
        values: dict[str, Any],
        statuses: Sequence[OutboxStatus] | None = None,
        claim_token: str | None = None,
        sid_is_null: bool = False,
    ) -> bool:
        """Update one row if it is in one of ``statuses`` (when given), still holds
        ``claim_token`` (when given) and has no sid (when ``sid_is_null``). True if it did."""
