"""The whole gateway in process, with people signed in to its consoles.

Shared by the interpreter console's and the staff desk's tests: a SQLite store, the
real lifespan, accounts and routes; Rasa is not reachable (nothing listens on its port),
so a citizen's message is kept and answered later and the bot is never needed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from assistant.accounts import Account, Role
from assistant.api.auth import CSRF_HEADER, SESSION_COOKIE
from assistant.app import create_app
from assistant.config import Settings, to_async_url
from assistant.services import Services

BASE = "http://testserver"
SERVICE_NUMBER = "+827012345678"  # the service's own Twilio number in these tests
PASSWORD = "correct horse battery staple"
RRN = "900101-1234567"


def console_settings(tmp_path: Path) -> Settings:
    """Development settings under ``tmp_path``, with Rasa unreachable."""
    return Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        public_url="https://sotong.test",
        rasa_url="http://127.0.0.1:9",  # nothing listens: messages are kept for later
        pending_retry_seconds=3600,
    )


def settings_on(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """``console_settings`` on SQLite, or on a fresh PostgreSQL schema when the fixture
    asking was parametrised with "postgresql" (the app migrates it at start-up)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return console_settings(tmp_path)
    url = to_async_url(request.getfixturevalue("postgres_schema_url"))
    return console_settings(tmp_path).model_copy(update={"database_url": url})


def twilio_settings(
    tmp_path: Path, database_url: str, account_sid: str, auth_token: str, api_url: str, **more: Any
) -> Settings:
    """``console_settings`` on ``database_url``, with a Twilio account whose REST API is
    at ``api_url`` (the local double) and the service number +827012345678."""
    return console_settings(tmp_path).model_copy(
        update={
            "database_url": database_url,
            "twilio_account_sid": account_sid,
            "twilio_auth_token": SecretStr(auth_token),
            "twilio_phone_number": SERVICE_NUMBER,
            "twilio_api_url": api_url,
            **more,
        }
    )


@dataclass
class Person:
    """A signed-in console user and an HTTP client carrying their cookie."""

    account: Account
    csrf: str
    token: str
    http: httpx.AsyncClient

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, json=body or {}, headers={CSRF_HEADER: self.csrf})

    async def put(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.put(path, json=body, headers={CSRF_HEADER: self.csrf})


@dataclass
class ConsoleApp:
    """The running app, its services, and the HTTP clients to close at the end."""

    app: FastAPI
    services: Services
    clients: list[httpx.AsyncClient]

    def client(self, cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
        """An HTTP client to the app (anonymous unless given cookies)."""
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE, cookies=cookies
        )
        self.clients.append(http)
        return http

    async def sign_in(
        self, username: str, role: Role, *, centre: str | None = None, region: str | None = None
    ) -> Person:
        """A new account, signed in."""
        account = await self.services.accounts.create(
            username, PASSWORD, f"이름 {username}", role, centre=centre, region=region
        )
        session = await self.services.accounts.start_session(account)
        http = self.client({SESSION_COOKIE: session.token})
        return Person(account, session.csrf_token, session.token, http)


App = TypeVar("App", bound=ConsoleApp)


@contextlib.asynccontextmanager
async def running(
    kind: type[App], tmp_path: Path, settings: Settings | None = None
) -> AsyncIterator[App]:
    """The gateway started (lifespan included) as ``kind`` (with ``console_settings``
    unless given others); its clients closed after."""
    app = create_app(settings or console_settings(tmp_path))
    async with app.router.lifespan_context(app):
        console = kind(app, app.state.services, [])
        try:
            yield console
        finally:
            for client in console.clients:
                await client.aclose()
