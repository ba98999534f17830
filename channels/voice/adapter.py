"""Phone voice adapter: Twilio's voice webhook and the Media Streams WebSocket.

``POST /webhooks/twilio/voice`` (signed) opens a conversation for the call, starting
from the caller's profile where they consented to one, and answers with TwiML that
connects a bidirectional Media Stream to ``/webhooks/twilio/media``, passing the
conversation id and a token that binds it to this CallSid for a few minutes.

The WebSocket checks Twilio's handshake signature, waits for ``start`` (a stream that
never starts is closed), proves the token, claims the call's one stream in the call
store (a replayed ``start``, or one for a call that is over, is refused: review L1),
then feeds typed events to a ``CallSession``. Malformed frames and unknown events are
dropped and logged; whatever way the stream ends, the session frees its recogniser and
tasks and the call is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, HTTPException, Response, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from assistant import continuation
from assistant.api.deps import ServicesDep, WsServicesDep
from assistant.api.schemas import refusals
from assistant.api.twilio_auth import TwilioForm, websocket_signature_ok
from assistant.calls import StreamClaim
from assistant.handoff.phone_numbers import can_text, is_phone_number
from assistant.handoff.records import QueueEntry
from assistant.handoff.service import HandoffRefused
from assistant.language import Language, as_language
from assistant.messages import IncomingMessage
from assistant.privacy import phone_tail
from assistant.profiles import CitizenProfile, ProfileError
from assistant.profiles.records import check_phone
from assistant.rasa_client import RasaUnavailable
from assistant.services import Services
from channels.voice import call_texts, twiml
from channels.voice.transfer import TRANSFER_PATH, transfer_summary
from channels.voice.wire import MalformedFrame, UnknownEvent, encode, parse_frame
from voice.call_dialogue import DialogueReply, TextRefused
from voice.events import CallStarted, CallStopped, OutboundEvent
from voice.prompts import prompt
from voice.session import CallOptions, CallSession

CHANNEL = "voice"
START_TIMEOUT_SECONDS = 10.0

log = structlog.get_logger(__name__)
router = APIRouter(
    prefix="/webhooks/twilio", tags=["voice"], responses=refusals(400, 403, 413, 415, 422)
)
# Slots the screenings ask a number for (nlu/domain/screening.yml): typed on the keypad.
NUMBER_SLOTS = frozenset({"age", "baby_months"})


# How long a stream token is good for. Twilio fetches the TwiML that carries it and
# executes <Connect><Stream> at once (nothing is said before it), so ``start`` normally
# follows within a second or two; two minutes cover a slow connection, Twilio's own
# retries of the connection and clocks a little apart, and still leave a token taken
# from Twilio's logs useless soon after. Being single-use (the call store) is the main
# defence; the expiry covers a token whose stream never started.
STREAM_TOKEN_SECONDS = 120
# The token's own key, derived from the gateway's signing key (SOTONG_SECRET_KEY): a
# stream token never doubles as another of our signatures, and Twilio's auth token,
# which Twilio and whoever holds the account also know, signs nothing of ours.
_STREAM_PURPOSE = b"media-stream"
_MAX_EXPIRY_DIGITS = 12


def _stream_mac(signing_key: bytes, call_sid: str, conversation_id: str, expires: int) -> str:
    key = hmac.new(signing_key, _STREAM_PURPOSE, hashlib.sha256).digest()
    message = f"{call_sid}:{conversation_id}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def stream_token(signing_key: bytes, call_sid: str, conversation_id: str, *, now: float) -> str:
    """Proof, passed as a Stream parameter, that we answered this call for this
    conversation: ``<expiry unix time>.<hex HMAC>``, good for STREAM_TOKEN_SECONDS
    after ``now`` (a Unix time)."""
    expires = int(now) + STREAM_TOKEN_SECONDS
    return f"{expires}.{_stream_mac(signing_key, call_sid, conversation_id, expires)}"


def stream_token_problem(
    signing_key: bytes, token: str, call_sid: str, conversation_id: str, *, now: float
) -> str | None:
    """None when ``token`` is ours for this call and conversation and still good at
    ``now``; else why not: "forged" (not ours, or for another call) or "expired"."""
    expires, dot, mac = token.partition(".")
    if not dot or not conversation_id:
        return "forged"
    if not (expires.isascii() and expires.isdigit() and len(expires) <= _MAX_EXPIRY_DIGITS):
        return "forged"
    expected = _stream_mac(signing_key, call_sid, conversation_id, int(expires))
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return "forged"
    if now > int(expires):
        return "expired"
    return None


async def _profile(services: Services, phone: str) -> CitizenProfile | None:
    try:
        return await services.profiles.get(phone)
    except ProfileError:  # an anonymous or non-E.164 caller has no profile
        return None


@router.post("/voice", response_class=Response)
async def incoming_call(form: TwilioForm, services: ServicesDep) -> Response:
    """Twilio's voice webhook: open the conversation, connect the media stream."""
    call_sid = str(form.get("CallSid") or "")
    caller = str(form.get("From") or "")
    called = str(form.get("To") or "")
    # A signed request proves a public URL is set (the signature is checked against it).
    public_url = services.settings.public_url or ""
    if not call_sid.startswith("CA"):
        log.warning("voice.bad_call_request", has_sid=bool(call_sid))
        raise HTTPException(400, "CallSid missing")
    if services.voice.problem is not None:
        # No speech engine: say so with Twilio's own <Say> rather than a silent line.
        log.error("voice.line_unavailable", reason=services.voice.problem)
        return _twiml(twiml.say_and_hang_up(prompt("line_unavailable", "ko"), "ko"))
    if not await services.call_admission.admit(call_sid):
        return await _line_busy(services, call_sid, caller)
    try:
        known = await services.calls.get(call_sid)
        if known is not None and known.conversation_id:
            # Twilio retried the webhook (our answer was slow or lost): same conversation.
            conversation_id = known.conversation_id
        else:
            profile = await _profile(services, caller)
            language: Language = as_language(profile.language) if profile else "ko"
            accessibility = dict(profile.accessibility) if profile else None
            conversation = await services.core.start(
                CHANNEL, caller, language=language, accessibility=accessibility
            )
            conversation_id = conversation.id
            await services.calls.call_started(
                call_sid=call_sid,
                caller=caller,
                called=called,
                conversation_id=conversation_id,
                language=language,
            )
    except Exception as exc:  # the store is down: a plain answer, not Twilio's error tone
        log.error("voice.call_not_started", call_sid=call_sid, error=f"{exc.__class__.__name__}")
        services.metrics.calls.labels("not_started").inc()
        return _twiml(twiml.say_and_hang_up(prompt("line_unavailable", "ko"), "ko"))
    services.metrics.calls.labels("started").inc()
    log.info(
        "voice.call", call_sid=call_sid, caller=phone_tail(caller), conversation_id=conversation_id
    )
    body = twiml.connect_stream(
        twiml.media_stream_url(public_url),
        {
            "conversation_id": conversation_id,
            "token": stream_token(services.signing_key, call_sid, conversation_id, now=time.time()),
        },
    )
    return _twiml(body)


async def _line_busy(services: Services, call_sid: str, caller: str) -> Response:
    """The line is full (review M10): a short spoken "busy" in the caller's language,
    and a text that says they can ask by SMS — never silence, never a queue of calls
    that would slow every other caller down."""
    profile = await _profile(services, caller)
    language: Language = as_language(profile.language) if profile else "ko"
    services.metrics.calls.labels("busy").inc()
    log.warning(
        "voice.line_busy",
        call_sid=call_sid,
        caller=phone_tail(caller),
        active=await services.call_admission.active(),
    )
    spoken = "line_busy"  # it promises the text
    try:
        check_phone(caller)  # an anonymous or withheld number cannot be texted
        if await call_texts.may_text(services.limits, caller, "line_busy"):
            await services.outbox.send_sms(
                caller,
                prompt("sms_line_busy", language),
                kind="line_busy",
                dedupe_key=f"line-busy:{call_sid}",  # Twilio's webhook retry texts once
            )
        else:
            spoken = "line_busy_no_text"
    except ProfileError:
        spoken = "line_busy_no_text"
    except Exception as exc:  # the spoken answer goes out whatever the outbox does
        log.warning("voice.line_busy_text_failed", error=exc.__class__.__name__)
    return _twiml(twiml.say_and_hang_up(prompt(spoken, language), language))


def _twiml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


class VoiceCallActions:
    """What one call's dialogue can make happen (``voice.call_dialogue.CallActions``)."""

    def __init__(
        self,
        services: Services,
        call: CallStarted,
        conversation_id: str,
        end_call: Callable[[], Awaitable[None]],
    ) -> None:
        self._services = services
        self._call = call
        self._conversation_id = conversation_id
        self._end_call = end_call
        self.caller = ""
        self.language: Language = "ko"
        # Texts this call was allowed to send: asking again (key 6 twice) sends nothing
        # new (the outbox drops the duplicate), so it must not count against the number.
        self._allowed_texts: set[str] = set()

    async def load(self) -> None:
        """The caller's number and language, from the conversation."""
        conversation = await self._services.store.get_conversation(self._conversation_id)
        if conversation is not None:
            self.caller = conversation.address
            self.language = as_language(conversation.language)

    async def ask(
        self, text: str, payload: str | None, sign_language: bool = False
    ) -> DialogueReply:
        """One turn of the conversation core."""
        metadata = {"sign_language": True} if sign_language else {}
        result = await self._services.core.handle(
            IncomingMessage(
                conversation_id=self._conversation_id,
                text=text,
                channel=CHANNEL,
                payload=payload,
                metadata=metadata,
                # Chosen by the call dialogue (a menu item, the key for a person), never
                # from the caller's words (review L6).
                payload_from_gateway=True,
            )
        )
        choices = next((r.buttons for r in reversed(result.replies) if r.buttons), ())
        return DialogueReply(
            texts=tuple(r.text for r in result.replies),
            choices=tuple(b.title for b in choices),
            handoff=result.handoff,
            degraded=result.degraded,
        )

    async def expects_number(self) -> bool:
        """True when a form now asks for a number (a screening's age or baby's months),
        so the caller may type it; False otherwise, or when Rasa cannot say (speech
        works either way)."""
        try:
            slot = await self._services.rasa.requested_slot(self._conversation_id)
        except RasaUnavailable:
            return False
        return slot in NUMBER_SLOTS

    async def set_language(self, language: Language) -> None:
        """The conversation's language from now on."""
        self.language = language
        await self._services.core.set_language(self._conversation_id, language)

    async def text_link(self, sign_language: bool) -> bool:
        """Text the caller a link that continues this call in the web chat (a new web
        conversation, linked to this one; the link works once).

        TextRefused when the caller's number may not be texted from a call: not a
        Korean mobile number, or past its texts for the day (review L10)."""
        if not self.caller.startswith("+"):
            return False
        services = self._services
        key = "sms_sign_language" if sign_language else "sms_continue"
        dedupe_key = f"voice-link:{self._call.call_sid}:{key}"
        if dedupe_key not in self._allowed_texts:
            try:
                allowed = await call_texts.may_text(services.limits, self.caller, "link")
            except Exception as exc:  # the limits' store is down: no text, the call goes on
                log.error("voice.link_failed", error=f"{exc.__class__.__name__}: {exc}")
                return False
            if not allowed:
                raise TextRefused
            self._allowed_texts.add(dedupe_key)
        link = await continuation.offer(
            services.store, services.settings, services.signing_key, self._conversation_id
        )
        if link is None:
            return False
        try:
            await self._services.outbox.send_sms(
                self.caller,
                prompt(key, self.language, link=link),
                kind="handoff" if sign_language else "link",
                conversation_id=self._conversation_id,
                dedupe_key=dedupe_key,
            )
        except Exception as exc:  # the caller is told plainly; the call goes on
            log.error("voice.link_failed", error=f"{exc.__class__.__name__}: {exc}")
            return False
        return True

    async def caller_number(self) -> str | None:
        """The caller ID, if it is a number a person could call back."""
        return self.caller if is_phone_number(self.caller) else None

    async def request_callback(self, number: str) -> bool:
        """Book a person's call back on ``number`` (keyed or confirmed by the caller):
        the call's open request becomes a call-back, else a new one; False if not taken."""
        conversation = await self._services.store.get_conversation(self._conversation_id)
        if conversation is None:
            return False
        try:
            await self._services.handoff.book_callback(
                conversation, number, self.language, origin=conversation.address
            )
        except HandoffRefused as refused:
            log.warning("voice.callback_refused", reason=refused.reason)
            return False
        return True

    async def transfer(self) -> bool:
        """Move the call to the community centre (a call update with ``<Dial>``), warm:
        the officer's summary is kept and texted first (``channels.voice.transfer``), and
        the ``<Dial>``'s action ends the call's queue request."""
        services = self._services
        number = services.settings.voice_transfer_number
        if not number:
            return False
        entry = await services.handoff.active(self._conversation_id)
        action = None
        if entry is not None and services.settings.public_url:
            action = f"{services.settings.public_url.rstrip('/')}{TRANSFER_PATH}/{entry.id}"
            await self._text_summary(number, entry)
        body = twiml.dial(number, caller_id=services.settings.twilio_phone_number, action=action)
        return await services.call_control.redirect(self._call.call_sid, body)

    async def _text_summary(self, number: str, entry: QueueEntry) -> None:
        """Text the officer the call's summary, when the transfer number takes texts."""
        if not can_text(number):
            return  # a landline: the summary is kept with the request (its notes)
        services = self._services
        summary = await transfer_summary(services.store, services.catalog, entry, self.caller)
        try:
            await services.outbox.send_sms(
                number,
                summary,
                kind="transfer",
                conversation_id=self._conversation_id,
                dedupe_key=f"transfer:{entry.id}",
            )
        except Exception as exc:  # the transfer goes on: the officer can still help
            log.error("voice.transfer_summary_failed", error=exc.__class__.__name__)

    async def remember_slow(self) -> None:
        """Keep "slower" in the caller's profile, if they consented to one."""
        if not self.caller.startswith("+"):
            return
        with contextlib.suppress(ProfileError):
            await self._services.profiles.update(self.caller, accessibility={"slow_speech": True})

    async def hang_up(self) -> None:
        """End the call: closing the stream ends ``<Connect>``, and the call with it."""
        await self._end_call()


