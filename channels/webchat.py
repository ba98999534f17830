"""Web chat adapter: a JSON API, a WebSocket for pushed messages, and the page at ``/``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, HTTPException, Query, Request, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from assistant import continuation
from assistant.api.deps import ServicesDep, WsServicesDep
from assistant.api.ratelimit import FrameBudget, client_address
from assistant.api.schemas import ButtonOut, MessageText, refusals
from assistant.api.sockets import run_until_first_ends
from assistant.conversation import ConversationNotFound
from assistant.messages import IncomingMessage, OutgoingMessage
from assistant.push import PushHub
from assistant.services import Services
from assistant.store import Conversation, Turn
from assistant.store.base import utcnow

CHANNEL = "webchat"
STATIC_DIR = Path(__file__).resolve().parent / "webchat_static"

log = structlog.get_logger(__name__)
router = APIRouter(
    prefix="/api/webchat", tags=["webchat"], responses=refusals(404, 410, 413, 422, 429)
)
page_router = APIRouter(include_in_schema=False)

SessionId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
NO_SESSION = "no such session"
# The page tells the citizen in their language; "expired" is what it looks for.
SESSION_EXPIRED = (
    "This conversation expired after {hours} hours without messages; start a new one. "
    "새 메시지가 없어 이 대화는 끝났습니다. 새 대화를 시작하세요."
)
# WebSocket close code for "past the limit" (4000–4999 are the application's; 4429 reads
# as HTTP's 429). The page reconnects with backoff.
SOCKET_TOO_MANY = 4429
LINK_REFUSED = (
    "This link has expired or was already used. A new conversation was not opened. "
    "이 링크는 기한이 지났거나 이미 쓰였습니다."
)


async def webchat_conversation(services: Services, session_id: str) -> Conversation | None:
    """The web chat conversation ``session_id``; None for any other channel's, and for
    one that expired (see ``_find``)."""
    conversation, _ = await _find(services, session_id)
    return conversation


async def _find(services: Services, session_id: str) -> tuple[Conversation | None, str]:
    """The conversation, or None and why not (the 404's words).

    A session id is the web chat's bearer credential. An SMS, phone or desk
    conversation is never served here by its id (those ids reach staff screens and
    texted links): a citizen continues one on the web through a continuation link,
    which opens a new web chat conversation (``assistant/continuation.py``). And an id
    stops working after ``SOTONG_WEBCHAT_IDLE_HOURS`` without a message, so the next
    person at a shared device cannot read or continue it (review M6) — unless the
    citizen is waiting for a person or an appointment, whose news reaches this page.
    """
    conversation = await services.store.get_conversation(session_id)
    if conversation is None or conversation.channel != CHANNEL:
        return None, NO_SESSION
    hours = services.settings.webchat_idle_hours
    limit = dt.timedelta(hours=hours)
    # Every request of the page passes here: a conversation changed within the limit
    # needs no look at its turns (its last activity is at least that recent).
    if utcnow() - conversation.updated_at <= limit:
        return conversation, ""
    idle = utcnow() - await services.store.last_activity(conversation)
    if idle > limit and await services.handoff.active(session_id) is None:
        return None, SESSION_EXPIRED.format(hours=f"{hours:g}")
    return conversation, ""


async def _own(services: Services, session_id: str) -> Conversation:
    conversation, why = await _find(services, session_id)
    if conversation is None:
        raise HTTPException(404, why)
    return conversation


class MessageOut(BaseModel):
    """One message of the transcript as the page shows it."""

    id: int | None
    # "person": an interpreter or staff member holding the conversation wrote it.
    sender: Literal["citizen", "bot", "person"]
    text: str
    buttons: list[ButtonOut] = []
    created_at: str | None = None
    # The page's own id of a citizen's message: a reload or reconnect matches it with
    # the copy the page still holds (an answer lost on the way is not shown twice).
    client_message_id: str | None = None


class AccessibilityIn(BaseModel):
    """What a citizen may set on the web chat: the needs the other channels know
    (``profiles.ACCESSIBILITY_KEYS``) and easy read, each yes or no. Anything else is
    refused (422), so nobody can store arbitrary keys or sizes through this API."""

    model_config = ConfigDict(extra="forbid")

    easy_read: StrictBool | None = None
    deaf: StrictBool | None = None
    hard_of_hearing: StrictBool | None = None
    low_vision: StrictBool | None = None
    short_messages: StrictBool | None = None
    easy_words: StrictBool | None = None
    slow_speech: StrictBool | None = None

    def given(self) -> dict[str, bool]:
        """The settings that were sent."""
        return self.model_dump(exclude_none=True)


class SessionIn(BaseModel):
    language: Literal["ko", "en"] = "ko"
    accessibility: AccessibilityIn = Field(default_factory=AccessibilityIn)
    # A continuation link's token (``/?continue=…``, texted from a call or an SMS
    # conversation): the new conversation carries that one on, in its language.
    continue_token: str | None = Field(None, pattern=continuation.LINK_SHAPE)


class SessionOut(BaseModel):
    session_id: str
    language: str
    accessibility: dict[str, Any] = Field(default_factory=dict)


class SessionPatch(BaseModel):
    """Settings the citizen changes during a conversation (omitted ones stay)."""

    language: Literal["ko", "en"] | None = None
    # Merged into what is kept: {"easy_read": true} shapes the bot's answers.
    accessibility: AccessibilityIn | None = None


class MessageIn(BaseModel):
    text: MessageText = Field(min_length=1, max_length=2000)
    payload: str | None = Field(None, max_length=500)
    client_message_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class TurnOut(BaseModel):
    session_id: str
    language: str
    inbound_id: int
    degraded: bool
    duplicate: bool
    messages: list[MessageOut]


class TranscriptOut(BaseModel):
    session_id: str
    language: str
    accessibility: dict[str, Any] = Field(default_factory=dict)
    messages: list[MessageOut]


def _reply_out(message: OutgoingMessage) -> MessageOut:
    return MessageOut(
        id=message.turn_id,
        sender="person" if message.author else "bot",
        text=message.text,
        buttons=[ButtonOut(title=b.title, payload=b.payload) for b in message.buttons],
    )


def _sender(turn: Turn) -> Literal["citizen", "bot", "person"]:
    if turn.direction == "inbound":
        return "citizen"
    return "person" if turn.author else "bot"


def _turn_out(turn: Turn) -> MessageOut:
    return MessageOut(
        id=turn.id,
        sender=_sender(turn),
        text=turn.text,
        buttons=[ButtonOut(title=b.title, payload=b.payload) for b in turn.buttons],
        created_at=turn.created_at.isoformat(),
        client_message_id=turn.client_message_id,
    )


class WebchatOutput:
    """Delivers messages that come outside a request (e.g. answers to kept messages)."""

    def __init__(self, hub: PushHub) -> None:
        self._hub = hub

    async def send(self, conversation_id: str, message: OutgoingMessage) -> None:
        self._hub.publish(
            conversation_id, {"type": "message", "message": _reply_out(message).model_dump()}
        )


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    responses={410: {"description": "The continuation link has expired or was used"}},
)
async def create_session(body: SessionIn, request: Request, services: ServicesDep) -> SessionOut:
    """Open a web chat conversation (with ``continue_token``: one that carries a call's
    or an SMS conversation on; 410 when that link cannot be used; 429 past the limit)."""
    await services.limits.check(services.limits.sessions, request)
    if body.continue_token is None:
        conversation = await services.core.start(
            CHANNEL,
            address="web",
            language=body.language,
            accessibility=body.accessibility.given(),
        )
    else:
        try:
            conversation = await continuation.open_continuation(
                services,
                body.continue_token,
                channel=CHANNEL,
                accessibility=body.accessibility.given(),
            )
        except continuation.ContinuationRefused as exc:
            log.info("webchat.continue_refused", reason=str(exc))
            raise HTTPException(410, LINK_REFUSED) from exc
    return SessionOut(
        session_id=conversation.id,
        language=conversation.language,
        accessibility=conversation.accessibility,
    )


@router.patch("/sessions/{session_id}", response_model=SessionOut)
async def update_session(
    session_id: SessionId, body: SessionPatch, services: ServicesDep
) -> SessionOut:
    """Change the conversation's language or settings (easy read) between messages."""
    conversation = await _own(services, session_id)
    core = services.core
    language = body.language or conversation.language
    if body.language is not None and body.language != conversation.language:
        await core.set_language(session_id, body.language)
    accessibility = conversation.accessibility
    if body.accessibility is not None:
        accessibility = {**accessibility, **body.accessibility.given()}
        await core.set_accessibility(session_id, accessibility)
    return SessionOut(session_id=session_id, language=language, accessibility=accessibility)


@router.post("/sessions/{session_id}/messages", response_model=TurnOut)
async def send_message(
    session_id: SessionId, body: MessageIn, request: Request, services: ServicesDep
) -> TurnOut:
    """Send a citizen's message; the bot's replies come back in the response (429 past
    the limit: the message is not stored, and the page keeps it to send again)."""
    await services.limits.check(services.limits.messages, request, session_id)
    await _own(services, session_id)
    message = IncomingMessage(
        conversation_id=session_id,
        text=body.text,
        channel=CHANNEL,
        payload=body.payload,
        client_message_id=body.client_message_id,
        origin=client_address(request),
    )
    try:
        result = await services.core.handle(message)
    except ConversationNotFound as exc:
        raise HTTPException(404, NO_SESSION) from exc
    return TurnOut(
        session_id=session_id,
        language=result.language,
        inbound_id=result.inbound_turn_id,
        degraded=result.degraded,
        duplicate=result.duplicate,
        messages=[_reply_out(r) for r in result.replies],
    )


@router.get("/sessions/{session_id}/messages", response_model=TranscriptOut)
async def transcript(
    session_id: SessionId, services: ServicesDep, after: Annotated[int, Query(ge=0, le=2**62)] = 0
) -> TranscriptOut:
    """The transcript, optionally only messages after id ``after`` (for reconnects)."""
    conversation = await _own(services, session_id)
    turns = await services.store.transcript(session_id, after_id=after)
    return TranscriptOut(
        session_id=session_id,
        language=conversation.language,
        accessibility=conversation.accessibility,
        messages=[_turn_out(t) for t in turns],
    )


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "No such web chat session"}},
)
async def end_session(session_id: SessionId, request: Request, services: ServicesDep) -> Response:
    """End the conversation and erase it ("end and forget on this device"): its
    transcript, the dialogue's memory of it, and any request for a person (cancelled
    first, so the person's console is told). Works on an expired id too: the holder of
    an id may always erase it."""
    await services.limits.check(services.limits.messages, request, session_id)
    conversation = await services.store.get_conversation(session_id)
    if conversation is None or conversation.channel != CHANNEL:
        raise HTTPException(404, NO_SESSION)
    await services.handoff.cancel(session_id)
    await services.retention.erase([session_id])
    services.push.publish(session_id, {"type": "ended"})  # other tabs of it start anew
    log.info("webchat.ended", conversation_id=session_id)
    return Response(status_code=204)


