"""Video calls for handoffs: the citizen's join page and the signalling WebSocket.

The citizen opens ``/video/<request id>?t=<token>`` (the link the person holding their
request sent them; see ``assistant.video.tokens``). Both browsers then connect to
``/api/video/<request id>/ws``: the citizen with ``?role=citizen&t=<token>``, the
interpreter or staff member with ``?role=person`` and their console cookie. The
gateway relays only signalling (``assistant.video.signalling``); audio and video go
browser to browser (through a TURN server where a direct path is blocked: each socket's
``welcome`` carries ``SOTONG_ICE_SERVERS`` and, with ``SOTONG_TURN_SECRET``, a TURN
credential of its own that expires; ``assistant.video.turn``, review L9).

The person's socket re-checks, every ``SESSION_RECHECK_SECONDS``, that their console
session still holds and that they still hold the request, as the console's own socket
does: a sign-out or a disabled account closes it with 4401 (review L9).

Close codes of the socket: 4401 not signed in (person), 4403 a bad or expired link, a
wrong role or a request the person does not hold, 4404 no such request or it is over,
4409 replaced by a newer connection of the same role (opened elsewhere; the other side
is told ``peer-replaced``), 4410 the call was ended.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response

from assistant.accounts import Role, WebSession
from assistant.api.auth import websocket_session
from assistant.api.deps import ServicesDep, WsServicesDep
from assistant.api.sockets import run_until_first_ends
from assistant.services import Services
from assistant.video.signalling import (
    CITIZEN,
    PERSON,
    Close,
    SignallingConnection,
    SignallingHub,
)
from assistant.video.tokens import check_join_token
from assistant.video.turn import ice_servers

STATIC_DIR = Path(__file__).resolve().parent / "video_static"

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
# How often the person's socket re-checks their session and hold on the request, as
# the console socket does (assistant/api/routes/console.py, review L14): a sign-out or
# a disabled account ends their side of the call within this time.
SESSION_RECHECK_SECONDS = 5.0
_PERSON_ROLES = (Role.INTERPRETER, Role.STAFF)

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/video", tags=["video"])
page_router = APIRouter(include_in_schema=False)

RequestId = Annotated[int, PathParam(ge=1, le=2**53)]
# The join link is a capability in the address bar: keep it out of caches and
# Referer headers; the page loads nothing from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' blob: mediastream:; object-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Permissions-Policy": "camera=(self), microphone=(self)",
}


def _message_page(title_ko: str, body_ko: str, title_en: str, body_en: str) -> str:
    return f"""<!doctype html>
<html lang="ko">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title_ko} · {title_en} — 소통 Sotong</title>
  <link rel="stylesheet" href="/static/video/video.css">
</head>
<body>
  <main class="notice">
    <h1>{title_ko}</h1>
    <p>{body_ko}</p>
    <p>듣거나 말하기 어려우면 <strong>107 손말이음센터</strong>를 이용할 수 있습니다.
      24시간, 영상 통화나 문자로 수어 통역과 전화 중계를 해 줍니다.</p>
    <h2 lang="en">{title_en}</h2>
    <p lang="en">{body_en}</p>
    <p lang="en">If hearing or speaking is hard for you, the <strong>107 relay centre</strong>
      (손말이음센터) relays calls and interprets sign language by video or text, day and
      night.</p>
    <p><a class="button" href="/">채팅으로 돌아가기 · Back to the chat</a></p>
  </main>
</body>
</html>
"""


LINK_REFUSED = _message_page(
    "이 링크로는 통화에 들어갈 수 없습니다",
    "링크가 잘못되었거나 시간이 지나 끝났습니다. 채팅이나 문자에서 통역사에게 새 링크를 "
    "부탁하세요.",
    "This link cannot open the call",
    "The link is wrong or has expired. Ask the interpreter for a new link in the chat or by "
    "text message.",
)
CALL_OVER = _message_page(
    "이 통화는 끝났습니다",
    "상담이 끝나서 이 링크는 더 쓸 수 없습니다. 더 도움이 필요하면 채팅에서 다시 요청하세요.",
    "This call has ended",
    "The session is over, so this link no longer works. If you need more help, ask again in "
    "the chat.",
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _request_open(services: Services, request_id: int) -> bool:
    """The handoff request exists and is not over (a call belongs to a live request)."""
    entry = await services.handoff.queue.get(request_id)
    return entry is not None and not entry.state.is_final


@page_router.get("/video/{request_id}", response_model=None)
async def join_page(
    request_id: RequestId,
    services: ServicesDep,
    t: Annotated[str | None, Query()] = None,
) -> Response:
    """The citizen's side of the call, opened from the signed link they were sent."""
    if not check_join_token(services.signing_key, request_id, t, _now()):
        return HTMLResponse(LINK_REFUSED, status_code=403, headers=PAGE_HEADERS)
    if not await _request_open(services, request_id):
        return HTMLResponse(CALL_OVER, status_code=410, headers=PAGE_HEADERS)
    return FileResponse(
        STATIC_DIR / "join.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
    )


