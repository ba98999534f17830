"""What is erased, when: FORGET for one number, and retention periods for everything.

FORGET (SMS "삭제"/FORGET) erases the number's profile and reminders
(``ProfileStore.forget``) and, through ``NumberErasure`` registered with it, every
conversation of the number on any channel with their turns, handoff requests and
continuation links, the web chats continued from them, the dialogue's trackers of all
those, the outbox messages to the number, its kept SMS pages and recorded answers, its
call records, and the number wherever a web chat citizen gave it for a call-back. The
next message from the number starts a new conversation. The number's opt-out state
stays (the citizen's instruction, and the carrier's rule), and the audit log keeps who
did what (ids only, never content) for its own period.

``Retention`` runs from the gateway's housekeeping loop (hourly, so every period holds
within an hour) and drops what is older than its setting (``SOTONG_RETAIN_*``; review M7).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from assistant.accounts import AccountStore
from assistant.calls import CallStore
from assistant.config import Settings
from assistant.handoff import HandoffQueue
from assistant.handoff.attempts import CallbackLog
from assistant.outbox import OutboxStore
from assistant.sms import SmsStateStore
from assistant.store import ConversationStore

log = structlog.get_logger(__name__)


class Trackers(Protocol):
    """Where the dialogue keeps its memory of conversations (``TrackerEraser``)."""

    async def erase(self, conversation_ids: Sequence[str]) -> int: ...


async def erase_conversations(
    store: ConversationStore, trackers: Trackers, conversation_ids: list[str]
) -> int:
    """Erase conversations: the dialogue's trackers first (if their store fails, the
    conversations, and with them the way to find the trackers, are still there), then
    the conversations; how many conversations."""
    await trackers.erase(conversation_ids)
    return await store.erase(conversation_ids)


@dataclass
class NumberErasure:
    """FORGET for one number, beyond the profile (an ``Erasable`` of ``ProfileStore``)."""

    store: ConversationStore
    trackers: Trackers
    outbox: OutboxStore
    sms_state: SmsStateStore
    handoff: HandoffQueue | None = None  # call-back numbers a web chat citizen gave

    async def forget(self, phone: str) -> int:
        """Erase what is kept about ``phone``; how many records (tracker events count
        once per conversation)."""
        ids = await self.store.conversations_of_address(phone)
        count = await erase_conversations(self.store, self.trackers, ids)
        log.info("retention.number_forgotten", conversations=count)
        count += await self.outbox.forget(phone)
        count += await self.sms_state.forget(phone)
        if self.handoff is not None:
            count += await self.handoff.forget_callback_number(phone)
        return count


@dataclass(frozen=True)
class Periods:
    """How long each kind of record is kept."""

    conversations: dt.timedelta
    outbox: dt.timedelta
    calls: dt.timedelta
    audit: dt.timedelta
    sms_message_records: dt.timedelta
    # A number given for a call-back, after its request ended (SOTONG_RETAIN_CALLBACK_*).
    callback_numbers: dt.timedelta = dt.timedelta(days=14)
    # Refused requests for a person (a source hash and a reason): a month shows a
    # flood's pattern; not a setting.
    handoff_refusals: dt.timedelta = dt.timedelta(days=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> Periods:
        """The periods of ``SOTONG_RETAIN_*`` and ``SOTONG_SMS_MESSAGE_RECORD_DAYS``."""
        return cls(
            conversations=dt.timedelta(days=settings.retain_conversation_days),
            outbox=dt.timedelta(days=settings.retain_outbox_days),
            calls=dt.timedelta(days=settings.retain_call_days),
            audit=dt.timedelta(days=settings.retain_audit_days),
            sms_message_records=dt.timedelta(days=settings.sms_message_record_days),
            callback_numbers=dt.timedelta(days=settings.retain_callback_number_days),
        )


@dataclass
class Retention:
    """Drops whatever is older than its period; one ``run`` per housekeeping round."""

    periods: Periods
    store: ConversationStore
    trackers: Trackers
    outbox: OutboxStore
    calls: CallStore
    accounts: AccountStore
    sms_state: SmsStateStore
    handoff: HandoffQueue
    callback_attempts: CallbackLog | None = None

    async def erase(self, conversation_ids: list[str]) -> int:
        """Erase conversations now (a citizen ended one on their device); how many."""
        return await erase_conversations(self.store, self.trackers, conversation_ids)

    async def run(self, now: dt.datetime) -> dict[str, int]:
        """One round: how many of each kind were dropped."""
        dropped = {"conversations": 0}
        before = now - self.periods.conversations
        while True:  # in batches, so no statement holds the database for long
            ids = await self.store.inactive_conversations(before)
            if not ids:
                break
            dropped["conversations"] += await self.erase(ids)
        dropped["outbox"] = await self.outbox.drop_finished(now - self.periods.outbox)
        dropped["calls"] = await self.calls.drop_before(now - self.periods.calls)
        dropped["audit"] = await self.accounts.drop_audit_before(now - self.periods.audit)
        dropped["sms_message_records"] = await self.sms_state.forget_messages(
            now - self.periods.sms_message_records
        )
        dropped["handoff_refusals"] = await self.handoff.drop_refusals(
            now - self.periods.handoff_refusals
        )
        dropped["callback_numbers"] = await self.handoff.clear_callback_numbers(
            now - self.periods.callback_numbers
        )
        if self.callback_attempts is not None:  # ids and outcomes, kept as long as calls
            dropped["callback_attempts"] = await self.callback_attempts.drop_before(
                now - self.periods.calls
            )
        if any(dropped.values()):
            log.info("retention.dropped", **dropped)
        return dropped


__all__ = ["NumberErasure", "Periods", "Retention", "Trackers", "erase_conversations"]
