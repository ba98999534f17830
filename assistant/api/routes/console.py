"""The interpreter console: the live handoff queue, the sessions a person holds, and the
page at ``/interpreter``.

Interpreters and staff both take handoff sessions (``InterpreterSession``). The routes
are thin: who may see or change a request is decided by ``HandoffService``; this module
shapes what the console receives and hides what it must not:

- a waiting request is a summary only — no transcript, no phone number or address —
  until the person takes it (or it is offered to them);
- a request that is not offered to or held by the caller answers 404, never 403, so
  its existence is not told;
- the WebSocket carries notifications only (``{"type", "request_id"}``); the page
  fetches again through these routes, which check each time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from assistant.accounts import Account, Role, WebSession
from assistant.api.auth import InterpreterSession, page_guard, websocket_session
from assistant.api.deps import ServicesDep, WsServicesDep
from assistant.api.schemas import AccountOut, MessageText, account_out, refusals
from assistant.api.sockets import run_until_first_ends
from assistant.handoff import QueueEntry
from assistant.handoff.phone_numbers import national
from assistant.handoff.service import (
    HANDOFF_QUEUE_TOPIC,
    PERSON_AUTHOR_PREFIX,
    SessionDetail,
    person_topic,
)
from assistant.services import Services
from assistant.store import Turn, TurnDirection
from assistant.store.base import utcnow
from consoles import STATIC_DIR

log = structlog.get_logger(__name__)
# Database ids: bounded, so a huge number is a 422, not an overflow in the driver (a
# 500 on SQLite; review L4).
RequestId = Annotated[int, PathParam(ge=1, le=2**62)]
router = APIRouter(
    prefix="/api/console",
    tags=["console"],
    responses=refusals(401, 403, 404, 409, 413, 422),
)
page_router = APIRouter(include_in_schema=False)

NOT_FOUND = "no such request"
TAKEN = "taken or not yours"
NO_SOURCE = "this request has no recorded source (a staff walk-in): dismiss it alone"
# What the socket passes on; anything else published on the topics stays in the server.
_FORWARDED_TYPES = frozenset({"changed", "message"})


# ---- shapes ---------------------------------------------------------------------------
class InterpreterOut(BaseModel):
    """The signed-in person as the queue sees them."""

    available: bool
    skills: list[str]
    capacity: int
    on_duty: bool
    languages: list[str] = []
    work_hours: str | None = None  # "09:00-18:00" in Seoul time; None: no fixed hours
    phone: str | None = None  # their own, as they wrote it (010-1234-5678)


class MeOut(BaseModel):
    account: AccountOut
    interpreter: InterpreterOut


class AvailabilityIn(BaseModel):
    available: bool


class AvailabilityOut(BaseModel):
    interpreter: InterpreterOut


class ServiceOut(BaseModel):
    """A catalog service by id, with its name in both languages."""

    id: str
    ko: str
    en: str


class SummaryOut(BaseModel):
    """What anyone who may take a request sees of it: no transcript, no address."""

    id: int
    state: str
    reason: str
    skill: str
    service: ServiceOut | None
    channel: str
    language: str
    accessibility: dict[str, Any]
    region: str | None
    waiting_seconds: int
    offered_to_me: bool
    contact: str | None = None  # a "callback", "text" or "video" appointment
    scheduled_for: str | None = None
    # Requests in this list from the same source (address or number) as this one: a
    # flood shows as a large number, and can be dismissed together (review H2).
    same_source: int = 1


class DismissedOut(BaseModel):
    dismissed: int


class RefusedOut(BaseModel):
    """Requests for a person refused in the last hour (a flood shows here)."""

    last_hour: int
    from_one_source: int  # the most of them from any one address or number


class QueueOut(BaseModel):
    waiting: list[SummaryOut]
    mine: list[SummaryOut]
    refused: RefusedOut


class TurnOut(BaseModel):
    id: int
    sender: Literal["citizen", "bot", "person"]
    author: str | None
    text: str
    created_at: str


class ConversationOut(BaseModel):
    channel: str
    language: str
    accessibility: dict[str, Any]
    started_at: str


class SourceOut(BaseModel):
    """An official page the entry's facts come from."""

    title: str
    url: str


class ServiceEntryOut(BaseModel):
    """The catalog's entry for the service at hand, in Korean, to read from while
    helping (the same facts the assistant gives citizens)."""

    id: str
    name: str
    summary: str
    who_can_apply: str
    documents: list[str]
    fee: str
    how_to_apply: str
    processing_time: str
    accessibility: str | None
    reviewed: str
    reviewed_by: str
    sources: list[SourceOut]