@router.websocket("/media")
async def media_stream(websocket: WebSocket, services: WsServicesDep) -> None:
    """Twilio Media Streams, bidirectional: one call."""
    if not websocket_signature_ok(services.settings, websocket.headers, twiml.MEDIA_PATH):
        services.metrics.rejected_webhooks.labels("twilio", "signature").inc()
        log.warning("voice.stream_bad_signature")
        await websocket.close(code=1008)
        return
    await websocket.accept()
    stream = MediaStream(websocket, services)
    try:
        await stream.run()
    except Exception:  # logged with the call; the finally frees what the call held
        stream.failed()
        log.exception("voice.stream_failed")
    finally:
        await stream.finish()


class MediaStream:
    """One Media Streams connection, from handshake to the end of the call."""

    def __init__(self, websocket: WebSocket, services: Services) -> None:
        self._ws = websocket
        self._services = services
        self._session: CallSession | None = None
        self._actions: VoiceCallActions | None = None
        self._call: CallStarted | None = None
        self._outcome = "no_start"
        self._malformed = 0
        self._started_at = time.monotonic()

    def failed(self) -> None:
        """The stream ended on an error of ours."""
        self._outcome = "error"

    async def _send(self, event: OutboundEvent) -> None:
        if self._call is None or self._ws.client_state is not WebSocketState.CONNECTED:
            return
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self._ws.send_text(encode(event, self._call.stream_sid))

    async def run(self) -> None:
        """Receive frames until the call ends."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            limit = None if self._session is not None else deadline - time.monotonic()
            if limit is not None and limit <= 0:
                log.warning("voice.stream_never_started")
                return
            raw = await self._receive(limit)
            if raw is None:
                return
            try:
                event = parse_frame(raw)
            except MalformedFrame as exc:
                self._malformed += 1
                self._services.metrics.voice_frames_dropped.labels("malformed").inc()
                log.warning("voice.frame_malformed", error=str(exc), count=self._malformed)
                continue
            if isinstance(event, UnknownEvent):
                self._services.metrics.voice_frames_dropped.labels("unknown").inc()
                log.info("voice.frame_unknown", name=event.name)
                continue
            if isinstance(event, CallStarted):
                if self._session is not None:
                    log.warning("voice.second_start_ignored")
                    continue
                if not await self._start(event):
                    return
                continue
            if self._session is None:
                continue  # audio before start: nothing to attach it to
            if isinstance(event, CallStopped):
                self._outcome = "caller_hung_up"
                return
            await self._session.handle(event)

    async def _receive(self, limit: float | None) -> str | None:
        """The next frame's text; None once the socket is closed or ``limit`` s passed."""
        try:
            message = await asyncio.wait_for(self._ws.receive(), limit)
        except TimeoutError:
            return None
        except (RuntimeError, WebSocketDisconnect):  # closed by us (hang-up) or the peer
            return None
        if message["type"] == "websocket.disconnect":
            if self._outcome in ("no_start", "in_call"):
                self._outcome = "disconnected"
            return None
        if message.get("text") is not None:
            return str(message["text"])
        if message.get("bytes") is not None:
            return bytes(message["bytes"]).decode("utf-8", "replace")
        return ""

    async def _end_call(self) -> None:
        self._outcome = "ended_by_line"
        if self._ws.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self._ws.close()

    async def _refuse(self, reason: str, event: CallStarted) -> bool:
        """Refuse this stream: counted, logged, closed with 1008 (as a bad handshake)."""
        self._services.metrics.rejected_webhooks.labels("twilio", f"stream_{reason}").inc()
        log.warning("voice.stream_refused", call_sid=event.call_sid, reason=reason)
        self._outcome = "refused"
        if self._ws.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self._ws.close(code=1008, reason="stream refused")
        return False

    async def _start(self, event: CallStarted) -> bool:
        conversation_id = event.parameters.get("conversation_id", "")
        token = event.parameters.get("token", "")
        problem = stream_token_problem(
            self._services.signing_key, token, event.call_sid, conversation_id, now=time.time()
        )
        if problem is not None:
            return await self._refuse(f"token_{problem}", event)
        # The token is ours: now the call's one stream, while the call is live (review L1).
        claim = await self._services.calls.claim_stream(event.call_sid)
        if claim is not StreamClaim.CLAIMED:
            return await self._refuse(f"call_{claim.value}", event)
        self._call = event
        self._outcome = "in_call"
        await self._services.call_admission.started(event.call_sid)
        actions = VoiceCallActions(self._services, event, conversation_id, self._end_call)
        await actions.load()
        self._actions = actions
        settings = self._services.settings
        profile = await _profile(self._services, actions.caller)
        slow = bool(profile and profile.accessibility.get("slow_speech"))
        self._session = CallSession(
            engines=self._services.voice,
            actions=actions,
            send=self._send,
            menu=self._services.phone_menu,
            options=CallOptions(
                language=actions.language,
                slow=slow,
                end_of_turn_ms=settings.voice_end_of_turn_ms,
                commit_ms=settings.voice_commit_ms,
                quick_pause_ms=settings.voice_quick_pause_ms,
                slow_factor=settings.voice_slow_factor,
                reprompt_seconds=settings.voice_reprompt_seconds,
                confirm_below=settings.voice_confirm_below,
                ack_after_ms=settings.voice_ack_after_ms,
            ),
            on_reply_latency=self._services.metrics.voice_reply_seconds.observe,
            on_second_pass=self._second_pass_done,
        )
        self._services.metrics.voice_active_calls.inc()
        await self._session.start()
        log.info("voice.stream_started", call_sid=event.call_sid, conversation_id=conversation_id)
        return True

    def _second_pass_done(self, outcome: str, seconds: float) -> None:
        if outcome not in ("off", "instant"):
            self._services.metrics.voice_second_pass_seconds.labels(outcome).observe(seconds)

    async def finish(self) -> None:
        """Free the call's resources and log how it ended, whatever happened."""
        session, self._session = self._session, None
        turns = 0
        handoff = None
        if session is not None:
            turns = session.dialogue.turns
            handoff = session.dialogue.handoff
            with contextlib.suppress(Exception):
                await session.close()
            self._services.metrics.voice_active_calls.dec()
        if self._ws.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self._ws.close()
        if self._call is not None:
            await self._services.call_admission.ended(self._call.call_sid)
        seconds = round(time.monotonic() - self._started_at, 1)
        self._services.metrics.calls.labels(self._outcome).inc()
        if self._call is not None:
            with contextlib.suppress(Exception):
                await self._services.calls.stream_ended(
                    self._call.call_sid, outcome=self._outcome, turns=turns, handoff=bool(handoff)
                )
        log.info(
            "voice.stream_ended",
            call_sid=self._call.call_sid if self._call else None,
            outcome=self._outcome,
            turns=turns,
            handoff=handoff,
            seconds=seconds,
            malformed_frames=self._malformed,
        )
