"""The store's algorithm, independent of where the data lives.

Subclasses provide storage primitives (the ``_``-prefixed methods); the base class owns
the rules every implementation must keep: ids and timestamps, masking of resident
registration numbers before anything is written, and idempotent inbound messages.
One contract test suite runs against every implementation.
"""

from __future__ import annotations

import abc
import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from assistant.privacy import mask_rrn
from assistant.store.records import (
    Button,
    Conversation,
    HandoffRequest,
    Reply,
    Turn,
    TurnDirection,
    TurnStatus,
)

# NUL (PostgreSQL's TEXT refuses it: a 500 and a lost message) and the bidirectional
# embedding, override and isolate controls (they would reorder numbers or links on an
# interpreter's screen); neither belongs in what a citizen or the bot says (review L4).
_UNSTORABLE = str.maketrans(dict.fromkeys([0, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]))


# What a handoff request's ``service`` may be: a catalog service id (the catalog's own
# pattern, ``catalog/schema.py``) that fits ``handoff_requests.service`` (String(64)).
_SERVICE_ID = re.compile(r"[a-z][a-z0-9_]*")
SERVICE_ID_MAX_LENGTH = 64


def service_id_or_none(service: object) -> str | None:
    """``service`` if it can be a catalog service id, else None (review L6: a citizen
    could put any text in the dialogue's ``service`` slot, and a value longer than the
    column broke the insert on PostgreSQL)."""
    if (
        isinstance(service, str)
        and len(service) <= SERVICE_ID_MAX_LENGTH
        and _SERVICE_ID.fullmatch(service)
    ):
        return service
    return None


def _storable(text: str) -> str:
    """What is kept of a text: those characters dropped, resident registration numbers
    masked."""
    return mask_rrn(text.translate(_UNSTORABLE))


class StoreError(RuntimeError):
    """The store cannot be used (unreachable, schema missing, …)."""


def utcnow() -> dt.datetime:
    """Timestamps are timezone-aware UTC everywhere."""
    return dt.datetime.now(dt.UTC)