class DetailOut(BaseModel):
    summary: SummaryOut
    conversation: ConversationOut
    transcript: list[TurnOut]
    # What the person before wrote for whoever takes the session next (a hand-over).
    notes: str | None = None
    # Only in a full read (not in the page's updates, which ask ``after``).
    service_entry: ServiceEntryOut | None = None


class MessageIn(BaseModel):
    text: MessageText = Field(min_length=1, max_length=1000)


class VideoOut(BaseModel):
    join_url: str


class CloseIn(BaseModel):
    notes: str | None = Field(None, max_length=4000)  # for the team, never the citizen
    hand_back: bool = False
    # For the citizen: what was done and what to do next (sent with the goodbye).
    closing_words: str | None = Field(None, max_length=1000)


class DoneOut(BaseModel):
    ok: bool = True


# ---- conversions ----------------------------------------------------------------------
async def interpreter_out(services: Services, account: Account) -> InterpreterOut:
    person = await services.handoff.interpreter_for(account)
    hours = None
    if person.work_start is not None and person.work_end is not None:
        hours = f"{_hhmm(person.work_start)}-{_hhmm(person.work_end)}"
    return InterpreterOut(
        available=person.available,
        skills=list(person.skills),
        capacity=person.capacity,
        on_duty=person.on_duty(utcnow()),
        languages=list(person.languages),
        work_hours=hours,
        phone=national(person.phone) if person.phone else None,
    )


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _summary(services: Services, entry: QueueEntry, username: str, now: dt.datetime) -> SummaryOut:
    service = services.catalog.get(entry.service) if entry.service else None
    # How long the citizen waited: until someone took it, or until now.
    waited_until = entry.accepted_at or now
    return SummaryOut(
        id=entry.id,
        state=entry.state.value,
        reason=entry.reason,
        skill=entry.skill,
        service=ServiceOut(id=service.id, ko=service.name.ko, en=service.name.en)
        if service is not None
        else None,
        channel=entry.channel,
        language=entry.language,
        accessibility=dict(entry.accessibility),
        region=entry.region,
        waiting_seconds=max(0, int((waited_until - entry.created_at).total_seconds())),
        offered_to_me=entry.offered_to == username,
        contact=entry.contact,
        scheduled_for=entry.scheduled_for.isoformat() if entry.scheduled_for else None,
    )


def turn_out(turn: Turn) -> TurnOut:
    """A transcript turn as the console shows it (who wrote it, by the turn)."""
    sender: Literal["citizen", "bot", "person"]
    if turn.direction == TurnDirection.INBOUND:
        sender = "citizen"
    elif turn.author and turn.author.startswith(PERSON_AUTHOR_PREFIX):
        sender = "person"
    else:
        sender = "bot"
    return TurnOut(
        id=turn.id,
        sender=sender,
        author=turn.author,
        # Masked by HandoffService.detail (and by the store on the way in).
        text=turn.text,
        created_at=turn.created_at.isoformat(),
    )


def _detail_out(
    services: Services, detail: SessionDetail, username: str, after: int = 0
) -> DetailOut:
    conversation = detail.conversation
    return DetailOut(
        summary=_summary(services, detail.entry, username, utcnow()),
        conversation=ConversationOut(
            channel=conversation.channel,
            language=conversation.language,
            accessibility=dict(conversation.accessibility),
            started_at=conversation.created_at.isoformat(),
        ),
        transcript=[turn_out(t) for t in detail.transcript if t.id > after],
        notes=detail.entry.notes,
        service_entry=_service_entry(services, detail.entry) if after == 0 else None,
    )


def _service_entry(services: Services, entry: QueueEntry) -> ServiceEntryOut | None:
    service = services.catalog.get(entry.service) if entry.service else None
    if service is None:
        return None
    return ServiceEntryOut(
        id=service.id,
        name=service.name.ko,
        summary=service.summary.ko,
        who_can_apply=service.who_can_apply.ko,
        documents=list(service.documents.ko),
        fee=service.cost("ko"),
        how_to_apply=service.how_to_apply.ko,
        processing_time=service.processing_time.ko,
        accessibility=service.accessibility.ko if service.accessibility else None,
        reviewed=service.reviewed.isoformat(),
        reviewed_by=service.reviewed_by,
        sources=[SourceOut(title=s.title, url=s.url) for s in service.sources],
    )


# ---- routes ---------------------------------------------------------------------------
@router.get("/me", response_model=MeOut)
async def me(session: InterpreterSession, services: ServicesDep) -> MeOut:
    """Who is signed in, and whether the queue counts them as available."""
    return MeOut(
        account=account_out(session.account),
        interpreter=await interpreter_out(services, session.account),
    )


