"""The staff desk console: a community centre's staff member helps a walk-in citizen.

The citizen and the staff member use the assistant together at the desk (channel
"desk"): the staff member types or reads out, the assistant answers, an interpreter can
be called in, and at the end the citizen takes home a printed easy-read summary, or gets
it by text on their mobile (a blind citizen's screen reader reads a text, not paper).

Nothing starts without the citizen's consent, and every action on their conversation
is written to the audit log (``AccountStore.record_audit``) — which is also how a desk
knows its own walk-ins: a staff member sees only the sessions they started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field, field_validator

from assistant.accounts import AuditEntry, Role, WebSession
from assistant.api.auth import StaffSession, page_guard
from assistant.api.deps import ServicesDep
from assistant.api.schemas import ButtonOut, MessageText, refusals
from assistant.catalog import Service
from assistant.catalog.discussed import services_discussed
from assistant.conversation import ConversationNotFound
from assistant.handoff.phone_numbers import can_text, national, read_number
from assistant.messages import IncomingMessage, OutgoingMessage
from assistant.privacy import mask_rrn
from assistant.profiles import ACCESSIBILITY_KEYS
from assistant.services import Services
from assistant.store import Conversation, Turn, TurnDirection
from consoles import STATIC_DIR
from consoles.summary import InterpreterNote, render_summary, summary_sms

DESK_CHANNEL = "desk"
SIGN_LANGUAGE = "sign_language"
# Audit actions of the desk (the handoff service writes its own "handoff.*" ones).
WALKIN_START = "walkin.start"
WALKIN_MESSAGE = "walkin.message"
WALKIN_INTERPRETER = "walkin.interpreter"
WALKIN_SUMMARY = "walkin.summary"
WALKIN_SUMMARY_TEXTED = "walkin.summary_texted"
WALKIN_HANDED = "walkin.handed"  # to a colleague (assistant/api/routes/desk_tools.py)
CONSENT_REQUIRED = "consent is required"
NOT_FOUND = "no such walk-in session"
LIST_LIMIT = 100

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/staff", tags=["staff"], responses=refusals(401, 403, 404, 413, 422))
page_router = APIRouter(include_in_schema=False)

SessionId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
StaffPage = Annotated[WebSession, Depends(page_guard(Role.STAFF))]


class WalkInIn(BaseModel):
    """A walk-in citizen agreed to use the assistant at the desk."""

    language: Literal["ko", "en"] = "ko"
    # Must be true: the citizen agreed that the conversation is recorded and may be
    # shared with an interpreter. Checked in the route, so the answer says so plainly.
    consent: bool = False
    consent_method: Literal["spoken", "signed", "written"] | None = None
    accessibility: dict[str, bool] = Field(default_factory=dict, max_length=16)

    @field_validator("accessibility")
    @classmethod
    def _known_needs(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(ACCESSIBILITY_KEYS))
        if unknown:
            raise ValueError(f"unknown accessibility needs: {', '.join(unknown)}")
        return {key: True for key in ACCESSIBILITY_KEYS if value.get(key)}


class WalkInOut(BaseModel):
    """One walk-in session as the desk lists it."""

    id: str
    started_at: str
    language: str
    consent_method: str | None
    accessibility: dict[str, bool]
    # When a colleague handed the visit over: who, and their note for the one who has it.
    handed_by: str | None = None
    note: str | None = None


class MessageOut(BaseModel):
    """One message of a walk-in's transcript."""

    id: int | None
    sender: Literal["citizen", "bot", "person"]
    author: str | None = None  # "person:<username>" when a person wrote it
    text: str
    buttons: list[ButtonOut] = []
    created_at: str | None = None


class TranscriptOut(BaseModel):
    session: WalkInOut
    messages: list[MessageOut]
    handoff: dict[str, Any] | None  # the open request's status (QueueStatus.as_json)


class MessageIn(BaseModel):
    text: MessageText = Field(min_length=1, max_length=1000)
    payload: str | None = Field(None, max_length=500)  # a quick reply the desk chose


class TurnOut(BaseModel):
    messages: list[MessageOut]
    degraded: bool  # the assistant is unreachable: the message is kept and answered later
    relayed: bool  # a person holds the conversation: the message went to them
    handoff: dict[str, Any] | None


