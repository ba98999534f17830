"""The conversation core: one place every channel adapter hands a normalised message.

It owns language (explicit switches, then the script of each message), session ids,
the transcript, and what happens when the dialogue is unreachable: the citizen gets a
plain-language answer, the message is kept as pending and answered when Rasa is back.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import structlog

from assistant.foreign import (
    FOREIGN_LANGUAGE_REASON,
    SWITCH_LANGUAGE_PAYLOAD,
    chosen_language,
    foreign_choices,
    foreign_text,
    person_choice,
)
from assistant.foreign_detect import detect_foreign
from assistant.handoff.appointments import slot_time
from assistant.handoff.base import QUEUED
from assistant.handoff.callback_booking import (
    CANCEL,
    COMMAND_PREFIX,
    COMMANDS,
    HELPFUL,
    NOT_HELPFUL,
    RESCHEDULE,
)
from assistant.handoff.records import CallbackState
from assistant.handoff.service import HandoffRefused, HandoffService, handoff_command
from assistant.language import DEFAULT_LANGUAGE, Language, as_language, choose_language
from assistant.locks import LocalLocks, Locks
from assistant.messages import (
    HANDOFF_KEY,
    WEB_LINK_KEY,
    IncomingMessage,
    OutgoingMessage,
    OutputChannel,
    TurnResult,
)
from assistant.metrics import Metrics
from assistant.privacy import mask_rrn_after
from assistant.rasa_client import TURN_ID_KEY, RasaClient, RasaUnavailable
from assistant.store import Button, Conversation, ConversationStore, Reply, Turn, TurnStatus
from assistant.text_me import TextMe, asked_for_number, mask_number
from assistant.texts import say

log = structlog.get_logger(__name__)

# The intent the gateway triggers when a person hands a citizen back (nlu/data/rules.yml).
RESUME_INTENT = "resume_assistant"
# Rasa reads a message that starts with this (``INTENT_MESSAGE_PREFIX``) as
# ``/intent{"entity": "value"}``, skipping NLU: only payloads the gateway offered may.
INTENT_PREFIX = "/"
# The payloads the gateway answers itself (quick replies about a request for a person).
GATEWAY_COMMANDS = frozenset(COMMAND_PREFIX + c for c in COMMANDS)


@dataclass(frozen=True)
class _Answered:
    """What the dialogue did with one turn (stored replies, and what it asked for)."""

    replies: list[OutgoingMessage]
    handoff: str | None  # why a person was asked for, if one was
    web_link: bool  # a link to the answer on the web chat was asked for


class ConversationNotFound(LookupError):
    """No conversation has this id."""


class ConversationCore:
    """Turns incoming messages into replies, keeping the transcript."""

    def __init__(
        self,
        store: ConversationStore,
        rasa: RasaClient,
        metrics: Metrics,
        outputs: Mapping[str, OutputChannel] | None = None,
        locks: Locks | None = None,
    ) -> None:
        self._store = store
        self._rasa = rasa
        self._metrics = metrics
        self._outputs: dict[str, OutputChannel] = dict(outputs or {})
        # One turn of a conversation at a time (across gateways with RedisLocks); the
        # channel adapters use them too (one number's messages at a time).
        self.locks = locks or LocalLocks()
        self._handoff: HandoffService | None = None
        self._text_me: TextMe | None = None

    def attach_text_me(self, text_me: TextMe) -> None:
        """What texts a checklist or a result to the citizen's mobile (web, calls)."""
        self._text_me = text_me

    def attach_handoff(self, handoff: HandoffService) -> None:
        """The handoff service: requests for a person, and who holds a conversation."""
        self._handoff = handoff
        handoff.attach(self)

    def register_output(self, channel: str, output: OutputChannel) -> None:
        """Where to deliver replies that come outside a request on ``channel``."""
        self._outputs[channel] = output

    def _lock(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        return self.locks.hold(f"conversation:{conversation_id}")

    async def start(
        self,
        channel: str,
        address: str,
        language: Language = DEFAULT_LANGUAGE,
        accessibility: dict[str, Any] | None = None,
    ) -> Conversation:
        """Open a conversation; its id is the session id on every side (Rasa too)."""
        conversation = await self._store.start_conversation(
            channel=channel, address=address, language=language, accessibility=accessibility
        )
        log.info("conversation.started", conversation_id=conversation.id, channel=channel)
        return conversation

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation, or None."""
        return await self._store.get_conversation(conversation_id)

    async def set_language(self, conversation_id: str, language: Language) -> None:
        """The citizen chose a language outside a message (a keypad menu, a setting)."""
        async with self._lock(conversation_id):
            await self._store.set_language(conversation_id, language)
        log.info("conversation.language", conversation_id=conversation_id, language=language)

    async def set_accessibility(self, conversation_id: str, accessibility: dict[str, Any]) -> None:
        """The citizen changed a setting that shapes answers (easy read) or needs."""
        async with self._lock(conversation_id):
            await self._store.set_accessibility(conversation_id, accessibility)
        log.info("conversation.accessibility", conversation_id=conversation_id)

    async def handle(self, message: IncomingMessage) -> TurnResult:
        """Answer one citizen message."""
        started = time.perf_counter()
        lock = self._lock(message.conversation_id)
        async with lock:
            conversation = await self._store.get_conversation(message.conversation_id)
            if conversation is None:
                raise ConversationNotFound(message.conversation_id)
            result = await self._handle_locked(conversation, message)
        self._metrics.turn_seconds.labels(message.channel).observe(time.perf_counter() - started)
        return result

    async def _handle_locked(
        self, conversation: Conversation, message: IncomingMessage
    ) -> TurnResult:
        # A number sent in two messages is masked too: its back half, by the one before.
        previous = await self._store.last_inbound_text(conversation.id)
        text = mask_rrn_after(previous, message.text.strip())
        if self._text_me is not None and asked_for_number(conversation):
            text = mask_number(text)  # used once for a text, kept nowhere (text_me.py)
        payload = _offered_payload(message, conversation) or _choice_payload(
            text, conversation.last_buttons
        )
        language: Language = as_language(conversation.language)
        chosen = chosen_language(payload)
        if chosen is not None:
            # Korean or English, picked after a foreign-language answer: the dialogue
            # confirms the switch as if the citizen had written "한국어로".
            language, payload = chosen, SWITCH_LANGUAGE_PAYLOAD
        elif payload is None:
            language = choose_language(text, language)

        turn, created = await self._store.record_inbound(
            conversation.id,
            text=text,
            language=language,
            payload=payload,
            client_message_id=message.client_message_id,
        )
        if not created:
            return await self._repeat_result(conversation, turn, message)
        self._metrics.messages.labels(message.channel, "inbound").inc()
        if language != conversation.language:
            await self._store.set_language(conversation.id, language)
            log.info("conversation.language", conversation_id=conversation.id, language=language)
        return await self._answer(conversation, turn, language, message)

    async def _answer(
        self,
        conversation: Conversation,
        turn: Turn,
        language: Language,
        message: IncomingMessage,
        *,
        resend: bool = False,
    ) -> TurnResult:
        """Answer a stored inbound turn: the person holding the conversation takes it,
        else the dialogue; kept for later, with a plain apology, when it cannot answer.

        ``resend``: the turn may have reached the dialogue before (see ``_ask_dialogue``).
        """
        if self._handoff is not None:
            handled = await self._handoff_turn(
                conversation, turn, turn.text, turn.payload, language
            )
            if handled is not None:
                return handled

        foreign = await self._foreign_turn(conversation, turn, language, message.origin)
        if foreign is not None:
            return foreign
        if self._text_me is not None:
            texted = await self._text_me.turn(conversation, message.text, turn.payload, language)
            if texted is not None:
                return await self._answered_here(conversation, turn, language, texted)
        # Older kept messages go first, so the dialogue sees them in order.
        if not await self._replay_pending_locked(conversation, exclude=turn.id):
            return await self._keep_for_later(conversation, turn, language, message.channel)
        try:
            answered = await self._ask_dialogue(
                conversation,
                turn,
                language,
                message.metadata,
                origin=message.origin,
                resend=resend,
            )
        except RasaUnavailable as exc:
            log.warning("dialogue.unavailable", conversation_id=conversation.id, error=str(exc))
            self._metrics.dialogue_failures.labels("unreachable").inc()
            return await self._keep_for_later(conversation, turn, language, message.channel)
        return TurnResult(
            conversation_id=conversation.id,
            language=language,
            replies=tuple(answered.replies),
            inbound_turn_id=turn.id,
            handoff=answered.handoff,
            web_link=answered.web_link,
        )

    async def _foreign_turn(
        self, conversation: Conversation, turn: Turn, language: Language, origin: str | None
    ) -> TurnResult | None:
        """A turn in a foreign resident's language (assistant/foreign.py), or their pick
        of a person who speaks it; None for anything else.

        Neither goes to the dialogue, and neither changes the conversation's language:
        Korean and English are the languages it can answer in. The answer is in the
        citizen's language, with three choices: a person who speaks it (the queue routes
        by language), Korean, English.
        """
        person_language = person_choice(turn.payload)
        if person_language is not None:
            reason, status = await self._record_handoff(
                conversation,
                language,
                {"reason": FOREIGN_LANGUAGE_REASON},
                origin,
                route_language=person_language,
            )
            # Refused (the queue is full, or too many requests): only why, and 107.
            replies = [] if reason is None else [Reply(foreign_text(person_language, "waiting"))]
            if status is not None:
                replies.append(Reply(text=status.text, buttons=status.buttons))
            handoff = reason
        else:
            foreign = detect_foreign(turn.text) if turn.payload is None else None
            if foreign is None:
                return None
            log.info(
                "conversation.foreign_language", conversation_id=conversation.id, language=foreign
            )
            choices = foreign_choices(foreign)
            replies = [Reply(text=foreign_text(foreign, "help"), buttons=choices)]
            handoff = None
        return await self._answered_here(conversation, turn, language, replies, handoff)

    async def _answered_here(
        self,
        conversation: Conversation,
        turn: Turn,
        language: Language,
        replies: list[Reply],
        handoff: str | None = None,
    ) -> TurnResult:
        """Store the gateway's own answer to ``turn`` (not the dialogue's) and return it;
        the choices left are its last reply's."""
        stored = await self._store_replies(
            conversation,
            turn,
            language,
            replies,
            status=TurnStatus.ANSWERED,
            last_buttons=next((r.buttons for r in reversed(replies) if r.buttons), ()),
        )
        self._metrics.messages.labels(conversation.channel, "outbound").inc(len(stored))
        return TurnResult(
            conversation_id=conversation.id,
            language=language,
            replies=tuple(stored),
            inbound_turn_id=turn.id,
            handoff=handoff,
        )

    async def _handoff_turn(
        self,
        conversation: Conversation,
        turn: Turn,
        text: str,
        payload: str | None,
        language: Language,
    ) -> TurnResult | None:
        """A turn the handoff takes instead of the bot, or None.

        While a person holds the conversation the bot is silent: the message goes to
        that person, unless it is a leave word or the leave button, which ends the
        session. A cancel / call-back / text / video choice about a queued request,
        and the number asked for a call-back, are the gateway's to answer (exact, and
        no retraining when it changes).
        """
        assert self._handoff is not None
        entry = await self._handoff.active(conversation.id)
        held = entry is not None and entry.state not in QUEUED
        command = handoff_command(text, payload, held=held)
        if entry is None and command is not None:
            # A command with no request here: perhaps about a web citizen's appointment
            # whose reminders this number gets (looked up only then, not on every turn).
            entry = await self._handoff.booked_for_number(conversation)
        if command == RESCHEDULE and payload is None and not (entry and entry.video_booked):
            command = None  # "change" is only a reply word while a video call is booked
        reply: OutgoingMessage | None = None
        if command is None and entry is not None and entry.callback_state is CallbackState.ASKING:
            # A number to call back on was asked for (before the call-back, or after a
            # wrong number while a person holds the request): this message may be it.
            reply = await self._handoff.number_reply(entry, text)
        if reply is None and entry is not None and held and command != CANCEL:
            await self._store.set_turn_status(turn.id, TurnStatus.RELAYED)
            await self._handoff.relay_from_citizen(entry, turn)
            return TurnResult(
                conversation_id=conversation.id,
                language=language,
                replies=(),
                inbound_turn_id=turn.id,
                relayed=True,
            )
        ours = payload is not None and payload.startswith(COMMAND_PREFIX)
        if reply is None:
            answers_feedback = command in (HELPFUL, NOT_HELPFUL)
            if command is None or (entry is None and not ours and not answers_feedback):
                return None  # a question for the assistant
            reply = await self._handoff.command(conversation, command, language)
        stored = await self._store_replies(
            conversation,
            turn,
            language,
            [Reply(text=reply.text, buttons=reply.buttons)],
            status=TurnStatus.ANSWERED,
            last_buttons=reply.buttons,
        )
        self._metrics.messages.labels(conversation.channel, "outbound").inc()
        return TurnResult(
            conversation_id=conversation.id,
            language=language,
            replies=tuple(stored),
            inbound_turn_id=turn.id,
        )

    async def _ask_dialogue(
        self,
        conversation: Conversation,
        turn: Turn,
        language: Language,
        extra_metadata: Mapping[str, Any] | None = None,
        *,
        origin: str | None = None,
        resend: bool = False,
    ) -> _Answered:
        """Send one stored inbound turn to Rasa; store and return the replies, with the
        reason when the dialogue asked for a person, and whether it asked for a link.

        Every message carries its turn's id in its metadata. ``resend``: an earlier
        attempt may have reached the dialogue (a kept turn: the request timed out, or
        its answer was lost; a turn whose first delivery died mid-turn). Rasa's
        tracker is asked first, and a turn it already has is not sent again: what the
        dialogue said then is the answer (review L7: never processed twice).
        """
        metadata = {
            **(extra_metadata or {}),
            "channel": conversation.channel,
            "language": language,
            "accessibility": conversation.accessibility,
            "conversation_id": conversation.id,
            TURN_ID_KEY: turn.id,
        }
        utterances = None
        if resend:
            utterances = await self._rasa.answered_turn(conversation.id, turn.id)
            if utterances is not None:
                log.warning(
                    "dialogue.turn_already_processed",
                    conversation_id=conversation.id,
                    turn_id=turn.id,
                    replies=len(utterances),
                )
        if utterances is None:
            utterances = await self._rasa.send_message(
                conversation.id, turn.payload or free_text(turn.text), metadata
            )
        replies: list[OutgoingMessage] = []
        unsaved: list[Reply] = []  # said, not stored yet: stored together below
        handoff: str | None = None
        queue_message: OutgoingMessage | None = None
        web_link = False
        for utterance in utterances:
            if utterance.custom and WEB_LINK_KEY in utterance.custom:
                web_link = True
            if utterance.custom and HANDOFF_KEY in utterance.custom:
                # What was said before the request is stored before it, as before.
                replies += await self._store_replies(conversation, turn, language, unsaved)
                unsaved = []
                handoff, queue_message = await self._record_handoff(
                    conversation, language, utterance.custom[HANDOFF_KEY], origin
                )
            if utterance.text:
                unsaved.append(Reply(text=utterance.text, buttons=utterance.buttons))
        if queue_message is not None:
            # Said last: the place in the queue and what the citizen can do meanwhile.
            unsaved.append(Reply(text=queue_message.text, buttons=queue_message.buttons))
        status = TurnStatus.ANSWERED
        if not replies and not unsaved:
            log.error("dialogue.empty_reply", conversation_id=conversation.id, turn_id=turn.id)
            self._metrics.dialogue_failures.labels("empty").inc()
            unsaved.append(Reply(text=say("no_answer", language)))
            status = TurnStatus.UNANSWERED
        said = [*(r.buttons for r in replies), *(r.buttons for r in unsaved)]
        last_buttons = next((b for b in reversed(said) if b), ())
        # The rest of the answer, the turn's status and the buttons: one transaction.
        replies += await self._store_replies(
            conversation, turn, language, unsaved, status=status, last_buttons=last_buttons
        )
        self._metrics.messages.labels(conversation.channel, "outbound").inc(len(replies))
        return _Answered(replies, handoff, web_link)

    async def _store_replies(
        self,
        conversation: Conversation,
        turn: Turn,
        language: Language,
        replies: list[Reply],
        *,
        status: TurnStatus | None = None,
        last_buttons: tuple[Button, ...] | None = None,
    ) -> list[OutgoingMessage]:
        if not replies and status is None and last_buttons is None:
            return []
        stored = await self._store.record_answer(
            conversation.id,
            turn.id,
            replies,
            language,
            status=status,
            last_buttons=last_buttons,
        )
        return [OutgoingMessage(text=t.text, buttons=t.buttons, turn_id=t.id) for t in stored]

    async def _record_handoff(
        self,
        conversation: Conversation,
        language: Language,
        details: Any,
        origin: str | None,
        *,
        route_language: str | None = None,
    ) -> tuple[str | None, OutgoingMessage | None]:
        """Queue the request the dialogue made; the reason and the status to tell (or,
        past a limit, no reason and why nothing was queued).

        ``route_language``: the language the person must speak, when it is not the
        conversation's (a foreign resident's); the status is still told in ``language``.
        """
        details = details if isinstance(details, dict) else {}
        reason = str(details.get("reason") or "requested")
        service = details.get("service")
        if self._handoff is not None:
            try:
                status = await self._handoff.request(
                    conversation,
                    reason=reason,
                    service=service if isinstance(service, str) else None,
                    language=route_language or language,
                    origin=origin,
                )
            except HandoffRefused as refused:
                return None, self._handoff.refusal_message(refused, language)
            return reason, self._handoff.status_message(status, language)
        request = await self._store.request_handoff(
            conversation.id,
            reason=reason,
            service=details.get("service"),
            channel=conversation.channel,
            language=route_language or language,
            accessibility=conversation.accessibility,
        )
        self._metrics.handoff_requests.labels(conversation.channel).inc()
        log.info("handoff.requested", conversation_id=conversation.id, request_id=request.id)
        return reason, None

    # ---- messages outside a citizen's turn -------------------------------------------
    async def notify(
        self,
        conversation_id: str,
        text: str,
        author: str | None = None,
        buttons: tuple[Button, ...] = (),
    ) -> Turn:
        """Store a message to the citizen (from a person, or about their request) and
        deliver it over their channel."""
        conversation = await self._store.get_conversation(conversation_id)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        turn = await self._store.record_outbound(
            conversation_id,
            text=text,
            language=conversation.language,
            buttons=buttons,
            author=author,
        )
        if buttons:  # a reply by number on SMS picks one of these (1, 2…)
            await self._store.set_last_buttons(conversation_id, buttons)
        self._metrics.messages.labels(conversation.channel, "outbound").inc()
        await self._deliver(
            conversation,
            OutgoingMessage(text=turn.text, buttons=turn.buttons, turn_id=turn.id, author=author),
        )
        return turn

    async def resume(self, conversation_id: str) -> list[OutgoingMessage]:
        """A person handed the citizen back: the bot picks up (Rasa's trigger_intent),
        its replies stored and delivered. Nothing is said if the dialogue is down: the
        citizen's next message reaches it as usual."""
        async with self._lock(conversation_id):
            conversation = await self._store.get_conversation(conversation_id)
            if conversation is None:
                raise ConversationNotFound(conversation_id)
            try:
                utterances = await self._rasa.trigger_intent(conversation_id, RESUME_INTENT)
            except RasaUnavailable as exc:
                log.warning(
                    "dialogue.resume_failed", conversation_id=conversation_id, error=str(exc)
                )
                return []
            replies: list[OutgoingMessage] = []
            for utterance in utterances:
                if not utterance.text:
                    continue
                turn = await self._store.record_outbound(
                    conversation_id,
                    text=utterance.text,
                    language=conversation.language,
                    buttons=utterance.buttons,
                )
                replies.append(
                    OutgoingMessage(text=turn.text, buttons=turn.buttons, turn_id=turn.id)
                )
            if replies:
                last_buttons = next((r.buttons for r in reversed(replies) if r.buttons), ())
                await self._store.set_last_buttons(conversation_id, last_buttons)
        for reply in replies:
            await self._deliver(conversation, reply)
        log.info("dialogue.resumed", conversation_id=conversation_id, replies=len(replies))
        return replies

    async def _deliver(self, conversation: Conversation, message: OutgoingMessage) -> None:
        output = self._outputs.get(conversation.channel)
        if output is None:
            log.error("output.missing", channel=conversation.channel)
            return
        await output.send(conversation.id, message)

    async def _keep_for_later(
        self, conversation: Conversation, turn: Turn, language: Language, channel: str
    ) -> TurnResult:
        await self._store.set_turn_status(turn.id, TurnStatus.PENDING)
        apology = await self._store.record_outbound(
            conversation.id, text=say("dialogue_unavailable", language), language=language
        )
        self._metrics.messages.labels(channel, "outbound").inc()
        return TurnResult(
            conversation_id=conversation.id,
            language=language,
            replies=(OutgoingMessage(text=apology.text, turn_id=apology.id),),
            inbound_turn_id=turn.id,
            degraded=True,
        )

    async def _repeat_result(
        self, conversation: Conversation, turn: Turn, message: IncomingMessage
    ) -> TurnResult:
        """A retried delivery: the same answer again, nothing processed twice, and never
        an empty answer (review M1)."""
        replies = await self._store.replies_to(turn.id)
        if not replies and turn.status is TurnStatus.RECEIVED:
            # Stored, nothing said back, and no delivery is working on it (this one holds
            # the conversation's lock): the first delivery died mid-turn. Answer it now.
            log.warning("conversation.dropped_turn_answered", conversation_id=conversation.id)
            result = await self._answer(
                conversation, turn, as_language(turn.language), message, resend=True
            )
            return dataclasses.replace(result, duplicate=True)
        if not replies and turn.status is TurnStatus.PENDING:
            # Kept for later: the same plain apology as the first time (it is not stored
            # as a reply to the turn, so it is said again rather than looked up).
            apology = OutgoingMessage(text=say("dialogue_unavailable", turn.language))
            return TurnResult(
                conversation_id=conversation.id,
                language=turn.language,
                replies=(apology,),
                inbound_turn_id=turn.id,
                degraded=True,
                duplicate=True,
            )
        return TurnResult(
            conversation_id=conversation.id,
            language=turn.language,
            replies=tuple(
                OutgoingMessage(text=r.text, buttons=r.buttons, turn_id=r.id) for r in replies
            ),
            inbound_turn_id=turn.id,
            degraded=turn.status == TurnStatus.PENDING,
            duplicate=True,
        )

    # ---- kept messages ---------------------------------------------------------------
    async def replay_pending(self) -> int:
        """Answer every kept message whose dialogue is reachable again; return how many."""
        answered = 0
        pending = await self._store.pending_turns()
        self._metrics.pending_messages.set(len(pending))
        conversation_ids = list(dict.fromkeys(t.conversation_id for t in pending))
        for conversation_id in conversation_ids:
            async with self._lock(conversation_id):
                conversation = await self._store.get_conversation(conversation_id)
                if conversation is None:
                    continue
                before = len(await self._store.pending_turns(conversation_id))
                ok = await self._replay_pending_locked(conversation)
                answered += before - len(await self._store.pending_turns(conversation_id))
                if not ok:
                    break
        self._metrics.pending_messages.set(len(await self._store.pending_turns()))
        return answered

    async def _replay_pending_locked(self, conversation: Conversation, exclude: int = -1) -> bool:
        """Send kept turns to the dialogue and deliver answers; False if it is still down."""
        for turn in await self._store.pending_turns(conversation.id):
            if turn.id == exclude:
                continue
            try:
                # A link the answer asked for is not sent later: it is made for a
                # reply in the same request (an SMS answer), and this one is late.
                replies = (
                    await self._ask_dialogue(
                        conversation, turn, as_language(turn.language), resend=True
                    )
                ).replies
            except RasaUnavailable:
                return False
            log.info("dialogue.pending_answered", conversation_id=conversation.id, turn_id=turn.id)
            output = self._outputs.get(conversation.channel)
            if output is None:
                log.error("output.missing", channel=conversation.channel)
                continue
            for reply in replies:
                await output.send(conversation.id, reply)
        return True