class HandoffOut(BaseModel):
    """The citizen's open request for a person, if any (for the status banner)."""

    status: dict[str, Any] | None


@router.get("/sessions/{session_id}/handoff", response_model=HandoffOut)
async def handoff_status(session_id: SessionId, services: ServicesDep) -> HandoffOut:
    """Place in the queue and estimated wait of the session's request for a person.

    Changes are also pushed live on the session's WebSocket ({"type": "handoff"}).
    """
    await _own(services, session_id)
    status = await services.handoff.status(session_id)
    return HandoffOut(status=status.as_json() if status else None)


@router.websocket("/sessions/{session_id}/ws")
async def push_socket(websocket: WebSocket, session_id: str, services: WsServicesDep) -> None:
    """Messages pushed to the citizen (answers to kept messages, later: people's replies)."""
    limits = services.limits
    if await limits.retry_after(limits.sockets, client_address(websocket)):
        await websocket.close(code=SOCKET_TOO_MANY, reason="too many connections: try later")
        return
    if len(session_id) != 32 or await webchat_conversation(services, session_id) is None:
        await websocket.close(code=4404, reason=NO_SESSION)
        return
    await websocket.accept()
    queue = services.push.subscribe(session_id)
    budget = FrameBudget(limits.frames_per_second)

    async def forward() -> None:
        while True:
            await websocket.send_json(await queue.get())

    async def drain_client() -> None:
        # The socket is push-only: the page sends "ping" (answered) and nothing else;
        # other frames are dropped. A client past its frame budget is closed.
        while True:
            data: Any = await websocket.receive_text()
            if not budget.take():
                log.warning("abuse.socket_frames", action="webchat.socket")
                await websocket.close(code=SOCKET_TOO_MANY, reason="too many frames")
                return
            if data == "ping":
                await websocket.send_text("pong")

    try:
        await run_until_first_ends(forward(), drain_client())
    finally:
        services.push.unsubscribe(session_id, queue)


@page_router.get("/")
async def page() -> FileResponse:
    """The citizen web chat."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")