class AuditOut(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    action: str
    detail: dict[str, Any]


# ---- helpers ------------------------------------------------------------------------
def _turn_out(turn: Turn) -> MessageOut:
    if turn.direction is TurnDirection.INBOUND:
        sender: Literal["citizen", "bot", "person"] = "citizen"
    else:
        sender = "person" if turn.author else "bot"
    return MessageOut(
        id=turn.id,
        sender=sender,
        author=turn.author,
        text=mask_rrn(turn.text),  # masked when stored; again for rows older than that
        buttons=[ButtonOut(title=b.title, payload=b.payload) for b in turn.buttons],
        created_at=turn.created_at.isoformat(),
    )


def _reply_out(message: OutgoingMessage) -> MessageOut:
    return MessageOut(
        id=message.turn_id,
        sender="person" if message.author else "bot",
        author=message.author,
        text=mask_rrn(message.text),
        buttons=[ButtonOut(title=b.title, payload=b.payload) for b in message.buttons],
    )


def _walkin_out(entry: AuditEntry, handed: AuditEntry | None = None) -> WalkInOut:
    """A walk-in as its "walkin.start" audit entry records it (and its last hand-over)."""
    return WalkInOut(
        id=entry.conversation_id or "",
        started_at=entry.at.isoformat(),
        language=str(entry.detail.get("language", "ko")),
        consent_method=entry.detail.get("consent_method"),
        accessibility=dict(entry.detail.get("accessibility") or {}),
        handed_by=handed.actor_username if handed else None,
        note=handed.detail.get("note") if handed else None,
    )


@dataclass(frozen=True)
class Holding:
    """Who has a walk-in now, its "walkin.start" entry and its last hand-over."""

    holder: str
    started: AuditEntry
    handed: AuditEntry | None

    def out(self) -> WalkInOut:
        return _walkin_out(self.started, self.handed)


async def holder_of(services: Services, conversation_id: str) -> Holding | None:
    """Who has the walk-in now — the staff member who started it, or the colleague it
    was last handed to; None if it is no walk-in."""
    started = await services.accounts.audit_log(
        conversation_id=conversation_id, action=WALKIN_START, limit=1
    )
    if not started:
        return None
    handed = await services.accounts.audit_log(
        conversation_id=conversation_id, action=WALKIN_HANDED, limit=1
    )
    if handed:
        return Holding(str(handed[0].detail.get("to")), started[0], handed[0])
    return Holding(started[0].actor_username, started[0], None)


async def owned(services: Services, session: WebSession, conversation_id: str) -> WalkInOut:
    """The walk-in, if the signed-in staff member has it (started it, or it was handed
    to them); else 404 (never 403: a desk must not learn that another desk's visit
    exists)."""
    found = await holder_of(services, conversation_id)
    if found is None or found.holder != session.account.username:
        raise HTTPException(404, NOT_FOUND)
    return found.out()


async def _conversation(services: Services, conversation_id: str) -> Conversation:
    conversation = await services.store.get_conversation(conversation_id)
    if conversation is None or conversation.channel != DESK_CHANNEL:
        raise HTTPException(404, NOT_FOUND)
    return conversation


async def _handoff_json(services: Services, conversation_id: str) -> dict[str, Any] | None:
    status = await services.handoff.status(conversation_id)
    return status.as_json() if status is not None else None


# ---- API ----------------------------------------------------------------------------
@router.post("/sessions", status_code=201, response_model=WalkInOut)
async def start_walkin(body: WalkInIn, session: StaffSession, services: ServicesDep) -> WalkInOut:
    """Start a walk-in citizen's conversation at the desk, once they have consented."""
    if not body.consent:
        raise HTTPException(422, CONSENT_REQUIRED)
    if body.consent_method is None:
        raise HTTPException(422, "consent_method is required: spoken, signed or written")
    account = session.account
    conversation = await services.core.start(
        DESK_CHANNEL,
        address=f"{DESK_CHANNEL}:{account.username}",
        language=body.language,
        accessibility=body.accessibility,
    )
    entry = await services.accounts.record_audit(
        account,
        WALKIN_START,
        conversation.id,
        {
            "consent": True,
            "consent_method": body.consent_method,
            "language": body.language,
            "accessibility": body.accessibility,
            "centre": account.centre,
        },
    )
    log.info("walkin.started", conversation_id=conversation.id, by=account.username)
    return WalkInOut(
        id=conversation.id,
        started_at=entry.at.isoformat(),
        language=body.language,
        consent_method=body.consent_method,
        accessibility=body.accessibility,
    )


@router.get("/sessions", response_model=list[WalkInOut])
async def my_walkins(session: StaffSession, services: ServicesDep) -> list[WalkInOut]:
    """The walk-in sessions this staff member has (started, or handed to them by a
    colleague, and not handed on), newest first."""
    me = session.account.username
    started = await services.accounts.audit_log(
        actor_id=session.account.id, action=WALKIN_START, limit=LIST_LIMIT
    )
    handed = await services.accounts.audit_log(action=WALKIN_HANDED, limit=LIST_LIMIT)
    ids = {e.conversation_id for e in started} | {
        e.conversation_id for e in handed if e.detail.get("to") == me
    }
    found: list[Holding] = []
    for conversation_id in ids - {None}:
        holding = await holder_of(services, str(conversation_id))
        if holding is not None and holding.holder == me:
            found.append(holding)
    found.sort(key=lambda h: (h.started.at, h.started.id), reverse=True)
    return [holding.out() for holding in found]


@router.get("/sessions/{session_id}", response_model=TranscriptOut)
async def walkin_transcript(
    session_id: SessionId,
    session: StaffSession,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> TranscriptOut:
    """The walk-in's transcript (only messages after id ``after``, for polling) and the
    status of its request for a person. The interpreter's messages land here too."""
    walkin = await owned(services, session, session_id)
    await _conversation(services, session_id)
    turns = await services.store.transcript(session_id, after_id=after)
    return TranscriptOut(
        session=walkin,
        messages=[_turn_out(turn) for turn in turns],
        handoff=await _handoff_json(services, session_id),
    )


@router.post("/sessions/{session_id}/messages", response_model=TurnOut)
async def walkin_message(
    session_id: SessionId, body: MessageIn, session: StaffSession, services: ServicesDep
) -> TurnOut:
    """Send what the citizen said (typed at the desk) to the assistant; its replies."""
    await owned(services, session, session_id)
    await _conversation(services, session_id)
    try:
        result = await services.core.handle(
            IncomingMessage(
                conversation_id=session_id,
                text=body.text,
                channel=DESK_CHANNEL,
                payload=body.payload,
            )
        )
    except ConversationNotFound as exc:
        raise HTTPException(404, NOT_FOUND) from exc
    if result.handoff and session.account.region:
        # The assistant asked for a person: a walk-in's request goes to the desk's region.
        entry = await services.handoff.active(session_id)
        if entry is not None and entry.region is None:
            await services.handoff.queue.route(entry.id, region=session.account.region)
    # Only the length: the text is in the transcript, the audit log need not copy it.
    await services.accounts.record_audit(
        session.account,
        WALKIN_MESSAGE,
        session_id,
        {"length": len(body.text), "button": body.payload is not None, "handoff": result.handoff},
    )
    return TurnOut(
        messages=[_reply_out(reply) for reply in result.replies],
        degraded=result.degraded,
        relayed=result.relayed,
        handoff=await _handoff_json(services, session_id),
    )


@router.post("/sessions/{session_id}/interpreter")
async def call_interpreter(
    session_id: SessionId, session: StaffSession, services: ServicesDep
) -> dict[str, Any]:
    """Ask for a sign-language interpreter for the walk-in (or return the open request's
    status): queued in the desk's region, with the service the visit is about."""
    await owned(services, session, session_id)
    conversation = await _conversation(services, session_id)
    turns = await services.store.transcript(session_id)
    discussed = services_discussed(turns, [], services.catalog)
    status = await services.handoff.request(
        conversation,
        reason=SIGN_LANGUAGE,
        # The interpreter sees what the visit is about (the last service discussed).
        service=discussed[-1].id if discussed else None,
        language=conversation.language,
        region=session.account.region,
        requested_by=session.account,
    )
    await services.accounts.record_audit(
        session.account,
        WALKIN_INTERPRETER,
        session_id,
        {"request_id": status.request_id, "state": status.state.value},
    )
    return status.as_json()


@router.get("/sessions/{session_id}/audit", response_model=list[AuditOut])
async def walkin_audit(
    session_id: SessionId, session: StaffSession, services: ServicesDep
) -> list[AuditOut]:
    """Everything people did with this walk-in's conversation, newest first."""
    await owned(services, session, session_id)
    entries = await services.accounts.audit_log(conversation_id=session_id)
    return [
        AuditOut(
            id=entry.id,
            at=entry.at.isoformat(),
            actor=entry.actor_username,
            role=entry.role.value,
            action=entry.action,
            detail=entry.detail,
        )
        for entry in entries
    ]


class TextSummaryIn(BaseModel):
    """The citizen's mobile number, given at the desk with their consent."""

    phone: str = Field(min_length=1, max_length=40)


class TextSummaryOut(BaseModel):
    to: str  # the number as people write it, for the desk to read back
    messages: int  # how many SMS it took


@router.post("/sessions/{session_id}/text-summary", response_model=TextSummaryOut)
async def text_summary(
    session_id: SessionId, body: TextSummaryIn, session: StaffSession, services: ServicesDep
) -> TextSummaryOut:
    """Text the visit's easy-read summary to the citizen's mobile (audited; the number
    is used for this text only and kept no longer than the outbox keeps its messages)."""
    await owned(services, session, session_id)
    conversation = await _conversation(services, session_id)
    number = read_number(body.phone)
    if number is None:
        raise HTTPException(422, "a phone number looks like 010-1234-5678")
    if not can_text(number):
        raise HTTPException(422, "only a mobile phone can get a text: give a mobile number")
    discussed, note = await _visit(services, session_id)
    text = summary_sms(services=discussed, interpreter=note, language=conversation.language)
    ids = await services.outbox.send_sms(number, text, kind="summary", conversation_id=session_id)
    await services.accounts.record_audit(
        session.account,
        WALKIN_SUMMARY_TEXTED,
        session_id,
        {"services": [s.id for s in discussed], "messages": len(ids)},
    )
    return TextSummaryOut(to=national(number), messages=len(ids))


async def _visit(
    services: Services, session_id: str
) -> tuple[list[Service], InterpreterNote | None]:
    """The services a visit was about, and what became of its interpreter request."""
    turns = await services.store.transcript(session_id)
    requests = await services.store.handoff_requests(session_id)
    discussed = services_discussed(turns, requests, services.catalog)
    note: InterpreterNote | None = None
    if requests:
        latest = requests[-1]
        open_status = await services.handoff.status(session_id)
        scheduled = open_status.scheduled_for if open_status is not None else None
        note = InterpreterNote.from_request(latest, scheduled)
        if open_status is not None:  # the queue's state is newer than the stored row's
            note = InterpreterNote(note.sign_language, open_status.state, scheduled)
    return list(discussed), note


# ---- pages --------------------------------------------------------------------------
@page_router.get("/staff")
async def staff_page(_: StaffPage) -> FileResponse:
    """The desk console."""
    return FileResponse(STATIC_DIR / "staff.html", media_type="text/html; charset=utf-8")


@page_router.get("/staff/sessions/{session_id}/summary", response_class=HTMLResponse)
async def summary_page(
    session_id: SessionId, session: StaffPage, services: ServicesDep
) -> HTMLResponse:
    """The printable easy-read summary of a walk-in's visit."""
    try:
        await owned(services, session, session_id)
        conversation = await _conversation(services, session_id)
    except HTTPException:
        return HTMLResponse(_NOT_FOUND_PAGE, status_code=404)
    discussed, note = await _visit(services, session_id)
    needs = conversation.accessibility
    html = render_summary(
        services=discussed,
        interpreter=note,
        centre=session.account.centre,
        helper=session.account.name,
        at=conversation.created_at,
        deaf=bool(needs.get("deaf") or needs.get("hard_of_hearing")),
    )
    await services.accounts.record_audit(
        session.account, WALKIN_SUMMARY, session_id, {"services": [s.id for s in discussed]}
    )
    # A visit's summary: neither browsers nor proxies keep a copy.
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


_NOT_FOUND_PAGE = """<!doctype html>
<html lang="ko">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>찾을 수 없음 / Not found — 소통 Sotong</title></head>
<body><main>
<h1>이 상담을 찾을 수 없습니다</h1>
<p>내가 시작한 창구 상담만 볼 수 있습니다.</p>
<h2 lang="en">This visit was not found</h2>
<p lang="en">You can only see the desk visits you started.</p>
<p><a href="/staff">창구 콘솔로 돌아가기 / Back to the desk console</a></p>
</main></body>
</html>
"""
