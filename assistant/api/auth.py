"""Who is signed in to a console, and what they may do: FastAPI dependencies.

A console browser holds one cookie (``sotong_console``: HttpOnly, SameSite=Strict) whose
value is a session token; the account store keeps only its hash. Every unsafe request
(POST, PUT, PATCH, DELETE) must also echo the session's CSRF token in the
``X-CSRF-Token`` header, which a page on another site cannot read or send. WebSockets
carry no custom headers, so they are checked by Origin instead.

API routes::

    @router.post("/thing")
    async def thing(session: InterpreterSession) -> ...

HTML pages::

    @page_router.get("/interpreter")
    async def page(_: Annotated[WebSession, Depends(page_guard(Role.INTERPRETER, Role.STAFF))])
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from html import escape
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from assistant.accounts import Role, WebSession

SESSION_COOKIE = "sotong_console"
# The same cookie whenever it is Secure (https, and always in production): the __Host-
# prefix makes browsers refuse it unless Secure, Path=/ and without Domain, so no other
# host under the domain (a subdomain someone else runs) can set or shadow it (review M5).
HOST_SESSION_COOKIE = "__Host-sotong_console"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALL_ROLES: tuple[Role, ...] = tuple(Role)

NOT_SIGNED_IN = "로그인이 필요합니다. / Please sign in."
WRONG_ROLE = "이 기능을 쓸 권한이 없습니다. / Your account may not use this."
BAD_CSRF = (
    "보안 확인(CSRF 토큰)이 없거나 맞지 않습니다. 페이지를 새로 고치세요. / "
    "Security check (CSRF token) missing or wrong. Reload the page."
)
_STATE_KEY = "console_session"


def session_cookie(settings: Any, scheme: str) -> str:
    """The session cookie's name for a request over ``scheme`` (http/https/ws/wss)."""
    secure = scheme in ("https", "wss") or getattr(settings, "env", "") == "production"
    return HOST_SESSION_COOKIE if secure else SESSION_COOKIE


async def current_session(request: Request) -> WebSession | None:
    """The live session of the request's cookie, or None (read once per request)."""
    if hasattr(request.state, _STATE_KEY):
        cached: WebSession | None = getattr(request.state, _STATE_KEY)
        return cached
    services = request.app.state.services
    token = request.cookies.get(session_cookie(services.settings, request.url.scheme))
    found = await services.accounts.session(token) if token else None
    setattr(request.state, _STATE_KEY, found)
    return found


def csrf_ok(request: Request, session: WebSession) -> bool:
    """The request echoes the session's CSRF token (compared in constant time)."""
    sent = request.headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(sent.encode("utf-8"), session.csrf_token.encode("utf-8"))


def require_role(*roles: Role) -> Callable[[Request], Awaitable[WebSession]]:
    """A dependency giving the request's session if its account has one of ``roles``.

    401 without a live session, 403 for another role, and 403 for an unsafe method
    without the right ``X-CSRF-Token`` header.
    """
    allowed = frozenset(roles or ALL_ROLES)

    async def dependency(request: Request) -> WebSession:
        session = await current_session(request)
        if session is None:
            raise HTTPException(401, NOT_SIGNED_IN)
        if session.account.role not in allowed:
            raise HTTPException(403, WRONG_ROLE)
        if request.method.upper() in UNSAFE_METHODS and not csrf_ok(request, session):
            raise HTTPException(403, BAD_CSRF)
        return session

    return dependency


# Interpreters and staff both take handoff sessions.
InterpreterSession = Annotated[WebSession, Depends(require_role(Role.INTERPRETER, Role.STAFF))]
StaffSession = Annotated[WebSession, Depends(require_role(Role.STAFF))]
AdminSession = Annotated[WebSession, Depends(require_role(Role.ADMIN))]
AnySession = Annotated[WebSession, Depends(require_role(*ALL_ROLES))]


class PageDenied(HTTPException):
    """A page refused: a redirect to the sign-in page, or a 403 page.

    It is an HTTPException, so even without ``page_denied_handler`` installed the
    redirect works (FastAPI's default handler keeps the Location header); with it, a
    wrong role gets a readable HTML page instead of JSON.
    """

    def __init__(self, response: Response) -> None:
        # Only Location travels with the fallback JSON; the response's own length and
        # type headers would not fit that body.
        location = response.headers.get("location")
        super().__init__(response.status_code, headers={"Location": location} if location else None)
        self.response = response


async def page_denied_handler(_: Request, exc: Exception) -> Response:
    """Exception handler for PageDenied: ``app.add_exception_handler(PageDenied, ...)``."""
    if isinstance(exc, PageDenied):
        return exc.response
    raise exc


def _forbidden_page(session: WebSession) -> HTMLResponse:
    name = escape(session.account.name)
    body = f"""<!doctype html>
<html lang="ko">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>권한 없음 / Not allowed — 소통 Sotong</title></head>
<body>
<main>
<h1>이 화면을 볼 권한이 없습니다</h1>
<p>{name} 님의 계정으로는 이 화면을 쓸 수 없습니다. 관리자에게 문의하세요.</p>
<h2 lang="en">You may not use this page</h2>
<p lang="en">The account of {name} does not have access to this page. Ask an administrator.</p>
<p><a href="/login">다른 계정으로 로그인 / Sign in with another account</a></p>
</main>
</body>
</html>
"""
    return HTMLResponse(body, status_code=403)


def page_guard(*roles: Role) -> Callable[[Request], Awaitable[WebSession]]:
    """A dependency for HTML pages: without a session, a 303 redirect to
    ``/login?next=<this path>``; with another role, a 403 page (Korean and English)."""
    allowed = frozenset(roles or ALL_ROLES)

    async def dependency(request: Request) -> WebSession:
        session = await current_session(request)
        if session is None:
            target = request.url.path
            if request.url.query:
                target += f"?{request.url.query}"
            location = f"/login?next={quote(target, safe='')}"
            raise PageDenied(RedirectResponse(location, status_code=303))
        if session.account.role not in allowed:
            raise PageDenied(_forbidden_page(session))
        return session

    return dependency


def _same_origin(websocket: WebSocket) -> bool:
    """The page that opened the socket is ours: its Origin names this host (or the
    public URL). A browser always sends Origin on a WebSocket; a missing one is refused."""
    origin = websocket.headers.get("origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    netloc = parts.netloc.lower()
    allowed = {websocket.headers.get("host", "").lower()}
    services: Any = getattr(websocket.app.state, "services", None)
    public_url = getattr(getattr(services, "settings", None), "public_url", None)
    if public_url:
        allowed.add(urlsplit(public_url).netloc.lower())
    return netloc in allowed


async def websocket_session(websocket: WebSocket, *roles: Role) -> WebSession | None:
    """The session of a console WebSocket, or None (the caller closes with 4401).

    Needs the session cookie, an Origin of this site (a page on another site could
    otherwise open the socket with the console's cookie: cross-site WebSocket hijacking)
    and one of ``roles``.
    """
    if not _same_origin(websocket):
        return None
    services = websocket.app.state.services
    token = websocket.cookies.get(session_cookie(services.settings, websocket.url.scheme))
    if not token:
        return None
    session: WebSession | None = await services.accounts.session(token)
    if session is None or session.account.role not in frozenset(roles or ALL_ROLES):
        return None
    return session