@router.post("/availability", response_model=AvailabilityOut)
async def availability(
    body: AvailabilityIn, session: InterpreterSession, services: ServicesDep
) -> AvailabilityOut:
    """Start or stop taking requests (sessions already held stay theirs)."""
    await services.handoff.set_availability(session.account, body.available)
    return AvailabilityOut(interpreter=await interpreter_out(services, session.account))


@router.get("/queue", response_model=QueueOut)
async def queue(session: InterpreterSession, services: ServicesDep) -> QueueOut:
    """Requests waiting that the caller may take, those offered to or held by them, and
    how many requests were refused in the last hour (past a limit: a flood)."""
    account = session.account
    now = utcnow()
    waiting = await services.handoff.queue_for(account)
    mine = await services.handoff.sessions_for(account)
    refused = await services.handoff.refused_recently()
    sources = Counter(e.origin_ref for e in waiting if e.origin_ref is not None)
    return QueueOut(
        waiting=[
            _summary(services, e, account.username, now).model_copy(
                update={"same_source": sources[e.origin_ref] if e.origin_ref else 1}
            )
            for e in waiting
        ],
        mine=[_summary(services, e, account.username, now) for e in mine],
        refused=RefusedOut(last_hour=refused.total, from_one_source=refused.from_one_source),
    )


