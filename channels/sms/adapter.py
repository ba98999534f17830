"""SMS adapter: Twilio's Messaging webhook in, TwiML out, the conversation core between.

One incoming SMS goes: signature (TwilioForm) → typed message (wire) → MessageSid claim
(a retried or concurrent duplicate gets the first delivery's answer and is processed
once) → per-number rate limit → keywords (STOP/START/HELP/MORE, and SAVE/FORGET for the
citizen's profile, both languages) → opted-out numbers → deadline reminders (set-up in
progress, "알림", "알림취소") → the dialogue, through the conversation core, starting
from the number's profile where the citizen consented to one → replies as plain text,
paged to the SMS budget (the rest waits for "더보기"/MORE) → the answer stored under the
MessageSid → TwiML.

Answers that come later (a message kept while Rasa was down, then answered) go out
through ``SmsOutput`` and the outbox, which honours opt-outs right before each send.

Nothing here logs or stores a message body: the core masks resident registration numbers
before it stores a turn, and the state store keeps only bot texts (masked as well).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Response

from assistant import continuation
from assistant.api.deps import ServicesDep
from assistant.api.schemas import refusals
from assistant.api.twilio_auth import TwilioForm
from assistant.config import Settings
from assistant.conversation import ConversationCore
from assistant.language import DEFAULT_LANGUAGE, Language, as_language, choose_language
from assistant.messages import IncomingMessage, OutgoingMessage
from assistant.metrics import Metrics
from assistant.outbox import Texter
from assistant.profiles import ACCESSIBILITY_KEYS, CitizenProfile, ProfileError, ProfileStore
from assistant.reminders import ReminderService, is_cancel_request, is_setup_request
from assistant.services import Services
from assistant.sms import ClaimTimeout, NumberState, RateDecision, SmsStateStore
from assistant.store import ConversationStore
from assistant.store.outage import OUTAGES, is_outage
from assistant.texts import say
from channels.sms.keywords import Keyword, KeywordMatch, match_keyword
from channels.sms.segments import SmsBudget, paginate
from channels.sms.spool import SmsSpool
from channels.sms.wire import TWIML_MEDIA_TYPE, InboundSms, MalformedSms, parse_inbound, twiml

CHANNEL = "sms"
RATE_WINDOW_SECONDS = 60

log = structlog.get_logger(__name__)
router = APIRouter(
    prefix="/webhooks/twilio", tags=["sms"], responses=refusals(400, 403, 413, 415, 422, 503)
)


class Outcome(StrEnum):
    """What became of one incoming SMS (the ``outcome`` label of the metric)."""

    ANSWERED = "answered"
    DEGRADED = "degraded"  # the dialogue was down: apology now, the answer later
    KEYWORD_STOP = "keyword_stop"
    KEYWORD_START = "keyword_start"
    KEYWORD_HELP = "keyword_help"
    KEYWORD_MORE = "keyword_more"
    KEYWORD_SAVE = "keyword_save"
    KEYWORD_FORGET = "keyword_forget"
    REMINDER = "reminder"  # setting up or cancelling deadline reminders
    OPTED_OUT = "opted_out"  # text from a number that opted out: not sent to the dialogue
    RATE_LIMITED = "rate_limited"
    MEDIA = "media"  # a picture without text
    EMPTY = "empty"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Answer:
    """The SMS texts to send back (none: an empty ``<Response/>``) and why."""

    messages: tuple[str, ...]
    outcome: Outcome


class SmsOutput:
    """Delivers messages that come outside a webhook request, through the outbox.

    ``channel`` is the conversations it serves: SMS ones, or phone calls, whose answers
    to kept messages arrive after the caller hung up and so go out as a text.
    """

    def __init__(self, store: ConversationStore, outbox: Texter, channel: str = CHANNEL) -> None:
        self._store = store
        self._outbox = outbox
        self._channel = channel

    async def send(self, conversation_id: str, message: OutgoingMessage) -> None:
        """Queue ``message`` for the phone number of ``conversation_id``."""
        conversation = await self._store.get_conversation(conversation_id)
        if conversation is None or conversation.channel != self._channel:
            log.error("sms.output_no_conversation", conversation_id=conversation_id)
            return
        # The turn id makes a repeated delivery of the same reply one outbox entry.
        dedupe_key = f"answer:{message.turn_id}" if message.turn_id is not None else None
        await self._outbox.send_sms(
            conversation.address,
            message.as_plain_text(),
            kind="answer",
            conversation_id=conversation_id,
            dedupe_key=dedupe_key,
        )


class SmsInbound:
    """The flow of one incoming SMS, from typed message to the texts to answer."""

    def __init__(
        self,
        settings: Settings,
        core: ConversationCore,
        store: ConversationStore,
        state: SmsStateStore,
        metrics: Metrics,
        profiles: ProfileStore,
        reminders: ReminderService,
        signing_key: bytes = b"",
    ) -> None:
        self._settings = settings
        self._signing_key = signing_key  # for the "see it all on the web" link
        self._core = core
        self._store = store
        self._state = state
        self._metrics = metrics
        self._profiles = profiles
        self._reminders = reminders
        self._budget = SmsBudget(
            segments_per_message=settings.sms_segments_per_message,
            messages_per_page=settings.sms_messages_per_page,
        )

    @classmethod
    def from_services(cls, services: Services) -> SmsInbound:
        """The flow over the process's services."""
        return cls(
            services.settings,
            services.core,
            services.store,
            services.sms_state,
            services.metrics,
            services.profiles,
            services.reminders,
            services.signing_key,
        )

    async def answer(self, sms: InboundSms) -> tuple[str, ...]:
        """The SMS texts answering ``sms``; the same texts for every delivery of it.

        Raises ClaimTimeout when another delivery of the same message is still being
        processed after the configured wait.
        """
        claim = await self._state.claim_message(
            sms.message_sid,
            sms.from_number,
            wait_seconds=self._settings.sms_duplicate_wait_seconds,
            lease_seconds=self._settings.sms_claim_lease_seconds,
        )
        if not claim.owned:
            self._metrics.sms_inbound.labels(Outcome.DUPLICATE.value).inc()
            log.info("sms.duplicate", message_sid=sms.message_sid, first_outcome=claim.outcome)
            return claim.messages
        try:
            # One number's messages one at a time, across gateways too (RedisLocks).
            async with self._core.locks.hold(f"number:{sms.from_number}"):
                answer = await self._process(sms)
        except BaseException:
            # Let a retry of this message process it again (the core's own idempotency on
            # the MessageSid keeps the transcript from recording it twice).
            with contextlib.suppress(Exception):
                await self._state.release_message(sms.message_sid)
            raise
        await self._state.complete_message(sms.message_sid, answer.messages, answer.outcome.value)
        self._metrics.sms_inbound.labels(answer.outcome.value).inc()
        log.info(
            "sms.answered",
            message_sid=sms.message_sid,
            outcome=answer.outcome.value,
            parts=len(answer.messages),
            num_media=sms.num_media,
        )
        return answer.messages

    async def _process(self, sms: InboundSms) -> Answer:
        phone = sms.from_number
        number = await self._state.number(phone)
        conversation = await self._store.latest_conversation(CHANNEL, phone)
        # The profile only matters before a conversation exists (it starts one right).
        profile = await self._profiles.get(phone) if conversation is None else None
        if conversation is not None:
            current = as_language(conversation.language)
        else:
            current = as_language(profile.language) if profile else DEFAULT_LANGUAGE
        language = choose_language(sms.body, current)
        match = match_keyword(
            sms.body,
            opt_out_type=sms.opt_out_type,
            opted_out=number.opted_out,
            provider_keywords=self._settings.sms_provider_keywords,
        )

        rate = await self._state.hit_rate(
            phone, self._settings.sms_rate_per_minute, RATE_WINDOW_SECONDS
        )
        if rate.refused:
            log.warning("sms.rate_limited", message_sid=sms.message_sid, decision=rate.value)
            reply: tuple[str, ...] = ()
            if match is not None and match.keyword in (Keyword.STOP, Keyword.START):
                # Opting out or in is honoured whatever the rate: it is the citizen's right.
                reply = (await self._keyword(match, phone, number, language)).messages
            elif not number.opted_out:
                reply = (say("sms_rate_limited", language),)
            notify = rate is RateDecision.REFUSED_NOTIFY
            return Answer(reply if notify else (), Outcome.RATE_LIMITED)

        if match is not None and match.keyword is Keyword.FORGET:
            # Erasure is a right whatever the opt-out; the confirmation is only withheld
            # where Twilio would refuse it (it blocks the number after its own STOP).
            answer = await self._profile(match, phone, language, {})
            return Answer((), answer.outcome) if number.provider_blocked else answer
        if match is not None and match.keyword is Keyword.SAVE:
            if not number.opted_out:
                accessibility = conversation.accessibility if conversation else {}
                return await self._profile(match, phone, language, accessibility)
        elif match is not None and not (match.keyword is Keyword.MORE and number.opted_out):
            return await self._keyword(match, phone, number, language)

        if number.opted_out:
            # Decision: text from a number that opted out is not sent to the dialogue and
            # not stored (the citizen withdrew; answering would be sending to them). They
            # are told once how to restart, unless Twilio blocks the number (it answered
            # the STOP), where any reply would be refused with error 21610.
            if not number.provider_blocked and await self._state.claim_restart_hint(phone):
                return Answer((say("sms_opted_out", language),), Outcome.OPTED_OUT)
            return Answer((), Outcome.OPTED_OUT)

        if not sms.body.strip():
            if sms.num_media:
                return Answer((say("sms_media", language),), Outcome.MEDIA)
            return Answer((say("sms_empty", language),), Outcome.EMPTY)

        reminder = await self._reminder(phone, sms.body, language)
        if reminder is not None:
            return Answer((reminder,), Outcome.REMINDER)
        return await self._dialogue(
            sms, language, conversation.id if conversation else None, profile
        )

    async def _profile(
        self, match: KeywordMatch, phone: str, language: Language, accessibility: dict[str, Any]
    ) -> Answer:
        said_in: Language = match.language or language
        if match.keyword is Keyword.SAVE:
            # Sending the word is the consent; what is kept is said in the reply.
            needs = {k: v for k, v in accessibility.items() if k in ACCESSIBILITY_KEYS}
            try:
                await self._profiles.save_with_consent(phone, said_in, needs)
            except ProfileError as exc:  # not a phone number (a short code, a name)
                log.warning("sms.profile_refused", reason=str(exc))
                return Answer((say("sms_help", said_in),), Outcome.KEYWORD_SAVE)
            log.info("sms.profile_saved")
            return Answer((say("sms_profile_saved", said_in),), Outcome.KEYWORD_SAVE)
        await self._profiles.forget(phone)  # its reminders go with it (also_forget)
        await self._reminders.cancel(phone, said_in)  # reminders set without a profile
        await self._state.save_pages(phone, [])
        log.info("sms.profile_forgotten")
        return Answer((say("sms_profile_forgotten", said_in),), Outcome.KEYWORD_FORGET)

    async def _reminder(self, phone: str, body: str, language: Language) -> str | None:
        """The answer when ``body`` belongs to the deadline reminders, else None."""
        in_progress = await self._reminders.reply(phone, body)
        if in_progress is not None:
            return in_progress
        if is_cancel_request(body):
            return await self._reminders.cancel(phone, language)
        if is_setup_request(body):
            return await self._reminders.begin(phone, language)
        return None

    async def _keyword(
        self, match: KeywordMatch, phone: str, number: NumberState, language: Language
    ) -> Answer:
        said_in: Language = match.language or language
        if match.keyword is Keyword.STOP:
            await self._state.set_opted_out(phone, True, provider_blocked=match.provider_answered)
            log.info("sms.opted_out", provider_answered=match.provider_answered)
            # The confirmation is the last message the number gets from us.
            reply = () if match.provider_answered else (say("sms_stopped", said_in),)
            return Answer(reply, Outcome.KEYWORD_STOP)
        if match.keyword is Keyword.START:
            await self._state.set_opted_out(phone, False)
            log.info("sms.opted_in", provider_answered=match.provider_answered)
            # Twilio confirms its own words; and a number Twilio still blocks (it took an
            # English STOP, then came 시작, which Twilio does not know) cannot get a reply
            # until it sends START: we record the wish and stay silent.
            silent = match.provider_answered or number.provider_blocked
            reply = () if silent else (say("sms_started", said_in),)
            return Answer(reply, Outcome.KEYWORD_START)
        if match.keyword is Keyword.HELP:
            blocked = number.opted_out and number.provider_blocked
            reply = () if match.provider_answered or blocked else (say("sms_help", said_in),)
            return Answer(reply, Outcome.KEYWORD_HELP)
        page = await self._state.take_page(phone)
        if page is None:
            return Answer((say("sms_more_none", said_in),), Outcome.KEYWORD_MORE)
        return Answer(page, Outcome.KEYWORD_MORE)

    async def _dialogue(
        self,
        sms: InboundSms,
        language: Language,
        conversation_id: str | None,
        profile: CitizenProfile | None,
    ) -> Answer:
        if conversation_id is None:
            # A profile (kept with consent) starts the conversation with the citizen's needs.
            conversation = await self._core.start(
                CHANNEL,
                address=sms.from_number,
                language=language,
                accessibility=dict(profile.accessibility) if profile else None,
            )
            conversation_id = conversation.id
        metadata: dict[str, Any] = {
            "sms": {
                "message_sid": sms.message_sid,
                "num_segments": sms.num_segments,
                "num_media": sms.num_media,
                "from_country": sms.from_country,
            }
        }
        result = await self._core.handle(
            IncomingMessage(
                conversation_id=conversation_id,
                text=sms.body,
                channel=CHANNEL,
                client_message_id=sms.message_sid,
                metadata=metadata,
                origin=sms.from_number,
            )
        )
        text = "\n\n".join(r.as_plain_text().strip() for r in result.replies if r.text.strip())
        if result.web_link and text:
            text = await self._with_web_link(conversation_id, text, result.language)
        pages = paginate(text, self._budget, say("sms_more_hint", result.language))
        # A new answer replaces whatever was left of the previous one.
        await self._state.save_pages(sms.from_number, pages[1:])
        outcome = Outcome.DEGRADED if result.degraded else Outcome.ANSWERED
        return Answer(tuple(pages[0]) if pages else (), outcome)

    async def _with_web_link(self, conversation_id: str, text: str, language: str) -> str:
        """``text`` (a full answer, several pages) opened by a link to all of it on the
        web chat: signed, expiring and used once (assistant/continuation.py), on the
        first page. Without a public URL, or if the link cannot be stored, the answer
        goes without it."""
        if not self._signing_key:
            return text
        try:
            link = await continuation.offer(
                self._store, self._settings, self._signing_key, conversation_id
            )
        except Exception as exc:  # the answer matters more than the link
            log.error("sms.web_link_failed", error=f"{exc.__class__.__name__}: {exc}")
            return text
        if link is None:
            return text
        hours = f"{self._settings.continue_link_hours:g}"
        line = say("sms_web_link", as_language(language)).format(hours=hours)
        # The link first and alone: a message of ASCII only holds 153 characters a
        # segment, so the pager never has to cut it (with Korean after it, 67).
        return f"{link}\n\n{line}\n\n{text}"


@router.post("/sms", response_class=Response, summary="Twilio Messaging webhook")
async def incoming_sms(form: TwilioForm, services: ServicesDep) -> Response:
    """An incoming SMS, signed by Twilio; answered with TwiML."""
    try:
        sms = parse_inbound(form)
    except MalformedSms as exc:
        services.metrics.rejected_webhooks.labels("twilio", "malformed").inc()
        log.warning("sms.malformed", fields=list(exc.fields))
        raise HTTPException(status_code=400, detail="malformed SMS webhook") from exc
    expected = services.settings.twilio_account_sid
    if expected and sms.account_sid and sms.account_sid != expected:
        services.metrics.rejected_webhooks.labels("twilio", "account").inc()
        log.warning("sms.wrong_account", message_sid=sms.message_sid)
        raise HTTPException(status_code=403, detail="webhook for another Twilio account")
    answering = asyncio.ensure_future(SmsInbound.from_services(services).answer(sms))
    done, _ = await asyncio.wait({answering}, timeout=services.settings.sms_answer_budget_seconds)
    if not done:
        # Twilio gives up at 15 s and the citizen would get nothing: answer now with an
        # empty <Response/>, and text the answer when it is ready (review M2). After a
        # 200 Twilio never sends the message again, so it is kept on disk first: if this
        # process dies before the answer is texted, the kept-messages loop answers it.
        log.warning("sms.answer_late", message_sid=sms.message_sid)
        await _keep_late(services, sms)
        _late.add(answering)
        answering.add_done_callback(_late.discard)
        answering.add_done_callback(lambda task: _send_late(services, sms, task))
        return Response(content=twiml(()), media_type=TWIML_MEDIA_TYPE)
    try:
        messages = answering.result()
    except OUTAGES as exc:
        return _kept_for_later(services, sms, exc)
    except ClaimTimeout as exc:
        # The first delivery is still being answered; Twilio may retry this one later.
        log.warning("sms.duplicate_still_processing", message_sid=sms.message_sid)
        raise HTTPException(
            status_code=503, detail="message still being processed", headers={"Retry-After": "5"}
        ) from exc
    return Response(content=twiml(messages), media_type=TWIML_MEDIA_TYPE)


def _kept_for_later(services: Services, sms: InboundSms, exc: BaseException) -> Response:
    """The database is out (review M12): keep the message on disk, tell the citizen it
    was kept, and answer it by text when the database is back (``answer_kept``)."""
    log.error("sms.store_outage", message_sid=sms.message_sid, error=exc.__class__.__name__)
    services.metrics.sms_inbound.labels(Outcome.DEGRADED.value).inc()
    try:
        sms_spool(services.settings).keep(sms)
    except OSError as disk:  # the disk too: Twilio's Fallback URL is the last resort
        log.critical("sms.spool_failed", message_sid=sms.message_sid, error=str(disk))
        raise HTTPException(status_code=503, detail="message not kept") from disk
    language = choose_language(sms.body, DEFAULT_LANGUAGE)
    return Response(
        content=twiml((say("dialogue_unavailable", language),)), media_type=TWIML_MEDIA_TYPE
    )


async def _keep_late(services: Services, sms: InboundSms) -> None:
    """Keep a message whose answer is late in the spool until that answer is texted."""
    try:
        await asyncio.to_thread(sms_spool(services.settings).keep, sms)
    except OSError as disk:
        # The answer still goes when it is ready; only a death before then would lose it.
        log.critical("sms.late_not_kept", message_sid=sms.message_sid, error=str(disk))


