"""Console sign-in: ``/api/auth`` (login, logout, who am I) and the ``/login`` page.

Sign-in is JSON only and needs the header ``X-Requested-With: sotong``: a form on
another site can neither set that header nor send JSON without a CORS preflight, which
this API never grants, so nobody can sign a browser in to an account of theirs
(login CSRF).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from assistant.accounts import WebSession
from assistant.api.auth import NOT_SIGNED_IN, SESSION_COOKIE, AnySession, current_session
from assistant.api.deps import ServicesDep
from assistant.api.schemas import AccountOut, account_out
from consoles import STATIC_DIR

REQUESTED_WITH = "sotong"
# Failed sign-ins allowed per username and address in a window, then 429 until the
# oldest failure leaves the window.
MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 15 * 60
_MAX_TRACKED = 10_000

BAD_LOGIN = "아이디 또는 비밀번호가 맞지 않습니다. / Wrong username or password."
TOO_MANY = (
    "로그인 실패가 너무 많습니다. 잠시 후 다시 하세요. / Too many failed sign-ins. Try again later."
)
NOT_FROM_PAGE = "로그인 화면에서 로그인하세요. / Sign in from the sign-in page."

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/auth", tags=["console sign-in"])
page_router = APIRouter(include_in_schema=False)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SignedIn(BaseModel):
    account: AccountOut
    csrf_token: str


def _signed_in(session: WebSession) -> SignedIn:
    return SignedIn(account=account_out(session.account), csrf_token=session.csrf_token)


class LoginLimiter:
    """Failed sign-ins per (username, address), in memory.

    Per process: with several gateway processes an attacker gets that many times the
    attempts, which argon2's cost still keeps slow; a shared limit would need Redis.
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = FAILURE_WINDOW_SECONDS,
        clock: Any = time.monotonic,
    ) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, key: tuple[str, str]) -> int | None:
        """Seconds until ``key`` may try again, or None if it may now."""
        failures = self._recent(key)
        if len(failures) < self._max:
            return None
        return max(1, int(failures[0] + self._window - self._clock()) + 1)

    def failed(self, key: tuple[str, str]) -> None:
        """Count one failed sign-in."""
        if key not in self._failures and len(self._failures) >= _MAX_TRACKED:
            self._prune()
        self._failures.setdefault(key, deque()).append(self._clock())

    def succeeded(self, key: tuple[str, str]) -> None:
        """Forget the failures of ``key``."""
        self._failures.pop(key, None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self._clock() - self._window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures

    def _prune(self) -> None:
        for key in list(self._failures):
            self._recent(key)
        # Still full of live entries: drop the oldest keys rather than grow without bound.
        while len(self._failures) >= _MAX_TRACKED:
            self._failures.pop(next(iter(self._failures)))


def _limiter(request: Request) -> LoginLimiter:
    """The app's limiter (made on first use; it lives on the app, not in the module)."""
    limiter: LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = LoginLimiter()
        request.app.state.login_limiter = limiter
    return limiter


@router.post("/login")
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    services: ServicesDep,
    x_requested_with: Annotated[str | None, Header()] = None,
) -> SignedIn:
    """Sign in: sets the session cookie and returns the CSRF token for unsafe requests."""
    if x_requested_with != REQUESTED_WITH:
        raise HTTPException(403, NOT_FROM_PAGE)
    address = request.client.host if request.client else "?"
    key = (body.username.strip().lower(), address)
    limiter = _limiter(request)
    wait = limiter.retry_after(key)
    if wait is not None:
        log.warning("console.login_limited", username=key[0])
        raise HTTPException(429, TOO_MANY, headers={"Retry-After": str(wait)})
    account = await services.accounts.authenticate(body.username.strip(), body.password)
    if account is None:
        limiter.failed(key)
        log.info("console.login_failed", username=key[0])
        raise HTTPException(401, BAD_LOGIN)
    limiter.succeeded(key)
    settings = services.settings
    session = await services.accounts.start_session(account, hours=settings.console_session_hours)
    await services.accounts.record_audit(account, "login")
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(settings.console_session_hours * 3600),
        path="/",
        secure=request.url.scheme == "https" or settings.env == "production",
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    log.info("console.login", username=account.username, role=account.role.value)
    return _signed_in(session)


@router.post("/logout")
async def logout(session: AnySession, services: ServicesDep, response: Response) -> dict[str, bool]:
    """Sign this browser out (needs the CSRF header like every unsafe request)."""
    await services.accounts.end_session(session.token)
    await services.accounts.record_audit(session.account, "logout")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return {"ok": True}


@router.get("/me")
async def me(request: Request, response: Response) -> SignedIn:
    """Who is signed in and their CSRF token; 401 when nobody is."""
    session = await current_session(request)
    if session is None:
        raise HTTPException(401, NOT_SIGNED_IN)
    response.headers["Cache-Control"] = "no-store"
    return _signed_in(session)


@page_router.get("/login")
async def login_page() -> FileResponse:
    """The console sign-in page."""
    return FileResponse(STATIC_DIR / "login.html", media_type="text/html; charset=utf-8")