@router.get("/requests/{request_id}", response_model=DetailOut)
async def request_detail(
    request_id: RequestId,
    session: InterpreterSession,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> DetailOut:
    """Context and transcript of a request offered to or held by the caller (404 else).

    ``after``: only transcript messages after that id (the page's updates). Opening the
    whole transcript is written to the audit log, and so is a person's first read of a
    request whatever ``after`` says (turn ids are global: ``after=1`` is the whole
    transcript too, review M9); the updates after that are not (they would repeat it
    for every message).
    """
    detail = await services.handoff.detail(session.account, request_id)
    if detail is None:
        raise HTTPException(404, NOT_FOUND)
    conversation_id = detail.entry.conversation_id
    if after == 0 or not await _viewed_before(
        services, session.account.id, conversation_id, request_id
    ):
        await services.accounts.record_audit(
            session.account,
            "handoff.view",
            conversation_id,
            {"request_id": request_id},
        )
    return _detail_out(services, detail, session.account.username, after)


async def _viewed_before(
    services: Services, account_id: int, conversation_id: str, request_id: int
) -> bool:
    """Whether this person's reading of this request is in the audit log already (the
    conversation narrows the query to its index: this runs on every page update)."""
    views = await services.accounts.audit_log(
        conversation_id=conversation_id, actor_id=account_id, action="handoff.view"
    )
    return any(entry.detail.get("request_id") == request_id for entry in views)


@router.post("/requests/{request_id}/accept", response_model=DetailOut)
async def accept(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> DetailOut:
    """Take a request; 409 when someone else took it or it is not the caller's to take
    (another region or skill, unavailable, at capacity, no such request)."""
    account = session.account
    # Only what their queue shows them: the queue itself checks skill and capacity but
    # not the region, and an id is easy to guess.
    if request_id not in {e.id for e in await services.handoff.queue_for(account)}:
        raise HTTPException(409, TAKEN)
    if await services.handoff.accept(account, request_id) is None:
        raise HTTPException(409, TAKEN)
    detail = await services.handoff.detail(account, request_id)
    if detail is None:  # the citizen cancelled in the same instant
        raise HTTPException(409, TAKEN)
    return _detail_out(services, detail, account.username)


@router.post("/requests/{request_id}/decline", response_model=DoneOut)
async def decline(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> DoneOut:
    """Give a request offered to the caller back to the queue (404 unless offered to them)."""
    if not await services.handoff.decline(session.account, request_id):
        raise HTTPException(404, NOT_FOUND)
    return DoneOut()


@router.post("/requests/{request_id}/dismiss-source", response_model=DismissedOut)
async def dismiss_source(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> DismissedOut:
    """End every waiting request from the same source as this one (a flood); audited.
    404 if the request is unknown, 409 if it has no recorded source (a staff walk-in)."""
    # Only a request they can see waiting (their skills and region), like accepting.
    waiting = await services.handoff.queue_for(session.account)
    if all(entry.id != request_id for entry in waiting):
        raise HTTPException(404, NOT_FOUND)
    dismissed = await services.handoff.dismiss_same_source(session.account, request_id)
    if dismissed is None:
        raise HTTPException(409, NO_SOURCE)
    return DismissedOut(dismissed=len(dismissed))


@router.post("/requests/{request_id}/messages", response_model=TurnOut)
async def send_message(
    request_id: RequestId, body: MessageIn, session: InterpreterSession, services: ServicesDep
) -> TurnOut:
    """Write to the citizen over their own channel (404 unless the caller holds it)."""
    turn = await services.handoff.send_to_citizen(session.account, request_id, body.text)
    if turn is None:
        raise HTTPException(404, NOT_FOUND)
    return turn_out(turn)


@router.post("/requests/{request_id}/video", response_model=VideoOut)
async def start_video(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> VideoOut:
    """Send the citizen a video-call link; the link (404 unless the caller holds it)."""
    url = await services.handoff.start_video(session.account, request_id)
    if url is None:
        raise HTTPException(404, NOT_FOUND)
    return VideoOut(join_url=url)


@router.post("/requests/{request_id}/close", response_model=DoneOut)
async def close(
    request_id: RequestId, body: CloseIn, session: InterpreterSession, services: ServicesDep
) -> DoneOut:
    """End a held session with notes; ``hand_back`` lets the bot speak again."""
    notes = body.notes.strip() if body.notes else None
    words = body.closing_words.strip() if body.closing_words else None
    closed = await services.handoff.close(
        session.account, request_id, notes or None, body.hand_back, closing_words=words or None
    )
    if not closed:
        raise HTTPException(404, NOT_FOUND)
    services.video.end(request_id)  # an open video call ends with the session
    return DoneOut()


# How often an idle console socket re-checks its session (review L14): a sign-out or a
# disabled account closes it within this time even when no notification comes.
SESSION_RECHECK_SECONDS = 5.0
_CONSOLE_ROLES = (Role.INTERPRETER, Role.STAFF)


class _SessionCheck:
    """Whether a console socket's session still holds; closes the socket once if not.

    One per socket, shared by its loops. A check is one account-store read, done before
    each batch of notifications, on every ``ping`` and on a timer while idle: never per
    frame.
    """

    def __init__(self, websocket: WebSocket, services: Services, session: WebSession) -> None:
        self._websocket = websocket
        self._services = services
        self._token = session.token
        self.closed = False

    async def holds(self) -> bool:
        """True while the session is live (not signed out or expired), its account
        enabled and still of a console role; else close with 4401 and return False."""
        if self.closed:
            return False
        current = await self._services.accounts.session(self._token)
        if current is not None and current.account.role in _CONSOLE_ROLES:
            return True
        if not self.closed:  # another loop may have closed it during the read
            self.closed = True
            await self._websocket.close(code=4401, reason="signed out")
        return False


@router.websocket("/ws")
async def live(websocket: WebSocket, services: WsServicesDep) -> None:
    """Notifications for the console: queue changes and the caller's own requests.

    Only ``{"type": "changed" | "message", "request_id": ...}`` is forwarded; the page
    fetches the rest through the routes above. The session is re-checked before each
    batch of notifications, on every text ``ping`` (answered ``pong``) and every
    ``SESSION_RECHECK_SECONDS`` while idle, so a signed-out or disabled account loses
    the socket (4401) before it is told anything more (review L14). A ``ping`` also
    marks the person present for the sessions they hold (else those time out).
    """
    session = await websocket_session(websocket, *_CONSOLE_ROLES)
    await websocket.accept()  # before closing, so the browser sees the code
    if session is None:
        await websocket.close(code=4401, reason="sign in")
        return
    topics = (HANDOFF_QUEUE_TOPIC, person_topic(session.account.username))
    queues = [(topic, services.push.subscribe(topic)) for topic in topics]
    check = _SessionCheck(websocket, services, session)

    async def forward(queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            batch = [await queue.get()]
            # What is already waiting goes out after the same one check.
            while not queue.empty():
                batch.append(queue.get_nowait())
            notes = [
                {"type": event["type"], "request_id": event.get("request_id")}
                for event in batch
                if event.get("type") in _FORWARDED_TYPES
            ]
            if not notes:
                continue
            if not await check.holds():
                return
            for note in notes:
                await websocket.send_json(note)

    async def listen(current: WebSession) -> None:
        while True:
            data = await websocket.receive_text()
            if data == "ping":
                if not await check.holds():
                    return
                # An open console is a person still there for the sessions they hold.
                await services.handoff.present(current.account)
                await websocket.send_text("pong")

    async def recheck() -> None:
        while True:
            await asyncio.sleep(SESSION_RECHECK_SECONDS)
            if not await check.holds():
                return

    try:
        await run_until_first_ends(*(forward(q) for _, q in queues), listen(session), recheck())
    finally:
        for topic, q in queues:
            services.push.unsubscribe(topic, q)
        log.debug("console.ws_closed", username=session.account.username)


@page_router.get("/interpreter")
async def page(
    _: Annotated[WebSession, Depends(page_guard(Role.INTERPRETER, Role.STAFF))],
) -> FileResponse:
    """The interpreter console (interpreters and staff; others are sent to sign in)."""
    return FileResponse(
        STATIC_DIR / "interpreter.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )
