"""Web chat adapter: a JSON API, a WebSocket for pushed messages, and the page at ``/``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, HTTPException, Query, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from assistant.api.deps import CoreDep, ServicesDep, WsServicesDep
from assistant.api.schemas import ButtonOut, MessageText
from assistant.api.sockets import run_until_first_ends
from assistant.conversation import ConversationNotFound
from assistant.messages import IncomingMessage, OutgoingMessage
from assistant.push import PushHub
from assistant.store import Turn

CHANNEL = "webchat"
STATIC_DIR = Path(__file__).resolve().parent / "webchat_static"

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/webchat", tags=["webchat"])
page_router = APIRouter(include_in_schema=False)

SessionId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]


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


class SessionIn(BaseModel):
    language: Literal["ko", "en"] = "ko"
    accessibility: dict[str, bool] = Field(default_factory=dict, max_length=16)


class SessionOut(BaseModel):
    session_id: str
    language: str
    accessibility: dict[str, Any] = Field(default_factory=dict)


class SessionPatch(BaseModel):
    """Settings the citizen changes during a conversation (omitted ones stay)."""

    language: Literal["ko", "en"] | None = None
    # Merged into what is kept: {"easy_read": true} shapes the bot's answers.
    accessibility: dict[str, bool] | None = Field(None, max_length=16)


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


@router.post("/sessions", status_code=201, response_model=SessionOut)
async def create_session(body: SessionIn, core: CoreDep) -> SessionOut:
    """Open a web chat conversation."""
    conversation = await core.start(
        CHANNEL, address="web", language=body.language, accessibility=body.accessibility
    )
    return SessionOut(
        session_id=conversation.id,
        language=conversation.language,
        accessibility=conversation.accessibility,
    )


@router.patch("/sessions/{session_id}", response_model=SessionOut)
async def update_session(session_id: SessionId, body: SessionPatch, core: CoreDep) -> SessionOut:
    """Change the conversation's language or settings (easy read) between messages."""
    conversation = await core.get(session_id)
    if conversation is None:
        raise HTTPException(404, "no such session")
    language = body.language or conversation.language
    if body.language is not None and body.language != conversation.language:
        await core.set_language(session_id, body.language)
    accessibility = conversation.accessibility
    if body.accessibility is not None:
        accessibility = {**accessibility, **body.accessibility}
        await core.set_accessibility(session_id, accessibility)
    return SessionOut(session_id=session_id, language=language, accessibility=accessibility)


@router.post("/sessions/{session_id}/messages", response_model=TurnOut)
async def send_message(session_id: SessionId, body: MessageIn, core: CoreDep) -> TurnOut:
    """Send a citizen's message; the bot's replies come back in the response."""
    message = IncomingMessage(
        conversation_id=session_id,
        text=body.text,
        channel=CHANNEL,
        payload=body.payload,
        client_message_id=body.client_message_id,
    )
    try:
        result = await core.handle(message)
    except ConversationNotFound as exc:
        raise HTTPException(404, "no such session") from exc
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
    session_id: SessionId, services: ServicesDep, after: Annotated[int, Query(ge=0)] = 0
) -> TranscriptOut:
    """The transcript, optionally only messages after id ``after`` (for reconnects)."""
    conversation = await services.store.get_conversation(session_id)
    if conversation is None:
        raise HTTPException(404, "no such session")
    turns = await services.store.transcript(session_id, after_id=after)
    return TranscriptOut(
        session_id=session_id,
        language=conversation.language,
        accessibility=conversation.accessibility,
        messages=[_turn_out(t) for t in turns],
    )


class HandoffOut(BaseModel):
    """The citizen's open request for a person, if any (for the status banner)."""

    status: dict[str, Any] | None


@router.get("/sessions/{session_id}/handoff", response_model=HandoffOut)
async def handoff_status(session_id: SessionId, services: ServicesDep) -> HandoffOut:
    """Place in the queue and estimated wait of the session's request for a person.

    Changes are also pushed live on the session's WebSocket ({"type": "handoff"}).
    """
    if await services.store.get_conversation(session_id) is None:
        raise HTTPException(404, "no such session")
    status = await services.handoff.status(session_id)
    return HandoffOut(status=status.as_json() if status else None)


@router.websocket("/sessions/{session_id}/ws")
async def push_socket(websocket: WebSocket, session_id: str, services: WsServicesDep) -> None:
    """Messages pushed to the citizen (answers to kept messages, later: people's replies)."""
    if len(session_id) != 32 or await services.store.get_conversation(session_id) is None:
        await websocket.close(code=4404, reason="no such session")
        return
    await websocket.accept()
    queue = services.push.subscribe(session_id)

    async def forward() -> None:
        while True:
            await websocket.send_json(await queue.get())

    async def drain_client() -> None:
        # The socket is push-only; reading detects the client leaving.
        while True:
            data: Any = await websocket.receive_text()
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
