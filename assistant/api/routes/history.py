"""Earlier sessions of the citizen a person is helping.

``GET /api/console/requests/{request_id}/history`` (the holder only; 404 else) lists
the notes of the citizen's earlier requests for a person in this conversation, and —
when the citizen's number has a profile, the consent they gave with "저장"/SAVE for
Sotong to remember them — of their other conversations by SMS, phone or continued web
chat too, with when and on which channel those conversations were.
``GET …/history/{handle}`` reads one of those other conversations' transcript
(resident numbers masked), under the same consent. Nothing of a number without that
consent leaves its own conversation. Every read is audited (``handoff.history``, and
``handoff.history_read`` naming the conversation read).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel

from assistant.accounts import Account
from assistant.api.auth import InterpreterSession
from assistant.api.deps import ServicesDep
from assistant.api.routes.console import NOT_FOUND, RequestId, TurnOut, turn_out
from assistant.api.schemas import refusals
from assistant.handoff.base import HELD
from assistant.handoff.phone_numbers import is_phone_number
from assistant.privacy import mask_rrn
from assistant.services import Services
from assistant.store import Conversation

router = APIRouter(
    prefix="/api/console/requests/{request_id}",
    tags=["console"],
    responses=refusals(401, 403, 404, 413, 422),
)
page_router = APIRouter(include_in_schema=False)


class EarlierRequestOut(BaseModel):
    id: int
    channel: str
    ended_at: str | None
    outcome: str | None
    by: str | None
    service: str | None
    notes: str | None


class EarlierConversationOut(BaseModel):
    # A handle to read its transcript (…/history/{handle}): a keyed hash, so the ids of
    # other conversations are never handed out, and a handle works for this request only.
    handle: str
    channel: str
    started_at: str
    last_at: str


class HistoryOut(BaseModel):
    consent: bool  # the number's profile exists: its other conversations are included
    requests: list[EarlierRequestOut]
    conversations: list[EarlierConversationOut]


@router.get("/history", response_model=HistoryOut)
async def history(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> HistoryOut:
    """The citizen's earlier sessions with people (see the module docstring)."""
    conversation, consent, ids = await _consented(services, session.account, request_id)
    earlier = [e for e in await services.handoff.queue.ended_for(ids) if e.id != request_id]
    others = []
    for other_id in ids:
        other = await services.store.get_conversation(other_id)
        if other is not None and other.id != conversation.id:
            others.append(other)
    await services.accounts.record_audit(
        session.account,
        "handoff.history",
        conversation.id,
        {"request_id": request_id, "consent": consent, "earlier": len(earlier)},
    )
    return HistoryOut(
        consent=consent,
        requests=[
            EarlierRequestOut(
                id=e.id,
                channel=e.channel,
                ended_at=e.ended_at.isoformat() if e.ended_at else None,
                outcome=e.outcome,
                by=e.accepted_by,
                service=e.service,
                notes=mask_rrn(e.notes) if e.notes else None,
            )
            for e in reversed(earlier)  # newest first
        ],
        conversations=[
            EarlierConversationOut(
                handle=_handle(services, request_id, c.id),
                channel=c.channel,
                started_at=c.created_at.isoformat(),
                last_at=c.updated_at.isoformat(),
            )
            for c in sorted(others, key=lambda c: c.created_at, reverse=True)
        ],
    )


@router.get("/history/{handle}", response_model=list[TurnOut])
async def earlier_transcript(
    request_id: RequestId,
    handle: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")],
    session: InterpreterSession,
    services: ServicesDep,
) -> list[TurnOut]:
    """One of the citizen's other conversations, whole (only with the number's consent,
    and only by the person holding the request; audited)."""
    conversation, consent, ids = await _consented(services, session.account, request_id)
    handles = {_handle(services, request_id, i): i for i in ids if i != conversation.id}
    conversation_id = handles.get(handle) if consent else None
    if conversation_id is None:
        raise HTTPException(404, NOT_FOUND)
    turns = await services.store.transcript(conversation_id)
    await services.accounts.record_audit(
        session.account,
        "handoff.history_read",
        conversation.id,
        {"request_id": request_id, "read": conversation_id, "turns": len(turns)},
    )
    return [turn_out(replace(turn, text=mask_rrn(turn.text))) for turn in turns]


async def _consented(
    services: Services, account: Account, request_id: int
) -> tuple[Conversation, bool, list[str]]:
    """The held request's conversation, whether its number consented (a profile), and
    the ids of the conversations its history may show; 404 unless ``account`` holds it."""
    detail = await services.handoff.detail(account, request_id)
    # detail() also serves an offer; history is for the holder only.
    if detail is None or detail.entry.state not in HELD:
        raise HTTPException(404, NOT_FOUND)
    conversation = detail.conversation
    if is_phone_number(conversation.address):
        if await services.profiles.get(conversation.address) is not None:
            return (
                conversation,
                True,
                await services.store.conversations_of_address(conversation.address),
            )
    return conversation, False, [conversation.id]


def _handle(services: Services, request_id: int, conversation_id: str) -> str:
    message = f"history:{request_id}:{conversation_id}".encode()
    return hmac.new(services.signing_key, message, hashlib.sha256).hexdigest()[:32]