async def _admit(
    websocket: WebSocket, services: Services, request_id: int, role: str, token: str | None
) -> tuple[int | None, WebSession | None]:
    """(None, the person's session or None) if this socket may join the call as
    ``role``, else (the close code, None)."""
    session = None
    if role == CITIZEN:
        if not check_join_token(services.signing_key, request_id, token, _now()):
            return CLOSE_FORBIDDEN, None
    elif role == PERSON:
        session = await websocket_session(websocket, *_PERSON_ROLES)
        if session is None:
            return CLOSE_NOT_SIGNED_IN, None
        if not await services.handoff.holds(session.account, request_id):
            return CLOSE_FORBIDDEN, None
    else:
        return CLOSE_FORBIDDEN, None
    if not await _request_open(services, request_id):
        return CLOSE_NOT_FOUND, None
    return None, session


async def _person_still_there(
    services: Services, session: WebSession, request_id: int
) -> Close | None:
    """None while the person's session is live, their account enabled and of a console
    role, and they hold the request; else how to close their socket."""
    current = await services.accounts.session(session.token)
    if current is None or current.account.role not in _PERSON_ROLES:
        return Close(CLOSE_NOT_SIGNED_IN, "signed out")
    if not await services.handoff.holds(current.account, request_id):
        return Close(CLOSE_FORBIDDEN, "no longer holds this request")
    return None


async def _watch_person(
    services: Services,
    hub: SignallingHub,
    connection: SignallingConnection,
    session: WebSession,
) -> None:
    """Re-check the person every SESSION_RECHECK_SECONDS; once they are gone, close
    their connection (the writer sends the close) and wait to be cancelled."""
    while True:
        await asyncio.sleep(SESSION_RECHECK_SECONDS)
        close = await _person_still_there(services, session, connection.request_id)
        if close is not None:
            log.info(
                "video.person_gone",
                request_id=connection.request_id,
                username=session.account.username,
                code=close.code,
            )
            hub.close(connection, close)
            await asyncio.Event().wait()


@router.websocket("/{request_id}/ws")
async def signalling_socket(
    websocket: WebSocket,
    request_id: int,
    services: WsServicesDep,
    role: str = "",
    t: str | None = None,
) -> None:
    """Signalling for one request's call (see the module docstring for the protocol)."""
    # Accept before refusing, so the browser sees the close code (a refused handshake
    # is only "1006" to a page) and does not retry what cannot succeed.
    await websocket.accept()
    code, session = await _admit(websocket, services, request_id, role, t)
    if code is not None:
        log.info("video.refused", request_id=request_id, role=role, code=code)
        await websocket.close(code=code)
        return
    hub: SignallingHub = services.video
    welcome = {
        "type": "welcome",
        "role": role,
        # Perfect negotiation: the citizen's browser gives way when both offer at once.
        "polite": role == CITIZEN,
        "ice_servers": ice_servers(
            services.settings, time.time(), request_id=request_id, role=role
        ),
    }
    connection = hub.join(request_id, role, greeting=welcome)
    loops = [_write(websocket, connection), _read(websocket, hub, connection)]
    if session is not None:
        loops.append(_watch_person(services, hub, connection, session))
    try:
        await run_until_first_ends(*loops)
    finally:
        hub.leave(connection)


async def _write(websocket: WebSocket, connection: SignallingConnection) -> None:
    while True:
        item = await connection.next()
        if isinstance(item, Close):
            await websocket.close(code=item.code, reason=item.reason)
            return
        await websocket.send_json(item)


async def _read(websocket: WebSocket, hub: SignallingHub, connection: SignallingConnection) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        hub.receive(connection, text if text is not None else message.get("bytes") or b"")