def _offered_payload(message: IncomingMessage, conversation: Conversation) -> str | None:
    """The message's payload if the gateway offered it, else None (review L6).

    A payload goes to the dialogue as it is (``/intent{entities}``), so a client must
    not choose one: it counts only if it is one of the buttons last offered in this
    conversation, or one of the gateway's own commands (the web chat's "leave" button
    sends one at any time), or the channel adapter chose it itself (the phone menu).
    Any other is dropped and the message goes on as the text it came with (a button's
    title, which the dialogue understands): a page may still show older buttons, and
    what the citizen meant is not lost for that.
    """
    payload = message.payload
    if payload is None or message.payload_from_gateway:
        return payload
    # A picked appointment slot is the gateway's too (checked still free when picked).
    command = payload.removeprefix(COMMAND_PREFIX) if payload.startswith(COMMAND_PREFIX) else ""
    ours = payload in GATEWAY_COMMANDS or slot_time(command) is not None
    if ours or any(b.payload == payload for b in conversation.last_buttons):
        return payload
    log.warning(
        "conversation.payload_not_offered",
        conversation_id=conversation.id,
        channel=message.channel,
        length=len(payload),
    )
    return None


def free_text(text: str) -> str:
    """What the dialogue gets of a text the citizen wrote: never read as an intent.

    Rasa strips a message and reads one starting with "/" as ``/intent{entities}``
    (``RegexMessageHandler``), so leading slashes are dropped (and the spaces after
    them); the transcript keeps the text as written. A text of slashes only becomes
    full-width ones (U+FF0F), which the dialogue takes as words it does not know.
    """
    neutral = text.strip()
    while neutral.startswith(INTENT_PREFIX):
        neutral = neutral.lstrip(INTENT_PREFIX).lstrip()
    return neutral or text.strip().replace(INTENT_PREFIX, "\uff0f")


def _choice_payload(text: str, buttons: tuple[Button, ...]) -> str | None:
    """A bare number chooses the matching quick reply last offered (SMS, voice, keyboard)."""
    if buttons and text.isdigit():
        index = int(text) - 1
        if 0 <= index < len(buttons):
            return buttons[index].payload
    return None