class ConversationStore(abc.ABC):
    """Conversations, their transcripts and handoff requests."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow) -> None:
        # Every timestamp this store writes comes from one clock, so a test can move
        # it by hand together with the queue and services that compare against it.
        self._clock = clock

    # ---- conversations -------------------------------------------------------------
    async def start_conversation(
        self,
        channel: str,
        address: str,
        language: str,
        accessibility: dict[str, Any] | None = None,
    ) -> Conversation:
        """Create a conversation; its id is also the Rasa sender id."""
        now = self._clock()
        conversation = Conversation(
            id=uuid.uuid4().hex,
            channel=channel,
            address=mask_rrn(address),
            language=language,
            created_at=now,
            updated_at=now,
            accessibility=dict(accessibility or {}),
        )
        await self._insert_conversation(conversation)
        return conversation

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation with this id, or None."""
        return await self._get_conversation(conversation_id)

    async def latest_conversation(self, channel: str, address: str) -> Conversation | None:
        """The newest conversation of ``address`` on ``channel`` (e.g. a phone on SMS)."""
        return await self._latest_conversation(channel, mask_rrn(address))

    async def set_language(self, conversation_id: str, language: str) -> None:
        """Remember the conversation's language."""
        await self._update_conversation(
            conversation_id, language=language, updated_at=self._clock()
        )

    async def set_accessibility(self, conversation_id: str, accessibility: dict[str, Any]) -> None:
        """Replace the conversation's accessibility needs and settings (easy read, …)."""
        await self._update_conversation(
            conversation_id, accessibility=dict(accessibility), updated_at=self._clock()
        )

    async def set_last_buttons(self, conversation_id: str, buttons: tuple[Button, ...]) -> None:
        """Remember the quick replies last offered (digits on SMS and voice choose them)."""
        await self._update_conversation(
            conversation_id, last_buttons=buttons, updated_at=self._clock()
        )

    # ---- transcript ----------------------------------------------------------------
    async def record_inbound(
        self,
        conversation_id: str,
        text: str,
        language: str,
        payload: str | None = None,
        client_message_id: str | None = None,
    ) -> tuple[Turn, bool]:
        """Store a citizen's message. Returns (turn, created).

        A message whose ``client_message_id`` was already stored for this conversation
        is not stored again: the existing turn comes back with ``created=False``.
        """
        if client_message_id is not None:
            existing = await self._find_turn_by_client_id(conversation_id, client_message_id)
            if existing is not None:
                return existing, False
        turn = await self._insert_turn(
            conversation_id=conversation_id,
            direction=TurnDirection.INBOUND,
            text=_storable(text),
            language=language,
            status=TurnStatus.RECEIVED,
            payload=_storable(payload) if payload is not None else None,
            buttons=(),
            client_message_id=client_message_id,
            reply_to=None,
            created_at=self._clock(),
        )
        if turn is None:  # lost a race with the same client_message_id
            existing = await self._find_turn_by_client_id(conversation_id, client_message_id or "")
            if existing is None:
                raise StoreError("inbound turn vanished after a duplicate insert")
            return existing, False
        return turn, True

    async def record_outbound(
        self,
        conversation_id: str,
        text: str,
        language: str,
        buttons: tuple[Button, ...] = (),
        reply_to: int | None = None,
        author: str | None = None,
    ) -> Turn:
        """Store a message sent to the citizen (``author``: the person who wrote it, if
        not the bot)."""
        turn = await self._insert_turn(
            conversation_id=conversation_id,
            direction=TurnDirection.OUTBOUND,
            text=_storable(text),
            language=language,
            status=TurnStatus.SENT,
            payload=None,
            buttons=buttons,
            client_message_id=None,
            reply_to=reply_to,
            created_at=self._clock(),
            author=author,
        )
        if turn is None:
            raise StoreError("outbound turn was not stored")
        return turn

    async def record_answer(
        self,
        conversation_id: str,
        reply_to: int,
        replies: Sequence[Reply],
        language: str,
        *,
        status: TurnStatus | None = None,
        last_buttons: tuple[Button, ...] | None = None,
    ) -> list[Turn]:
        """Store the bot's ``replies`` to the inbound turn ``reply_to`` and, when given,
        that turn's new ``status`` and the quick replies last offered, in one
        transaction: a turn's answer is written whole or not at all, with one commit
        instead of one per reply and per change (issue 19). The replies come back
        stored, in order."""
        now = self._clock()
        turns = [
            {
                "conversation_id": conversation_id,
                "direction": TurnDirection.OUTBOUND,
                "text": _storable(reply.text),
                "language": language,
                "status": TurnStatus.SENT,
                "payload": None,
                "buttons": reply.buttons,
                "client_message_id": None,
                "reply_to": reply_to,
                "created_at": now,
            }
            for reply in replies
        ]
        changes: dict[str, Any] = {}
        if last_buttons is not None:
            changes = {"last_buttons": last_buttons, "updated_at": now}
        return await self._insert_answer(
            conversation_id, turns, reply_to=reply_to, status=status, conversation=changes
        )

    async def last_inbound_text(self, conversation_id: str) -> str | None:
        """The text of the citizen's newest message in the conversation (as stored,
        masked), or None before the first."""
        return await self._last_inbound_text(conversation_id)

    async def set_turn_status(self, turn_id: int, status: TurnStatus) -> None:
        """Move an inbound turn along its life (answered, pending, …)."""
        await self._update_turn_status(turn_id, status)

    async def transcript(self, conversation_id: str, after_id: int = 0) -> list[Turn]:
        """Every turn of a conversation in order, optionally only those after ``after_id``."""
        return await self._list_turns(conversation_id, after_id)

    async def replies_to(self, turn_id: int) -> list[Turn]:
        """The outbound turns that answered an inbound turn."""
        return await self._list_replies(turn_id)

    async def requeue_dropped(self, received_before: dt.datetime) -> int:
        """Kept for later: inbound turns still ``received`` from before ``received_before``
        with nothing said back — a crash dropped them mid-turn (review M1). Returns how
        many; the retry loop answers them like any kept message."""
        return await self._requeue_dropped(received_before)

    async def last_activity(self, conversation: Conversation) -> dt.datetime:
        """When anything last happened in the conversation: its newest turn or change."""
        newest = await self._last_turn_at(conversation.id)
        return conversation.updated_at if newest is None else max(newest, conversation.updated_at)

    async def pending_turns(self, conversation_id: str | None = None) -> list[Turn]:
        """Inbound turns kept while the dialogue was unreachable, oldest first."""
        return await self._list_pending(conversation_id)

    # ---- handoff -------------------------------------------------------------------
    async def request_handoff(
        self,
        conversation_id: str,
        reason: str,
        service: str | None,
        channel: str,
        language: str,
        accessibility: dict[str, Any] | None = None,
    ) -> HandoffRequest:
        """Record that the citizen asked for a person (the queue is built on this).

        A ``service`` that cannot be a catalog service id is recorded as None."""
        return await self._insert_handoff(
            conversation_id=conversation_id,
            reason=mask_rrn(reason),
            service=service_id_or_none(service),
            channel=channel,
            language=language,
            accessibility=dict(accessibility or {}),
            status="waiting",  # the handoff queue's first state (assistant/handoff)
            created_at=self._clock(),
        )

    async def handoff_requests(self, conversation_id: str) -> list[HandoffRequest]:
        """Handoff requests of a conversation, oldest first."""
        return await self._list_handoffs(conversation_id)

    # ---- continuation links --------------------------------------------------------
    async def add_continuation(
        self, token_hash: str, conversation_id: str, expires_at: dt.datetime
    ) -> None:
        """Remember a link that opens a new web chat carrying ``conversation_id`` on.

        Only the link's hash is kept, so the table never holds a usable link."""
        await self._insert_continuation(
            token_hash=token_hash,
            conversation_id=conversation_id,
            created_at=self._clock(),
            expires_at=expires_at,
        )

    async def claim_continuation(self, token_hash: str) -> str | None:
        """Use a link once: the conversation it carries on, or None when it is unknown,
        expired or already used (atomic: of two simultaneous claims one wins)."""
        return await self._claim_continuation(token_hash, self._clock())

    async def set_continued_as(self, token_hash: str, conversation_id: str) -> None:
        """Record the web chat conversation a used link opened."""
        await self._update_continuation(token_hash, continued_as=conversation_id)

    # ---- erasure and retention -----------------------------------------------------
    async def conversations_of_address(self, address: str) -> list[str]:
        """Ids of every conversation of ``address`` on any channel (a phone number: its
        SMS and calls) and of the web chats continued from them by link, oldest
        link first."""
        found = await self._conversations_of(address)
        ids: list[str] = []
        while found:  # a continued web chat may have been continued again
            ids += found
            found = [i for i in await self._continued_from(found) if i not in ids]
        return ids

    async def inactive_conversations(self, before: dt.datetime, limit: int = 500) -> list[str]:
        """Ids of up to ``limit`` conversations with nothing new since ``before`` —
        neither a turn nor a change (retention)."""
        return await self._inactive_since(before, limit)

    async def erase(self, conversation_ids: list[str]) -> int:
        """Delete the conversations with their turns, handoff requests and links (one
        transaction); how many conversations. What others keep under their ids (the
        dialogue's trackers) is the caller's to erase first."""
        return await self._erase(conversation_ids)

    # ---- health --------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise StoreError unless the store answers and its schema is current."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # ---- primitives ----------------------------------------------------------------
    @abc.abstractmethod
    async def _insert_conversation(self, conversation: Conversation) -> None: ...

    @abc.abstractmethod
    async def _get_conversation(self, conversation_id: str) -> Conversation | None: ...

    @abc.abstractmethod
    async def _latest_conversation(self, channel: str, address: str) -> Conversation | None: ...

    @abc.abstractmethod
    async def _update_conversation(self, conversation_id: str, **fields: Any) -> None: ...

    @abc.abstractmethod
    async def _insert_turn(
        self,
        *,
        conversation_id: str,
        direction: TurnDirection,
        text: str,
        language: str,
        status: TurnStatus,
        payload: str | None,
        buttons: tuple[Button, ...],
        client_message_id: str | None,
        reply_to: int | None,
        created_at: dt.datetime,
        author: str | None = None,
    ) -> Turn | None:
        """Insert a turn; None if ``client_message_id`` already exists (a race)."""

    @abc.abstractmethod
    async def _insert_answer(
        self,
        conversation_id: str,
        turns: list[dict[str, Any]],
        *,
        reply_to: int,
        status: TurnStatus | None,
        conversation: dict[str, Any],
    ) -> list[Turn]:
        """In one transaction: insert ``turns`` (``_insert_turn``'s fields) in order, set
        the status of ``reply_to`` (unless None) and update the conversation with
        ``conversation`` (``_update_conversation``'s fields; none: unchanged)."""

    @abc.abstractmethod
    async def _find_turn_by_client_id(
        self, conversation_id: str, client_message_id: str
    ) -> Turn | None: ...

    @abc.abstractmethod
    async def _update_turn_status(self, turn_id: int, status: TurnStatus) -> None: ...

    @abc.abstractmethod
    async def _list_turns(self, conversation_id: str, after_id: int) -> list[Turn]: ...

    @abc.abstractmethod
    async def _list_replies(self, turn_id: int) -> list[Turn]: ...

    @abc.abstractmethod
    async def _list_pending(self, conversation_id: str | None) -> list[Turn]: ...

    @abc.abstractmethod
    async def _insert_handoff(self, **fields: Any) -> HandoffRequest: ...

    @abc.abstractmethod
    async def _list_handoffs(self, conversation_id: str) -> list[HandoffRequest]: ...

    @abc.abstractmethod
    async def _insert_continuation(self, **fields: Any) -> None: ...

    @abc.abstractmethod
    async def _claim_continuation(self, token_hash: str, now: dt.datetime) -> str | None: ...

    @abc.abstractmethod
    async def _update_continuation(self, token_hash: str, **fields: Any) -> None: ...

    @abc.abstractmethod
    async def _requeue_dropped(self, received_before: dt.datetime) -> int: ...

    @abc.abstractmethod
    async def _last_turn_at(self, conversation_id: str) -> dt.datetime | None:
        """When the conversation's newest turn was stored; None without turns."""

    @abc.abstractmethod
    async def _last_inbound_text(self, conversation_id: str) -> str | None:
        """The text of the conversation's newest inbound turn; None without one."""

    @abc.abstractmethod
    async def _conversations_of(self, address: str) -> list[str]:
        """Ids of the conversations of ``address``, any channel."""

    @abc.abstractmethod
    async def _continued_from(self, conversation_ids: list[str]) -> list[str]:
        """Ids of the conversations that links of ``conversation_ids`` opened."""

    @abc.abstractmethod
    async def _inactive_since(self, before: dt.datetime, limit: int) -> list[str]:
        """Ids of conversations changed before ``before`` with no turn since."""

    @abc.abstractmethod
    async def _erase(self, conversation_ids: list[str]) -> int:
        """Delete the conversations with their turns, handoff requests and links, in
        one transaction; how many conversations."""