def sms_spool(settings: Settings) -> SmsSpool:
    """Where incoming SMS wait while the database is out."""
    return SmsSpool(settings.var_dir / "spool" / "sms")


async def answer_kept(services: Services) -> int:
    """Answer, by text through the outbox, the SMS kept while the database was out
    (one round; the caller repeats it). Returns how many were answered."""

    async def answer(sms: InboundSms) -> None:
        messages = await SmsInbound.from_services(services).answer(sms)
        await _text_answer(services, sms, messages)

    return await sms_spool(services.settings).replay(answer)


# Answers that outlived their webhook: kept referenced until they are sent.
_late: set[asyncio.Future[Any]] = set()


async def _text_answer(services: Services, sms: InboundSms, messages: tuple[str, ...]) -> None:
    """Text an answer the webhook could not carry, through the outbox (once per sid)."""
    body = "\n\n".join(part for part in messages if part.strip())
    if body:
        await services.outbox.send_sms(
            sms.from_number, body, kind="answer", dedupe_key=f"sms-late:{sms.message_sid}"
        )


def _send_late(services: Services, sms: InboundSms, task: asyncio.Future[Any]) -> None:
    """Text an answer that came after the webhook was answered, through the outbox. An
    answer that failed leaves the message kept on disk (``_keep_late``) for the
    kept-messages loop; after a database failure it is kept again, should that first
    write have failed too."""
    failure = None if task.cancelled() else task.exception()
    if task.cancelled() or failure is not None:
        if failure is not None and is_outage(failure):
            with contextlib.suppress(OSError):
                sms_spool(services.settings).keep(sms)
        log.error(
            "sms.late_answer_failed",
            message_sid=sms.message_sid,
            error="cancelled" if failure is None else failure.__class__.__name__,
        )
        return
    sending = asyncio.ensure_future(_text_late(services, sms, task.result()))
    _late.add(sending)
    sending.add_done_callback(_late.discard)


async def _text_late(services: Services, sms: InboundSms, messages: tuple[str, ...]) -> None:
    """Text a late answer; once it is in the outbox the kept copy is not needed."""
    try:
        await _text_answer(services, sms, messages)
    except Exception as exc:  # the kept copy stays: the loop answers it again
        log.error("sms.late_text_failed", message_sid=sms.message_sid, error=str(exc))
        return
    await asyncio.to_thread(sms_spool(services.settings).discard, sms.message_sid)
