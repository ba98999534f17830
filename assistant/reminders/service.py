"""The reminder service: sends due reminders through the outbox, and runs the two-step
SMS set-up (choose a life event, give its date).

Delivery: each due reminder is handed to an injected ``send_sms`` (``Outbox.send_sms``)
with ``dedupe_key=f"reminder:{id}"`` and then marked sent. If the gateway dies between the
two, the next round hands it over again under the same key and the outbox, which already
holds that key, sends nothing new: a reminder is never sent twice. A reminder that no
longer helps is retired instead of sent (``expired``): its deadline passed while the
gateway was down, or a later reminder for the same deadline is due at the same time.
Opt-outs (STOP/중지) are the outbox's business: it checks them right before every send.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from assistant.catalog import Catalog, Service
from assistant.language import Language
from assistant.profiles.base import ProfileStore
from assistant.profiles.records import check_language
from assistant.reminders.base import ReminderStore
from assistant.reminders.dates import parse_event_date
from assistant.reminders.menu import is_cancel_request, menu_text, pick_choice, reminder_choices
from assistant.reminders.records import DraftStage, Reminder, ReminderDraft
from assistant.reminders.schedule import ReminderPlan, plan_service, seoul_today
from assistant.reminders.texts import (
    ask_date_text,
    cancelled_text,
    choice_not_understood_text,
    date_not_understood_text,
    passed_text,
    reminder_body,
    scheduled_text,
)
from assistant.store.base import utcnow

log = structlog.get_logger(__name__)

REMINDER_KIND = "reminder"


def dedupe_key(reminder_id: int) -> str:
    """The outbox dedupe key of a reminder (one SMS per reminder, ever)."""
    return f"reminder:{reminder_id}"


class SendSms(Protocol):
    """What the service needs of the outbox (``Outbox.send_sms`` fits)."""

    async def __call__(
        self, to: str, body: str, *, kind: str, dedupe_key: str | None = ...
    ) -> object: ...


@dataclass(frozen=True)
class SetupResult:
    """What setting up reminders did: the plan (``plan.passed``: nothing scheduled) and
    the reply for the citizen."""

    plan: ReminderPlan
    reminders: tuple[Reminder, ...]
    text: str


class ReminderService:
    """Sends due reminders and runs the SMS set-up exchange."""

    def __init__(
        self,
        store: ReminderStore,
        catalog: Catalog,
        send_sms: SendSms,
        *,
        profiles: ProfileStore | None = None,
        interval_seconds: float = 60.0,
        batch_size: int = 100,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        if interval_seconds <= 0 or batch_size < 1:
            raise ValueError("interval_seconds must be > 0 and batch_size >= 1")
        self.store = store
        self.catalog = catalog
        self.choices = reminder_choices(catalog)
        self._send_sms = send_sms
        self._profiles = profiles
        self._interval = interval_seconds
        self._batch_size = batch_size
        self._clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ---- delivery ------------------------------------------------------------------
    async def deliver_due(self, now: dt.datetime | None = None) -> int:
        """Hand every reminder due at ``now`` to the outbox once; how many were sent.

        A reminder whose hand-over fails stays scheduled and is tried again next round.
        """
        now = now or self._clock()
        sent = 0
        while True:
            batch = await self.store.due(now, self._batch_size)
            done, failed = await self._deliver_batch(batch, now)
            sent += done
            if len(batch) < self._batch_size or failed:
                return sent

    async def _deliver_batch(self, batch: list[Reminder], now: dt.datetime) -> tuple[int, bool]:
        today = seoul_today(now)
        # ``due`` is ordered by send time: the last of each deadline is the one to send.
        latest = {(r.phone, r.service_id, r.due_date): r.id for r in batch}
        sent, failed = 0, False
        for reminder in batch:
            service = self.catalog.get(reminder.service_id)
            superseded = latest[(reminder.phone, reminder.service_id, reminder.due_date)]
            if service is None or reminder.due_date < today or superseded != reminder.id:
                await self.store.expire(reminder.id)
                log.info("reminder.expired", reminder_id=reminder.id, service=reminder.service_id)
                continue
            body = reminder_body(
                service, reminder.due_date, (reminder.due_date - today).days, reminder.language
            )
            try:
                await self._send_sms(
                    reminder.phone, body, kind=REMINDER_KIND, dedupe_key=dedupe_key(reminder.id)
                )
            except Exception:
                failed = True
                log.exception("reminder.send_failed", reminder_id=reminder.id)
                continue
            if await self.store.mark_sent(reminder.id):
                sent += 1
                log.info("reminder.sent", reminder_id=reminder.id, service=reminder.service_id)
        return sent, failed

    async def run(self) -> None:
        """Deliver due reminders every ``interval_seconds`` until ``stop``."""
        while not self._stopping.is_set():
            try:
                await self.deliver_due()
            except Exception:  # a store outage must not end the loop
                log.exception("reminder.round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)

    def start(self) -> asyncio.Task[None]:
        """Run the loop as a task (the app starts it in its lifespan)."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="reminders")
        return self._task

    async def stop(self) -> None:
        """Stop the loop and wait for the round in progress."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    # ---- set-up --------------------------------------------------------------------
    def menu(self, language: Language) -> str:
        """The numbered menu of life events with a deadline."""
        return menu_text(self.choices, language)

    def _deadline_service(self, service_id: str) -> Service:
        service = self.catalog.get(service_id)
        if service is None or service.deadline is None:
            raise ValueError(f"no service with a deadline called {service_id!r}")
        return service

    async def begin(self, phone: str, language: str, service_id: str | None = None) -> str:
        """Start the SMS set-up: the menu, or straight to the date question when the
        service is already known. The draft is stored, so a restart loses nothing."""
        lang = check_language(language)
        if service_id is not None:
            service = self._deadline_service(service_id)
            await self.store.set_draft(phone, DraftStage.AWAITING_DATE, lang, service.id)
            return ask_date_text(service, lang)
        await self.store.set_draft(phone, DraftStage.CHOOSING, lang)
        return self.menu(lang)

    async def reply(self, phone: str, text: str, now: dt.datetime | None = None) -> str | None:
        """Continue a set-up in progress with the citizen's message.

        None when ``phone`` has no set-up in progress, or after a second answer that is
        not understood (the set-up ends and the message goes to the dialogue instead).
        """
        draft = await self.store.get_draft(phone)
        if draft is None:
            return None
        language = draft.language
        if is_cancel_request(text):
            return await self.cancel(phone, language)
        if draft.stage == DraftStage.CHOOSING:
            choice = pick_choice(self.choices, text)
            if choice is None:
                hint = choice_not_understood_text(language) + "\n" + self.menu(language)
                return await self._not_understood(draft, hint)
            await self.store.set_draft(phone, DraftStage.AWAITING_DATE, language, choice.service.id)
            return ask_date_text(choice.service, language)
        service = self.catalog.get(draft.service_id or "")
        if service is None or service.deadline is None:  # the catalog changed meanwhile
            await self.store.clear_draft(phone)
            return None
        now = now or self._clock()
        event_date = parse_event_date(text, seoul_today(now))
        if event_date is None:
            return await self._not_understood(draft, date_not_understood_text(language))
        await self.store.clear_draft(phone)
        result = await self.set_up(phone, service.id, event_date, language, now)
        return result.text

    async def _not_understood(self, draft: ReminderDraft, text: str) -> str | None:
        if draft.attempts >= 1:
            await self.store.clear_draft(draft.phone)
            return None
        await self.store.set_draft(
            draft.phone, draft.stage, draft.language, draft.service_id, draft.attempts + 1
        )
        return text

    async def set_up(
        self,
        phone: str,
        service_id: str,
        event_date: dt.date,
        language: str,
        now: dt.datetime | None = None,
    ) -> SetupResult:
        """Schedule the reminders for ``service_id`` after an event on ``event_date``.

        Reminders set up earlier for the same service are replaced. If the deadline has
        passed, nothing is stored and the text says so. With a profile (consent given),
        its ``reminders_opt_in`` is set.
        """
        lang = check_language(language)
        service = self._deadline_service(service_id)
        plan = plan_service(service, event_date, now or self._clock())
        if plan.passed:
            return SetupResult(plan, (), passed_text(service, plan.due_date, lang))
        reminders = await self.store.schedule(
            phone, service.id, plan.event_date, plan.due_date, plan.send_at, lang
        )
        if self._profiles is not None and reminders:
            await self._profiles.update(phone, reminders_opt_in=True)
        text = scheduled_text(service, plan.due_date, plan.send_at, lang)
        return SetupResult(plan, tuple(reminders), text)

    async def cancel(self, phone: str, language: str) -> str:
        """Stop every reminder of ``phone`` (the answer to "알림취소")."""
        lang = check_language(language)
        count = await self.store.cancel_all(phone)
        await self.store.clear_draft(phone)
        if self._profiles is not None:
            await self._profiles.update(phone, reminders_opt_in=False)
        return cancelled_text(count, lang)
