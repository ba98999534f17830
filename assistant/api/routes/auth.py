"""Console sign-in: ``/api/auth`` (login, logout, who am I) and the ``/login`` page.

Sign-in is JSON only and needs the header ``X-Requested-With: sotong``: a form on
another site can neither set that header nor send JSON without a CORS preflight, which
this API never grants, so nobody can sign a browser in to an account of theirs
(login CSRF).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import structlog
from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from assistant.accounts import Account, PasswordsBusy, Role, WebSession
from assistant.accounts.totp import TotpKeys
from assistant.api.auth import (
    HOST_SESSION_COOKIE,
    NOT_SIGNED_IN,
    AnySession,
    current_session,
    session_cookie,
)
from assistant.api.deps import ServicesDep
from assistant.api.ratelimit import client_address
from assistant.api.schemas import AccountOut, account_out, refusals
from assistant.services import Services
from consoles import STATIC_DIR

REQUESTED_WITH = "sotong"

BAD_LOGIN = "아이디 또는 비밀번호가 맞지 않습니다. / Wrong username or password."
TOO_MANY = (
    "로그인 실패가 너무 많습니다. 잠시 후 다시 하세요. / Too many failed sign-ins. Try again later."
)
TOO_MANY_ATTEMPTS = (
    "로그인 시도가 너무 많습니다. 잠시 후 다시 하세요. "
    "/ Too many sign-in attempts. Try again later."
)
BUSY = (
    "로그인이 몰려 있습니다. 몇 초 뒤에 다시 하세요. "
    "/ Many sign-ins at once. Try again in a few seconds."
)
NOT_FROM_PAGE = "로그인 화면에서 로그인하세요. / Sign in from the sign-in page."
CODE_NEEDED = (
    "인증 앱에 나온 6자리 코드를 넣으세요. / Enter the 6-digit code from your authenticator app."
)
BAD_CODE = (
    "인증 코드가 맞지 않거나 이미 쓰였습니다. 새 코드를 넣으세요. "
    "/ That code is wrong or was used already. Enter the new one."
)
ENROL_FIRST = (
    "관리자 계정은 인증 앱을 먼저 등록해야 합니다(sotong accounts totp). "
    "/ Admin accounts must enrol an authenticator app first (sotong accounts totp)."
)
# Tells the sign-in page to ask for the code (and keep the password typed).
SECOND_FACTOR_HEADER = "X-Sotong-Second-Factor"

log = structlog.get_logger(__name__)
router = APIRouter(
    prefix="/api/auth",
    tags=["console sign-in"],
    responses=refusals(401, 403, 413, 422, 429, 503),
)
page_router = APIRouter(include_in_schema=False)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    # The one-time code of an account enrolled in them (accounts/totp.py); else ignored.
    code: str | None = Field(None, max_length=16)


class SignedIn(BaseModel):
    account: AccountOut
    csrf_token: str


def _signed_in(session: WebSession) -> SignedIn:
    return SignedIn(account=account_out(session.account), csrf_token=session.csrf_token)


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
    username = body.username.strip()
    address = client_address(request)
    limits = services.limits
    # Every attempt costs an argon2 hash: attempts per address and by everyone together
    # are limited first, then failures of this username from this address (review M5).
    wait = max(
        await limits.retry_after(limits.login, address),
        await limits.retry_after(limits.login_all, "everyone"),
    )
    if wait:
        log.warning("abuse.login_flood", retry_after=wait)
        raise HTTPException(429, TOO_MANY_ATTEMPTS, headers={"Retry-After": str(wait)})
    failures_key = f"{username.lower()}|{address}"
    wait = await limits.wait_for(limits.login_failures, failures_key)
    if wait:
        log.warning("console.login_limited", username=username.lower(), retry_after=wait)
        raise HTTPException(429, TOO_MANY, headers={"Retry-After": str(wait)})
    try:
        account = await services.accounts.authenticate(username, body.password)
    except PasswordsBusy:
        log.warning("abuse.login_busy")
        raise HTTPException(503, BUSY, headers={"Retry-After": "2"}) from None
    if account is None:
        await limits.count(limits.login_failures, failures_key)
        log.info("console.login_failed", username=username.lower())
        raise HTTPException(401, BAD_LOGIN)
    settings = services.settings
    if account.totp:
        if not await _code_ok(services, account, body.code):
            await limits.count(limits.login_failures, failures_key)
            log.info("console.login_code_failed", username=account.username)
            raise HTTPException(
                401,
                BAD_CODE if body.code else CODE_NEEDED,
                headers={SECOND_FACTOR_HEADER: "needed"},
            )
    elif account.role is Role.ADMIN and settings.admin_totp_required:
        log.warning("console.login_admin_without_code", username=account.username)
        raise HTTPException(403, ENROL_FIRST)
    await limits.forget(limits.login_failures, failures_key)
    session = await services.accounts.start_session(
        account,
        hours=settings.console_session_hours,
        idle_minutes=settings.console_idle_minutes,
    )
    await services.accounts.record_audit(account, "login")
    name = session_cookie(settings, request.url.scheme)
    response.set_cookie(
        name,
        session.token,
        max_age=int(settings.console_session_hours * 3600),
        path="/",
        secure=name == HOST_SESSION_COOKIE,  # the prefix requires it; no Domain, ever
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    log.info("console.login", username=account.username, role=account.role.value)
    return _signed_in(session)


async def _code_ok(services: Services, account: Account, code: str | None) -> bool:
    """Whether ``code`` is the account's current one-time code, used for the first time."""
    nonce = await services.accounts.totp_nonce(account)
    if not code or nonce is None:
        return False
    step = TotpKeys(services.signing_key).matching_step(
        account.username, nonce, code, dt.datetime.now(dt.UTC)
    )
    return step is not None and await services.accounts.use_totp_step(account, step)


@router.post("/logout")
async def logout(
    session: AnySession, services: ServicesDep, request: Request, response: Response
) -> dict[str, bool]:
    """Sign this browser out (needs the CSRF header like every unsafe request)."""
    await services.accounts.end_session(session.token)
    await services.accounts.record_audit(session.account, "logout")
    name = session_cookie(services.settings, request.url.scheme)
    response.delete_cookie(
        name, path="/", secure=name == HOST_SESSION_COOKIE, httponly=True, samesite="strict"
    )
    return {"ok": True}


class ActiveOut(BaseModel):
    expires_at: str  # when the sign-in ends unless the person does something again


@router.post("/activity")
async def activity(session: AnySession, services: ServicesDep, response: Response) -> ActiveOut:
    """The person did something on the page (the consoles post this at most once a
    minute while someone types, points, or has a video call on screen): the sign-in
    goes on for ``SOTONG_CONSOLE_IDLE_MINUTES`` more. The pages' own refreshes never
    call it, so an abandoned console signs itself out."""
    settings = services.settings
    alive = await services.accounts.keep_alive(
        session, settings.console_session_hours, settings.console_idle_minutes
    )
    if alive is None:
        raise HTTPException(401, NOT_SIGNED_IN)
    response.headers["Cache-Control"] = "no-store"
    return ActiveOut(expires_at=alive.expires_at.isoformat())


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
