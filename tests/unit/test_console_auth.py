"""Console sign-in, roles, CSRF, page guards and WebSocket origin checks, in a small app
made of the real auth routers and one dummy route per role; and ``sotong accounts``.

The app runs in process with a real migrated SQLite database and the real account store
(cheap argon2 parameters); the store itself is covered on SQLite and PostgreSQL by
test_account_store_contract.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from assistant.accounts import Passwords, Role, SqlAccountStore, WebSession
from assistant.accounts.cli import accounts_app, parse_hours
from assistant.accounts.totp import TotpKeys
from assistant.api.auth import (
    CSRF_HEADER,
    HOST_SESSION_COOKIE,
    SESSION_COOKIE,
    AdminSession,
    InterpreterSession,
    PageDenied,
    StaffSession,
    page_denied_handler,
    page_guard,
    websocket_session,
)
from assistant.api.ratelimit import RateLimits
from assistant.api.routes import auth as auth_routes
from assistant.config import Settings, to_async_url
from assistant.handoff import SqlHandoffQueue
from assistant.store.base import utcnow
from assistant.store.migrate import upgrade
from assistant.store.sql import create_engine
from tests.clock import ManualClock

PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
LOGIN_HEADERS = {"X-Requested-With": "sotong"}
SIGNING_KEY = b"a signing key for the tests, 32+ bytes long"
PEOPLE = {
    "kim": ("김수어", Role.INTERPRETER),
    "park": ("박주무관", Role.STAFF),
    "admin": ("관리자", Role.ADMIN),
}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = to_async_url(f"sqlite:///{tmp_path / 'auth.db'}")
    upgrade(url)
    return url


def make_app(
    database_url: str,
    env: str = "development",
    passwords: Passwords | None = None,
    admin_totp_required: bool = False,
    console_idle_minutes: float = 30.0,
    clock: Callable[[], dt.datetime] = utcnow,
    **limits: str,
) -> FastAPI:
    """The auth routers, one dummy route per role, and accounts kim/park/admin
    (``limits``: sign-in limits other than the settings' defaults; ``clock``: the
    accounts store's "now")."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(database_url)
        accounts = SqlAccountStore(engine, clock, passwords=passwords or Passwords(CHEAP))
        for username, (name, role) in PEOPLE.items():
            if await accounts.by_username(username) is None:
                await accounts.create(username, PASSWORD, name, role, "종로1가동", "seoul")
        settings = SimpleNamespace(
            console_session_hours=12.0,
            env=env,
            public_url=None,
            admin_totp_required=admin_totp_required,
            console_idle_minutes=console_idle_minutes,
        )
        app.state.services = SimpleNamespace(
            accounts=accounts,
            settings=settings,
            limits=RateLimits(Settings(_env_file=None, **limits)),
            signing_key=SIGNING_KEY,
        )
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.add_exception_handler(PageDenied, page_denied_handler)
    app.include_router(auth_routes.router)
    app.include_router(auth_routes.page_router)

    @app.get("/api/test/interpreter")
    async def for_interpreters(session: InterpreterSession) -> dict[str, str]:
        return {"username": session.account.username}

    @app.post("/api/test/interpreter")
    async def post_for_interpreters(session: InterpreterSession) -> dict[str, str]:
        return {"username": session.account.username}

    @app.delete("/api/test/staff")
    async def for_staff(session: StaffSession) -> dict[str, str]:
        return {"username": session.account.username}

    @app.get("/api/test/admin")
    async def for_admins(session: AdminSession) -> dict[str, str]:
        return {"username": session.account.username}

    @app.get("/test-page")
    async def page(
        session: Annotated[WebSession, Depends(page_guard(Role.INTERPRETER, Role.STAFF))],
    ) -> dict[str, str]:
        return {"page": session.account.username}

    @app.websocket("/api/test/ws")
    async def socket(websocket: WebSocket) -> None:
        session = await websocket_session(websocket, Role.INTERPRETER, Role.STAFF)
        if session is None:
            await websocket.close(code=4401)
            return
        await websocket.accept()
        await websocket.send_json({"username": session.account.username})
        await websocket.close()

    return app


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(make_app(database_url)) as test_client:
        yield test_client


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in; its CSRF token."""
    response = client.post(
        "/api/auth/login", json={"username": username, "password": password}, headers=LOGIN_HEADERS
    )
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    return csrf


def set_cookie_header(response: Any) -> str:
    [header] = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    return str(header)


# ---- sign-in ----------------------------------------------------------------------------
def test_login_answers_the_account_and_sets_a_strict_http_only_cookie(client: TestClient) -> None:
    response = client.post(
        "/api/auth/login", json={"username": "kim", "password": PASSWORD}, headers=LOGIN_HEADERS
    )
    assert response.status_code == 200
    body = response.json()
    assert body["account"] == {
        "username": "kim",
        "name": "김수어",
        "role": "interpreter",
        "centre": "종로1가동",
        "region": "seoul",
    }
    assert len(body["csrf_token"]) >= 40
    cookie = set_cookie_header(response)
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain http in development: the browser must send it back
    assert response.headers["cache-control"] == "no-store"
    assert PASSWORD not in response.text


def test_the_cookie_is_secure_over_https_and_in_production(database_url: str) -> None:
    with TestClient(make_app(database_url), base_url="https://testserver") as https:
        response = https.post(
            "/api/auth/login", json={"username": "kim", "password": PASSWORD}, headers=LOGIN_HEADERS
        )
        assert "secure" in set_cookie_header(response).lower()
    with TestClient(make_app(database_url, env="production")) as behind_proxy:
        response = behind_proxy.post(
            "/api/auth/login", json={"username": "kim", "password": PASSWORD}, headers=LOGIN_HEADERS
        )
        cookie = set_cookie_header(response)
        flags = {p.strip().lower() for p in cookie.split(";")[1:]}
        assert "secure" in flags
        # The __Host- prefix (review M5): Secure, Path=/ and no Domain, so no other host
        # under the domain can set or shadow it; the plain name is not accepted then.
        assert cookie.startswith(f"{HOST_SESSION_COOKIE}=") and "path=/" in flags
        assert not any(flag.startswith("domain") for flag in flags)
        token = cookie.split(";")[0].split("=", 1)[1]
        with_prefix = behind_proxy.get(
            "/api/test/interpreter", headers={"cookie": f"{HOST_SESSION_COOKIE}={token}"}
        )
        assert with_prefix.status_code == 200
        shadowed = behind_proxy.get(
            "/api/test/interpreter", headers={"cookie": f"{SESSION_COOKIE}={token}"}
        )
        assert shadowed.status_code == 401


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient) -> None:
    wrong = client.post(
        "/api/auth/login",
        json={"username": "kim", "password": "wrong password!"},
        headers=LOGIN_HEADERS,
    )
    unknown = client.post(
        "/api/auth/login", json={"username": "nobody", "password": PASSWORD}, headers=LOGIN_HEADERS
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers


def test_login_needs_the_pages_header_and_json(client: TestClient) -> None:
    """A cross-site form can send neither: no signing a victim in to the attacker's account."""
    no_header = client.post("/api/auth/login", json={"username": "kim", "password": PASSWORD})
    assert no_header.status_code == 403 and "set-cookie" not in no_header.headers
    as_form = client.post(
        "/api/auth/login", data={"username": "kim", "password": PASSWORD}, headers=LOGIN_HEADERS
    )
    assert as_form.status_code == 422 and "set-cookie" not in as_form.headers


def _try(client: TestClient, username: str, password: str) -> int:
    response = client.post(
        "/api/auth/login",
        json={"username": username, "password": password},
        headers=LOGIN_HEADERS,
    )
    return response.status_code


def test_failures_of_one_username_make_it_wait_longer_and_longer(client: TestClient) -> None:
    """Review M5: 5 failures in 15 minutes per username and address, then the longer
    windows: the wait grows with the guessing; other usernames are not affected, and a
    success forgets the failures."""
    assert [_try(client, "kim", "wrong password!") for _ in range(5)] == [401] * 5
    limited = client.post(
        "/api/auth/login", json={"username": "kim", "password": PASSWORD}, headers=LOGIN_HEADERS
    )
    assert limited.status_code == 429  # even the right password, until the window passes
    assert 60 < int(limited.headers["retry-after"]) <= 15 * 60
    assert "로그인 실패가 너무 많습니다" in limited.json()["detail"]
    sign_in(client, "park")  # another username is not affected
    assert _try(client, "admin", "wrong password!") == 401
    sign_in(client, "admin")  # a success forgets the failures
    assert [_try(client, "admin", "wrong password!") for _ in range(4)] == [401] * 4
    assert _try(client, "admin", PASSWORD) == 200


def test_attempts_per_address_and_by_everyone_are_limited(database_url: str) -> None:
    """A new random username each time never fails the same name twice: attempts per
    address (and by everyone together, which bounds the argon2 CPU) stop it."""
    app = make_app(database_url, limit_login="3/minute", limit_login_all="5/minute")
    with TestClient(app) as client:
        codes = [_try(client, f"guess{i}", "x" * 1024) for i in range(4)]
        assert codes == [401, 401, 401, 429]
    everyone = make_app(database_url, limit_login="100/minute", limit_login_all="2/minute")
    with TestClient(everyone) as client:
        assert [_try(client, f"guess{i}", "x") for i in range(3)] == [401, 401, 429]


def test_a_flood_of_password_checks_is_refused_not_queued(database_url: str) -> None:
    """At most workers + max_waiting argon2 checks at once; the next sign-in gets 503
    with Retry-After at once instead of waiting behind them (and the event loop's own
    threads, which send SMS and transfer calls, never run argon2)."""
    slow = Passwords(
        PasswordHasher(time_cost=2, memory_cost=65536, parallelism=1), workers=1, max_waiting=1
    )
    app = make_app(database_url, passwords=slow, limit_login="1000/minute")
    with TestClient(app) as client:

        async def flood() -> list[int]:
            import httpx

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                attempts = [
                    http.post(
                        "/api/auth/login",
                        json={"username": f"nobody{i}", "password": "x"},
                        headers=LOGIN_HEADERS,
                    )
                    for i in range(6)
                ]
                return [r.status_code for r in await asyncio.gather(*attempts)]

        codes = client.portal.call(flood)  # type: ignore[union-attr]
        assert codes.count(503) >= 1 and set(codes) <= {401, 503}
        assert _try(client, "kim", PASSWORD) == 200  # once the flood is over


def test_me(client: TestClient) -> None:
    assert client.get("/api/auth/me").status_code == 401
    csrf = sign_in(client, "park")
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["account"]["role"] == "staff" and me.json()["csrf_token"] == csrf
    assert me.headers["cache-control"] == "no-store"


def test_logout_needs_csrf_and_ends_the_session(client: TestClient) -> None:
    csrf = sign_in(client, "kim")
    token = client.cookies[SESSION_COOKIE]
    assert client.post("/api/auth/logout").status_code == 403
    response = client.post("/api/auth/logout", headers={CSRF_HEADER: csrf})
    assert response.status_code == 200
    assert f'{SESSION_COOKIE}=""' in set_cookie_header(response) or "max-age=0" in (
        set_cookie_header(response).lower()
    )
    client.cookies.set(SESSION_COOKIE, token)  # a copy of the old cookie is worthless now
    assert client.get("/api/test/interpreter").status_code == 401


def test_login_and_logout_are_audited(client: TestClient) -> None:
    csrf = sign_in(client, "kim")
    client.post("/api/auth/logout", headers={CSRF_HEADER: csrf})
    accounts = client.app.state.services.accounts  # type: ignore[attr-defined]
    entries = client.portal.call(accounts.audit_log)  # type: ignore[union-attr]
    assert [(e.actor_username, e.action) for e in entries] == [("kim", "logout"), ("kim", "login")]


# ---- roles and CSRF -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "interpreter", "admin"),
    [("kim", 200, 403), ("park", 200, 403), ("admin", 403, 200)],
)
def test_roles(client: TestClient, username: str, interpreter: int, admin: int) -> None:
    assert client.get("/api/test/interpreter").status_code == 401
    assert client.get("/api/test/admin").status_code == 401
    sign_in(client, username)
    assert client.get("/api/test/interpreter").status_code == interpreter
    assert client.get("/api/test/admin").status_code == admin


