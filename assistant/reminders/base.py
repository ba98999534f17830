"""The reminder store's algorithm, independent of where the data lives.

Reminders per phone number and service: setting one up again replaces the reminders
still waiting for that service (never two texts for one deadline); ``due`` lists what
should go out; ``mark_sent`` and ``expire`` move a reminder on only from ``scheduled``
(a compare-and-set), so a cancelled reminder is never marked sent. Drafts keep the
two-step SMS set-up (choose a life event, then give its date) across restarts.
``forget`` deletes everything kept for a number (the right to erasure).

Subclasses provide storage primitives (the ``_``-prefixed methods), each atomic.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Final

from assistant.profiles.records import check_language, check_phone
from assistant.reminders.records import DraftStage, Reminder, ReminderDraft, ReminderStatus
from assistant.store.base import utcnow

# A set-up nobody answered for this long is over (the next message is a new question).
DRAFT_TTL: Final = dt.timedelta(hours=1)


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(dt.UTC)


class ReminderStore(abc.ABC):
    """Deadline reminders and reminder set-up drafts, per phone number."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._clock = clock

    # ---- reminders -----------------------------------------------------------------
    async def schedule(
        self,
        phone: str,
        service_id: str,
        event_date: dt.date,
        due_date: dt.date,
        send_at: Sequence[dt.datetime],
        language: str,
    ) -> list[Reminder]:
        """Schedule one reminder per send time, replacing those still scheduled for the
        same number and service (they are cancelled). Returns the new reminders."""
        check_phone(phone)
        lang = check_language(language)
        times = sorted({_aware(t, "send_at") for t in send_at})
        now = self._clock()
        new = [
            Reminder(
                id=0,
                phone=phone,
                service_id=service_id,
                event_date=event_date,
                due_date=due_date,
                send_at=t,
                language=lang,
                status=ReminderStatus.SCHEDULED,
                created_at=now,
            )
            for t in times
        ]
        return await self._replace_scheduled(phone, service_id, new, now)

    async def due(self, now: dt.datetime, limit: int = 100) -> list[Reminder]:
        """Scheduled reminders whose time has come at ``now``, oldest first."""
        return await self._due(_aware(now, "now"), limit)

    async def mark_sent(self, reminder_id: int) -> bool:
        """Record that a scheduled reminder went out; False if it was not scheduled."""
        return await self._transition(
            reminder_id, ReminderStatus.SCHEDULED, ReminderStatus.SENT, self._clock()
        )

    async def expire(self, reminder_id: int) -> bool:
        """Retire a scheduled reminder that no longer helps; False if it was not scheduled."""
        return await self._transition(
            reminder_id, ReminderStatus.SCHEDULED, ReminderStatus.EXPIRED, self._clock()
        )

    async def cancel_all(self, phone: str) -> int:
        """Cancel every scheduled reminder of ``phone``; how many were cancelled."""
        check_phone(phone)
        return await self._cancel_scheduled(phone)

    async def reminders(self, phone: str) -> list[Reminder]:
        """Every reminder of ``phone`` (any status), by send time."""
        check_phone(phone)
        return await self._list(phone)

    async def get(self, reminder_id: int) -> Reminder | None:
        """The reminder with this id, or None."""
        return await self._get(reminder_id)

    # ---- drafts --------------------------------------------------------------------
    async def get_draft(
        self, phone: str, max_age: dt.timedelta | None = DRAFT_TTL
    ) -> ReminderDraft | None:
        """The set-up in progress for ``phone``; None if none, or older than ``max_age``
        (a stale draft is deleted)."""
        check_phone(phone)
        draft = await self._get_draft(phone)
        if draft is None:
            return None
        if max_age is not None and self._clock() - draft.updated_at > max_age:
            await self._delete_draft(phone)
            return None
        return draft

    async def set_draft(
        self,
        phone: str,
        stage: DraftStage,
        language: str,
        service_id: str | None = None,
        attempts: int = 0,
    ) -> ReminderDraft:
        """Create or replace the set-up in progress for ``phone``."""
        check_phone(phone)
        if stage == DraftStage.AWAITING_DATE and service_id is None:
            raise ValueError("a draft waiting for a date needs its service_id")
        draft = ReminderDraft(
            phone=phone,
            stage=DraftStage(stage),
            language=check_language(language),
            updated_at=self._clock(),
            service_id=service_id,
            attempts=attempts,
        )
        await self._put_draft(draft)
        return draft

    async def clear_draft(self, phone: str) -> None:
        """End the set-up in progress for ``phone`` (if any)."""
        check_phone(phone)
        await self._delete_draft(phone)

    # ---- erasure -------------------------------------------------------------------
    async def forget(self, phone: str) -> int:
        """Delete every reminder (any status) and the draft of ``phone``; how many."""
        check_phone(phone)
        return await self._delete_all(phone) + await self._delete_draft(phone)

    # ---- health --------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise StoreError unless the store answers and its schema is current."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # ---- primitives ----------------------------------------------------------------
    @abc.abstractmethod
    async def _replace_scheduled(
        self, phone: str, service_id: str, new: list[Reminder], now: dt.datetime
    ) -> list[Reminder]:
        """In one transaction: cancel the scheduled reminders of (phone, service_id) and
        insert ``new`` (their ids are assigned); return them with their ids."""

    @abc.abstractmethod
    async def _due(self, now: dt.datetime, limit: int) -> list[Reminder]: ...

    @abc.abstractmethod
    async def _transition(
        self, reminder_id: int, old: ReminderStatus, new: ReminderStatus, at: dt.datetime
    ) -> bool:
        """Set ``new`` status if the reminder is in ``old``; ``sent_at`` when sent."""

    @abc.abstractmethod
    async def _cancel_scheduled(self, phone: str) -> int: ...

    @abc.abstractmethod
    async def _list(self, phone: str) -> list[Reminder]: ...

    @abc.abstractmethod
    async def _get(self, reminder_id: int) -> Reminder | None: ...

    @abc.abstractmethod
    async def _get_draft(self, phone: str) -> ReminderDraft | None: ...

    @abc.abstractmethod
    async def _put_draft(self, draft: ReminderDraft) -> None: ...

    @abc.abstractmethod
    async def _delete_draft(self, phone: str) -> int: ...

    @abc.abstractmethod
    async def _delete_all(self, phone: str) -> int: ...
