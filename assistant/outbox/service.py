"""The outbox service: store first, then a worker sends, retries and gives up politely.

``Outbox.send_sms`` is all the rest of the gateway sees: it splits a text into SMS-sized
messages, stores them in order and wakes the worker. The worker (``run``) claims due
messages, checks the recipient has not opted out right before each send, sends through
an ``SmsSender`` off the event loop, and records what happened. A transient failure is
retried with exponential backoff and jitter until ``max_attempts`` claims or ``max_age``;
then the message is marked failed.

Delivery is at-least-once: if the gateway dies after Twilio accepted a message but before
the row says so, the claim's lease runs out and the message is sent again. Twilio's
Messages API has no idempotency key that would let us do better.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from assistant.config import Settings
from assistant.links import public_link
from assistant.metrics import Metrics
from assistant.outbox.base import OutboxStore, utcnow
from assistant.outbox.records import OutboxMessage
from assistant.outbox.sender import SendError, SendOutcome, SmsSender
from assistant.privacy import mask_rrn
from channels.sms.segments import SmsBudget, paginate

log = structlog.get_logger(__name__)

STATUS_PATH = "/webhooks/twilio/sms/status"
# The query parameter of the status callback URL naming the outbox row, so a callback
# that overtakes the worker (before the MessageSid is stored) still finds its message.
STATUS_ID_PARAM = "outbox_id"

# paginate() wants a hint for pages after the first; with a single page none is used.
_UNUSED_HINT = "+"


def split_for_sms(text: str, segments_per_message: int) -> list[str]:
    """Split ``text`` into messages of at most ``segments_per_message`` SMS segments each.

    Outbound messages are not answers a citizen pages through, so there is no "more"
    hint: every part is sent, in order (the worker sends part n+1 only once Twilio has
    accepted part n). Cuts fall at paragraph, sentence or word ends, as for replies.
    """
    # One page holding every message: at least one character per message bounds the count.
    budget = SmsBudget(
        segments_per_message=segments_per_message, messages_per_page=max(1, len(text))
    )
    pages = paginate(text, budget, _UNUSED_HINT)
    return [message for page in pages for message in page]


@dataclass(frozen=True)
class OutboxPolicy:
    """How the worker paces itself and when it gives up."""

    max_attempts: int = 15
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 600.0
    max_age_seconds: float = 24 * 3600.0
    lease_seconds: float = 60.0
    poll_seconds: float = 2.0
    batch_size: int = 20
    concurrency: int = 4
    segments_per_message: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxPolicy:
        """The policy the settings describe."""
        return cls(
            max_attempts=settings.outbox_max_attempts,
            base_delay_seconds=settings.outbox_base_delay_seconds,
            max_delay_seconds=settings.outbox_max_delay_seconds,
            max_age_seconds=settings.outbox_max_age_seconds,
            lease_seconds=settings.outbox_lease_seconds,
            poll_seconds=settings.outbox_poll_seconds,
            batch_size=settings.outbox_batch_size,
            concurrency=settings.outbox_concurrency,
            segments_per_message=settings.outbox_segments_per_message,
        )

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Seconds before the next try after ``attempts`` tries: exponential, capped, with
        "equal jitter" (half fixed, half random) so retries of many messages spread out."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** max(0, attempts - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass
class RoundReport:
    """What one delivery round did."""

    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return len(self.sent) + len(self.retried) + len(self.failed) + len(self.suppressed)


class Texter(Protocol):
    """What queues a text for sending (``Outbox.send_sms``): for code that texts
    citizens without owning the outbox."""

    async def send_sms(
        self,
        to: str,
        body: str,
        *,
        kind: str,
        conversation_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> list[int]:
        """Store ``body`` for ``to`` as SMS-sized messages; return their outbox ids."""
        ...


class Outbox:
    """Outbound SMS the gateway sends on its own: stored first, then sent by a worker."""

    def __init__(
        self,
        store: OutboxStore,
        sender: SmsSender | None,
        *,
        is_suppressed: Callable[[str], Awaitable[bool]],
        policy: OutboxPolicy | None = None,
        status_callback_url: str | None = None,
        metrics: Metrics | None = None,
        on_unsubscribed: Callable[[str], Awaitable[None]] | None = None,
        missing_settings: tuple[str, ...] = (),
        rng: random.Random | None = None,
    ) -> None:
        """``sender`` None means Twilio is not configured: messages are stored and wait.

        ``is_suppressed(phone)`` is asked right before every send (True: opted out).
        ``on_unsubscribed(phone)`` hears of numbers Twilio refused with error 21610
        (the citizen sent STOP to the carrier), so they can be marked opted out.
        ``status_callback_url`` is where Twilio reports delivery (None: no reports).
        """
        self.store = store
        self._sender = sender
        self._is_suppressed = is_suppressed
        self._on_unsubscribed = on_unsubscribed
        self.policy = policy or OutboxPolicy()
        self._status_callback_url = status_callback_url
        self._metrics = metrics
        self._missing = missing_settings
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: OutboxStore,
        *,
        is_suppressed: Callable[[str], Awaitable[bool]],
        metrics: Metrics | None = None,
        on_unsubscribed: Callable[[str], Awaitable[None]] | None = None,
    ) -> Outbox:
        """The outbox the settings describe, sending through Twilio when configured."""
        from assistant.outbox.sender import TwilioSmsSender, missing_twilio_settings

        callback = public_link(settings, STATUS_PATH)
        return cls(
            store,
            TwilioSmsSender.from_settings(settings),
            is_suppressed=is_suppressed,
            policy=OutboxPolicy.from_settings(settings),
            status_callback_url=callback,
            metrics=metrics,
            on_unsubscribed=on_unsubscribed,
            missing_settings=tuple(missing_twilio_settings(settings)),
        )

    @property
    def can_send(self) -> bool:
        """Whether a sender is configured (else messages are stored and wait)."""
        return self._sender is not None

    # ---- the interface the rest of the gateway uses ----------------------------------
    async def send_sms(
        self,
        to: str,
        body: str,
        *,
        kind: str,
        conversation_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> list[int]:
        """Store ``body`` for ``to`` as SMS-sized messages (in order) and wake the worker.

        ``kind`` says why it is sent (answer, handoff, interpreter, reminder, …). A
        ``dedupe_key`` already used returns the ids stored under it and sends nothing
        again. Returns the outbox ids; a blank body stores nothing and returns [].
        """
        parts = split_for_sms(mask_rrn(body), self.policy.segments_per_message)
        if not parts:
            log.info("outbox.blank_body", kind=kind, conversation_id=conversation_id)
            return []
        messages = await self.store.enqueue(
            to.strip(),
            parts,
            kind=kind,
            conversation_id=conversation_id,
            dedupe_key=dedupe_key,
        )
        ids = [message.id for message in messages]
        if self.can_send:
            log.info("outbox.queued", kind=kind, ids=ids, conversation_id=conversation_id)
        else:
            log.warning(
                "outbox.queued_cannot_send",
                kind=kind,
                ids=ids,
                missing=list(self._missing),
                hint="messages stay queued until Twilio is configured and the gateway restarts",
            )
        await self._update_gauge()
        self._wake.set()
        return ids

    # ---- the worker ------------------------------------------------------------------
    async def deliver_due(self, now: dt.datetime | None = None) -> RoundReport:
        """One delivery round: send every message due at ``now`` (default: the clock).

        Claims repeat until nothing is due, so the parts of a long text go out one after
        another within the round. One ``now`` holds for the whole round, so a message
        scheduled for a retry is not tried again in the same round.
        """
        report = RoundReport()
        if self._sender is None:
            await self._update_gauge()
            return report
        at = now or utcnow()
        limit = asyncio.Semaphore(self.policy.concurrency)

        async def handle(message: OutboxMessage) -> None:
            async with limit:
                await self._deliver(message, at, report)

        while True:
            claimed = await self.store.claim_due(
                limit=self.policy.batch_size, lease_seconds=self.policy.lease_seconds, now=at
            )
            if not claimed:
                break
            await asyncio.gather(*(handle(message) for message in claimed))
        await self._update_gauge()
        return report

    async def _deliver(self, message: OutboxMessage, now: dt.datetime, report: RoundReport) -> None:
        assert self._sender is not None
        policy = self.policy
        age = (now - message.created_at).total_seconds()
        if message.attempts > policy.max_attempts or age > policy.max_age_seconds:
            # Claimed again after a worker died mid-send, or too old to be worth sending.
            await self._fail(message, now, report, "gave up before sending", None)
            return
        try:
            suppressed = await self._is_suppressed(message.recipient)
        except Exception as exc:  # unsure whether they opted out: do not send now
            log.warning("outbox.suppression_check_failed", id=message.id, error=repr(exc))
            await self._retry_or_fail(message, now, report, "opt-out check failed", None)
            return
        if suppressed:
            await self.store.mark_suppressed(message, now=now)
            report.suppressed.append(message.id)
            self._count("suppressed", message)
            log.info("outbox.suppressed", id=message.id, kind=message.kind, reason="opted out")
            return
        try:
            sid = await self._sender.send(
                message.recipient, message.body, status_callback=self._callback_for(message)
            )
        except SendError as error:
            await self._failed_send(message, now, report, error)
            return
        except Exception as exc:  # a bug must not kill the worker nor lose the message
            log.exception("outbox.send_crashed", id=message.id)
            await self._retry_or_fail(message, now, report, f"{exc.__class__.__name__}", None)
            return
        await self.store.mark_sent(message, sid, now=now)
        report.sent.append(message.id)
        self._count("sent", message)
        log.info("outbox.sent", id=message.id, kind=message.kind, sid=sid, attempt=message.attempts)

    async def _failed_send(
        self, message: OutboxMessage, now: dt.datetime, report: RoundReport, error: SendError
    ) -> None:
        if error.outcome is SendOutcome.UNSUBSCRIBED:
            await self.store.mark_suppressed(
                message, error=error.detail, error_code=error.code, now=now
            )
            report.suppressed.append(message.id)
            self._count("suppressed", message)
            log.info("outbox.suppressed", id=message.id, kind=message.kind, reason="carrier STOP")
            if self._on_unsubscribed is not None:
                try:
                    await self._on_unsubscribed(message.recipient)
                except Exception:
                    log.exception("outbox.unsubscribe_hook_failed", id=message.id)
            return
        if error.outcome is SendOutcome.PERMANENT:
            await self._fail(message, now, report, error.detail, error.code)
            return
        await self._retry_or_fail(message, now, report, error.detail, error.code)

    async def _retry_or_fail(
        self,
        message: OutboxMessage,
        now: dt.datetime,
        report: RoundReport,
        detail: str,
        code: str | None,
    ) -> None:
        policy = self.policy
        delay = policy.backoff(message.attempts, self._rng)
        next_at = now + dt.timedelta(seconds=delay)
        too_old = (next_at - message.created_at).total_seconds() > policy.max_age_seconds
        if message.attempts >= policy.max_attempts or too_old:
            await self._fail(message, now, report, f"gave up after {detail}", code)
            return
        await self.store.schedule_retry(message, at=next_at, error=detail, error_code=code, now=now)
        report.retried.append(message.id)
        self._count("retried", message)
        log.warning(
            "outbox.retry",
            id=message.id,
            kind=message.kind,
            attempt=message.attempts,
            error=detail,
            delay_seconds=round(delay, 3),
        )

    async def _fail(
        self,
        message: OutboxMessage,
        now: dt.datetime,
        report: RoundReport,
        detail: str,
        code: str | None,
    ) -> None:
        await self.store.mark_failed(message, error=detail, error_code=code, now=now)
        report.failed.append(message.id)
        self._count("failed", message)
        log.error(
            "outbox.failed",
            id=message.id,
            kind=message.kind,
            attempt=message.attempts,
            error=detail,
        )

    def _callback_for(self, message: OutboxMessage) -> str | None:
        if self._status_callback_url is None:
            return None
        return f"{self._status_callback_url}?{STATUS_ID_PARAM}={message.id}"

    def _count(self, outcome: str, message: OutboxMessage) -> None:
        if self._metrics is None:
            return
        counter = {
            "sent": self._metrics.outbox_sent,
            "retried": self._metrics.outbox_retried,
            "failed": self._metrics.outbox_failed,
            "suppressed": self._metrics.outbox_suppressed,
        }[outcome]
        counter.labels(message.kind).inc()

    async def _update_gauge(self) -> None:
        if self._metrics is None:
            return
        try:
            self._metrics.outbox_queued.set(await self.store.count_open())
        except Exception as exc:  # a metric must never break sending
            log.warning("outbox.gauge_failed", error=exc.__class__.__name__)

    # ---- lifecycle -------------------------------------------------------------------
    async def run(self) -> None:
        """Deliver until stopped: at once (a restart catches up), then whenever woken by
        ``send_sms`` or every ``poll_seconds`` (retries come due with time)."""
        if self._sender is None:
            log.warning(
                "outbox.cannot_send",
                missing=list(self._missing),
                hint="messages are stored and stay queued; set the Twilio settings to send",
            )
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception:  # keep the worker alive whatever one round hits
                log.exception("outbox.round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_for_work(), timeout=self.policy.poll_seconds)

    async def _wait_for_work(self) -> None:
        wake = asyncio.create_task(self._wake.wait())
        stop = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({wake, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
            stop.cancel()

    def start(self) -> asyncio.Task[None]:
        """Start ``run`` as a task of the current event loop."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="outbox-worker")
        return self._task

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop the worker: let a round in progress finish (up to ``grace_seconds``),
        then cancel. A send cut short stays claimed; its lease expires and it is retried."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace_seconds)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