def test_unsafe_methods_need_the_csrf_token(client: TestClient) -> None:
    assert client.post("/api/test/interpreter").status_code == 401
    csrf = sign_in(client, "park")
    assert client.post("/api/test/interpreter").status_code == 403
    assert client.post("/api/test/interpreter", headers={CSRF_HEADER: "x" * 43}).status_code == 403
    ok = client.post("/api/test/interpreter", headers={CSRF_HEADER: csrf})
    assert ok.status_code == 200 and ok.json() == {"username": "park"}
    assert client.delete("/api/test/staff").status_code == 403
    assert client.delete("/api/test/staff", headers={CSRF_HEADER: csrf}).status_code == 200


def test_a_wrong_role_is_refused_even_with_the_csrf_token(client: TestClient) -> None:
    csrf = sign_in(client, "kim")
    assert client.delete("/api/test/staff", headers={CSRF_HEADER: csrf}).status_code == 403


def test_another_sessions_csrf_token_does_not_count(database_url: str) -> None:
    with TestClient(make_app(database_url)) as one, TestClient(make_app(database_url)) as two:
        sign_in(one, "park")
        other = sign_in(two, "park")
        assert one.post("/api/test/interpreter", headers={CSRF_HEADER: other}).status_code == 403


def test_a_disabled_accounts_cookie_stops_working(client: TestClient) -> None:
    sign_in(client, "kim")
    accounts = client.app.state.services.accounts  # type: ignore[attr-defined]
    client.portal.call(accounts.set_active, "kim", False)  # type: ignore[union-attr]
    assert client.get("/api/test/interpreter").status_code == 401
    assert client.get("/api/auth/me").status_code == 401


