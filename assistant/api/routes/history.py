"""Earlier sessions of the citizen a person is helping.

``GET /api/console/requests/{request_id}/history`` (the holder only; 404 else) lists
the notes of the citizen's earlier requests for a person in this conversation, and —
when the citizen's number has a profile, the consent they gave with "저장"/SAVE for
Sotong to remember them — of their other conversations by SMS, phone or continued web
chat too, with when and on which channel those conversations were. Nothing of a number
without that consent leaves its own conversation. Every read is audited
(``handoff.history``).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from assistant.api.auth import InterpreterSession
from assistant.api.deps import ServicesDep
from assistant.api.routes.console import NOT_FOUND, RequestId
from assistant.api.schemas import refusals
from assistant.handoff.base import HELD
from assistant.handoff.phone_numbers import is_phone_number
from assistant.privacy import mask_rrn

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
    detail = await services.handoff.detail(session.account, request_id)
    # detail() also serves an offer; history is for the holder only.
    if detail is None or detail.entry.state not in HELD:
        raise HTTPException(404, NOT_FOUND)
    conversation = detail.conversation
    ids = [conversation.id]
    consent = False
    if is_phone_number(conversation.address):
        consent = await services.profiles.get(conversation.address) is not None
        if consent:
            ids = await services.store.conversations_of_address(conversation.address)
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
                channel=c.channel,
                started_at=c.created_at.isoformat(),
                last_at=c.updated_at.isoformat(),
            )
            for c in sorted(others, key=lambda c: c.created_at, reverse=True)
        ],
    )