def test_an_expired_session_stops_working(database_url: str) -> None:
    clock = ManualClock(dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC))
    # Idleness allowed longer than the session itself: only the 12 hours end it.
    with TestClient(make_app(database_url, console_idle_minutes=24 * 60, clock=clock)) as client:
        sign_in(client, "kim")
        clock.advance(hours=11, minutes=59, seconds=59)
        assert client.get("/api/test/interpreter").status_code == 200
        clock.advance(seconds=1)  # the settings' 12 hours
        assert client.get("/api/test/interpreter").status_code == 401


# ---- pages ----------------------------------------------------------------------------
def test_a_page_without_a_session_redirects_to_login_with_next(client: TestClient) -> None:
    response = client.get("/test-page?tab=queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ftest-page%3Ftab%3Dqueue"


def test_a_page_for_another_role_is_a_readable_403(client: TestClient) -> None:
    sign_in(client, "admin")
    response = client.get("/test-page", follow_redirects=False)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "권한이 없습니다" in response.text and "You may not use this page" in response.text
    assert "관리자" in response.text  # the account's name, escaped into the page


def test_a_page_for_the_right_roles(client: TestClient) -> None:
    sign_in(client, "park")
    assert client.get("/test-page").json() == {"page": "park"}


def test_without_the_handler_the_redirect_still_works(database_url: str) -> None:
    app = make_app(database_url)
    app.exception_handlers.pop(PageDenied)
    with TestClient(app) as client:
        response = client.get("/test-page", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_login_page(client: TestClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for needed in (
        '<label for="username">',
        '<label for="password">',
        'autocomplete="current-password"',
        'role="alert"',
        "로그인",
        "Sign in",
        "/static/consoles/login.js",
    ):
        assert needed in page
    script = (auth_routes.STATIC_DIR / "login.js").read_text(encoding="utf-8")
    assert '"X-Requested-With": "sotong"' in script and 'startsWith("//")' in script


# ---- WebSockets -----------------------------------------------------------------------
def _ws_username(client: TestClient, headers: dict[str, str]) -> str | int:
    """The username the socket greets with, or the close code."""
    try:
        with client.websocket_connect("/api/test/ws", headers=headers) as ws:
            return str(ws.receive_json()["username"])
    except WebSocketDisconnect as exc:
        return exc.code


def test_websocket_needs_cookie_same_origin_and_role(client: TestClient) -> None:
    ours = {"origin": "http://testserver"}
    assert _ws_username(client, ours) == 4401  # no cookie
    sign_in(client, "kim")
    assert _ws_username(client, ours) == "kim"
    assert _ws_username(client, {}) == 4401  # no Origin
    assert _ws_username(client, {"origin": "https://evil.example"}) == 4401  # hijacking
    assert _ws_username(client, {"origin": "http://testserver.evil.example"}) == 4401
    assert _ws_username(client, {"origin": "null"}) == 4401


def test_websocket_refuses_another_role(client: TestClient) -> None:
    sign_in(client, "admin")
    assert _ws_username(client, {"origin": "http://testserver"}) == 4401


def test_websocket_accepts_the_public_url_origin(client: TestClient) -> None:
    """Behind a proxy that rewrites Host, the public URL is ours too."""
    sign_in(client, "park")
    client.app.state.services.settings.public_url = "https://sotong.example"  # type: ignore[attr-defined]
    assert _ws_username(client, {"origin": "https://sotong.example"}) == "park"


# ---- sotong accounts ------------------------------------------------------------------
@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOTONG_DATABASE_URL", database_url)
    monkeypatch.setenv("SOTONG_NEW_PASSWORD", PASSWORD)
    return database_url


def _in_db(url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(url)
        try:
            return await work(
                SqlAccountStore(engine, passwords=Passwords(CHEAP)), SqlHandoffQueue(engine)
            )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_cli_creates_an_interpreter_with_its_queue_row(cli_env: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        accounts_app,
        [
            "create", "--username", "kim.suh", "--name", "김수어", "--role", "interpreter",
            "--centre", "종로 수어통역센터", "--region", "seoul", "--capacity", "2",
            "--hours", "09:00-18:00",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output

    async def check(accounts: SqlAccountStore, queue: SqlHandoffQueue) -> None:
        account = await accounts.authenticate("kim.suh", PASSWORD)
        assert account is not None and account.role is Role.INTERPRETER
        row = await queue.get_interpreter("kim.suh")
        assert row is not None
        assert (row.name, row.centre, row.region, row.skills, row.capacity) == (
            "김수어", "종로 수어통역센터", "seoul", ("ksl", "person"), 2,
        )  # fmt: skip
        assert (row.work_start, row.work_end, row.available) == (540, 1080, False)

    _in_db(cli_env, check)


def test_cli_staff_default_skill_and_admin_without_queue_row(cli_env: str) -> None:
    runner = CliRunner()
    staff = ["create", "--username", "park", "--name", "박주무관", "--role", "staff"]
    admin = ["create", "--username", "boss", "--name", "관리자", "--role", "admin"]
    assert runner.invoke(accounts_app, staff).exit_code == 0
    assert runner.invoke(accounts_app, admin).exit_code == 0

    async def check(accounts: SqlAccountStore, queue: SqlHandoffQueue) -> None:
        park = await queue.get_interpreter("park")
        assert park is not None and park.skills == ("person",) and park.work_start is None
        assert await queue.get_interpreter("boss") is None
        assert (await accounts.by_username("boss")) is not None

    _in_db(cli_env, check)
    listing = runner.invoke(accounts_app, ["list"])
    assert listing.exit_code == 0
    assert [line.split("\t")[:3] for line in listing.output.splitlines()] == [
        ["boss", "admin", "active"],
        ["park", "staff", "active"],
    ]


def test_cli_refuses_bad_input(cli_env: str) -> None:
    runner = CliRunner()
    base = ["create", "--username", "kim", "--name", "김수어"]
    assert runner.invoke(accounts_app, [*base, "--role", "root"]).exit_code == 2
    assert runner.invoke(accounts_app, [*base, "--role", "admin", "--skills", "ksl"]).exit_code == 2
    bad_skill = [*base, "--role", "staff", "--skills", "ksl,cooking"]
    assert runner.invoke(accounts_app, bad_skill).exit_code == 2
    bad_hours = [*base, "--role", "staff", "--hours", "9-6"]
    assert runner.invoke(accounts_app, bad_hours).exit_code == 2
    bad_name = ["create", "--username", "K I M", "--name", "김", "--role", "staff"]
    refused = runner.invoke(accounts_app, bad_name)
    assert refused.exit_code == 1 and "username" in refused.output
    twice = ["create", "--username", "kim", "--name", "김", "--role", "staff"]
    assert runner.invoke(accounts_app, twice).exit_code == 0
    assert runner.invoke(accounts_app, twice).exit_code == 1  # taken


def test_cli_sets_a_person_s_own_phone_for_call_backs(cli_env: str) -> None:
    runner = CliRunner()
    create = [
        "create", "--username", "kim", "--name", "김수어", "--role", "interpreter",
        "--phone", "010-5555-0000",
    ]  # fmt: skip
    assert runner.invoke(accounts_app, create).exit_code == 0

    async def phone_of(_: SqlAccountStore, queue: SqlHandoffQueue) -> str | None:
        row = await queue.get_interpreter("kim")
        assert row is not None
        return row.phone

    assert _in_db(cli_env, phone_of) == "+821055550000"
    assert runner.invoke(accounts_app, ["phone", "kim", "+82 10 5555 1111"]).exit_code == 0
    assert _in_db(cli_env, phone_of) == "+821055551111"
    assert runner.invoke(accounts_app, ["phone", "kim"]).exit_code == 0
    assert _in_db(cli_env, phone_of) is None
    assert runner.invoke(accounts_app, ["phone", "kim", "12345"]).exit_code == 2
    assert runner.invoke(accounts_app, ["phone", "nobody", "010-5555-0000"]).exit_code == 1
    admin = ["create", "--username", "boss", "--name", "관리자", "--role", "admin"]
    assert runner.invoke(accounts_app, [*admin, "--phone", "010-5555-0000"]).exit_code == 2


def test_cli_password_from_the_prompt_with_confirmation(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOTONG_NEW_PASSWORD")
    runner = CliRunner()
    args = ["create", "--username", "lee", "--name", "이통역", "--role", "interpreter"]
    typed = "a typed passphrase\na typed passphrase\n"
    result = runner.invoke(accounts_app, args, input=typed)
    assert result.exit_code == 0, result.output
    assert "a typed passphrase" not in result.output  # hidden input

    async def check(accounts: SqlAccountStore, _: SqlHandoffQueue) -> None:
        assert await accounts.authenticate("lee", "a typed passphrase") is not None

    _in_db(cli_env, check)


def test_cli_disable_enable_and_password(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    create = ["create", "--username", "kim", "--name", "김수어", "--role", "interpreter"]
    assert runner.invoke(accounts_app, create).exit_code == 0

    async def sign_in_and_be_available(accounts: SqlAccountStore, queue: SqlHandoffQueue) -> str:
        account = await accounts.authenticate("kim", PASSWORD)
        assert account is not None
        await queue.set_availability("kim", True)
        return (await accounts.start_session(account)).token

    token = _in_db(cli_env, sign_in_and_be_available)
    assert runner.invoke(accounts_app, ["disable", "kim"]).exit_code == 0

    async def disabled(accounts: SqlAccountStore, queue: SqlHandoffQueue) -> None:
        assert await accounts.session(token) is None
        assert await accounts.authenticate("kim", PASSWORD) is None
        row = await queue.get_interpreter("kim")
        assert row is not None and row.available is False  # offered nothing any more

    _in_db(cli_env, disabled)
    assert runner.invoke(accounts_app, ["enable", "kim"]).exit_code == 0
    monkeypatch.setenv("SOTONG_NEW_PASSWORD", "another long passphrase")
    assert runner.invoke(accounts_app, ["password", "kim"]).exit_code == 0

    async def changed(accounts: SqlAccountStore, _: SqlHandoffQueue) -> None:
        assert await accounts.authenticate("kim", PASSWORD) is None
        assert await accounts.authenticate("kim", "another long passphrase") is not None

    _in_db(cli_env, changed)
    assert runner.invoke(accounts_app, ["disable", "nobody"]).exit_code == 1


# ---- idle sign-ins end (review M5, L14) ---------------------------------------------------
def test_a_console_left_alone_signs_itself_out(database_url: str) -> None:
    # 30 minutes of idleness allowed: the page's own refreshes (GET /me here) do not
    # count, a reported activity does. The store's clock is moved by hand, so a slow
    # machine cannot make the test late (it once failed in CI when sleeps were used).
    clock = ManualClock(dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC))
    with TestClient(make_app(database_url, console_idle_minutes=30, clock=clock)) as client:
        csrf = sign_in(client, "kim")
        clock.advance(minutes=20)
        assert client.get("/api/auth/me").status_code == 200  # a refresh: not activity
        kept = client.post("/api/auth/activity", headers={CSRF_HEADER: csrf})
        assert kept.status_code == 200, kept.text
        clock.advance(minutes=20)  # 40 minutes after sign-in, 20 after the activity
        assert client.get("/api/auth/me").status_code == 200
        clock.advance(minutes=9, seconds=59)
        assert client.get("/api/auth/me").status_code == 200
        clock.advance(seconds=1)  # exactly 30 minutes after the activity
        assert client.get("/api/auth/me").status_code == 401
        assert client.post("/api/auth/activity", headers={CSRF_HEADER: csrf}).status_code == 401


def test_activity_needs_the_csrf_token(client: TestClient) -> None:
    sign_in(client, "kim")
    assert client.post("/api/auth/activity").status_code == 403


def test_every_console_page_reports_activity(client: TestClient) -> None:
    from assistant.config import PROJECT_DIR

    for page in ("interpreter", "staff", "admin"):
        html = (PROJECT_DIR / "consoles" / "static" / f"{page}.html").read_text(encoding="utf-8")
        assert '<script src="/static/consoles/activity.js"></script>' in html, page


# ---- one-time codes (review M5) ----------------------------------------------------------
def _enrol(database_url: str, username: str) -> str:
    """Enrol ``username`` in one-time codes; the secret their authenticator app holds."""
    nonce = TotpKeys.new_nonce()

    async def enrol(accounts: SqlAccountStore, _: SqlHandoffQueue) -> None:
        await accounts.set_totp(username, nonce)

    _in_db(database_url, enrol)
    return TotpKeys(SIGNING_KEY).secret(username, nonce)


def _login(client: TestClient, username: str, code: str | None = None) -> Any:
    body = {"username": username, "password": PASSWORD, "code": code}
    return client.post("/api/auth/login", json=body, headers=LOGIN_HEADERS)


def test_an_enrolled_account_signs_in_with_its_code_once(database_url: str) -> None:
    with TestClient(make_app(database_url)) as client:
        secret = _enrol(database_url, "admin")
        missing = _login(client, "admin")
        assert missing.status_code == 401
        assert missing.headers["x-sotong-second-factor"] == "needed"
        assert "6자리 코드" in missing.json()["detail"]
        now = pyotp.TOTP(secret).now()
        wrong = str((int(now) + 1) % 1_000_000).zfill(6)
        assert _login(client, "admin", wrong).status_code == 401
        assert _login(client, "admin", "12345x").status_code == 401
        assert _login(client, "admin", now).status_code == 200
        assert _login(client, "admin", now).status_code == 401  # a code works once
        # Other accounts sign in as before; a code sent by one is ignored.
        assert _login(client, "kim").status_code == 200
        assert _login(client, "kim", "000000").status_code == 200


def test_wrong_codes_count_as_failed_sign_ins(database_url: str) -> None:
    app = make_app(database_url, limit_login_failures="3/15minutes")
    with TestClient(app) as client:
        _enrol(database_url, "admin")
        codes = [_login(client, "admin", "000000").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_admins_must_enrol_when_the_setting_says_so(database_url: str) -> None:
    with TestClient(make_app(database_url, admin_totp_required=True)) as client:
        refused = _login(client, "admin")
        assert refused.status_code == 403
        assert "sotong accounts totp" in refused.json()["detail"]
        assert _login(client, "kim").status_code == 200  # only admins
    secret = _enrol(database_url, "admin")
    with TestClient(make_app(database_url, admin_totp_required=True)) as client:
        assert _login(client, "admin", pyotp.TOTP(secret).now()).status_code == 200


def test_cli_enrols_prints_the_app_address_and_turns_codes_off(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    create = ["create", "--username", "kim", "--name", "김수어", "--role", "admin"]
    assert runner.invoke(accounts_app, create).exit_code == 0
    monkeypatch.delenv("SOTONG_SECRET_KEY", raising=False)
    assert runner.invoke(accounts_app, ["totp", "kim"]).exit_code == 2  # no key, no codes
    monkeypatch.setenv("SOTONG_SECRET_KEY", SIGNING_KEY.decode())
    enrolled = runner.invoke(accounts_app, ["totp", "kim"])
    assert enrolled.exit_code == 0, enrolled.output
    uri = next(line for line in enrolled.output.splitlines() if line.startswith("otpauth://"))
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP) and totp.issuer == "Sotong"
    with TestClient(make_app(cli_env)) as client:
        assert _login(client, "kim").status_code == 401
        assert _login(client, "kim", totp.now()).status_code == 200
    assert runner.invoke(accounts_app, ["totp", "kim", "--off"]).exit_code == 0
    with TestClient(make_app(cli_env)) as client:
        assert _login(client, "kim").status_code == 200


def test_parse_hours() -> None:
    assert parse_hours("09:00-18:00") == (540, 1080)
    assert parse_hours("22:00 - 06:30") == (1320, 390)  # over midnight
    assert parse_hours("00:00-24:00") == (0, 1440)


# ---- the real gateway -----------------------------------------------------------------
async def test_sign_in_through_the_real_gateway(tmp_path: Path) -> None:
    """The routers as create_app wires them, with the app's own account store."""
    import httpx

    from assistant.app import create_app
    from assistant.config import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="development",
        var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9",  # nothing listens: the bot is never needed here
        pending_retry_seconds=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        accounts = app.state.services.accounts
        await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
        await accounts.create("boss", PASSWORD, "관리자", Role.ADMIN)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            page = await http.get("/login")
            assert page.status_code == 200 and 'id="login-form"' in page.text
            script = await http.get("/static/consoles/login.js")
            assert script.status_code == 200
            wrong = {"username": "kim", "password": "nope nope nope"}
            bad = await http.post("/api/auth/login", json=wrong, headers=LOGIN_HEADERS)
            assert bad.status_code == 401
            right = {"username": "boss", "password": PASSWORD}
            good = await http.post("/api/auth/login", json=right, headers=LOGIN_HEADERS)
            assert good.status_code == 200
            csrf = good.json()["csrf_token"]
            assert (await http.get("/api/auth/me")).json()["account"]["username"] == "boss"
            # An admin on the interpreters' page: the readable 403 page, not JSON.
            refused = await http.get("/interpreter")
            assert refused.status_code == 403
            assert refused.headers["content-type"].startswith("text/html")
            assert (await http.post("/api/auth/logout", headers={CSRF_HEADER: csrf})).is_success
            assert (await http.get("/api/auth/me")).status_code == 401
            redirect = await http.get("/interpreter")
            assert redirect.status_code == 303
        boss = await accounts.by_username("boss")
        entries = await accounts.audit_log(actor_id=boss.id)
        assert [e.action for e in entries] == ["logout", "login"]
