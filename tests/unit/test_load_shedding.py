"""Saturated, the gateway sheds anonymous web chat requests first (review H5): they get
503 with Retry-After in plain words while Twilio's webhooks and consoles go on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from assistant.api.shedding import WebLoadShedder
from assistant.app import create_app
from assistant.config import Settings


async def test_web_chat_past_its_share_is_shed_and_webhooks_go_on() -> None:
    gate = asyncio.Event()

    async def slow(_: Request) -> PlainTextResponse:
        await gate.wait()
        return PlainTextResponse("answered")

    inner = Starlette(
        routes=[
            Route("/api/webchat/sessions/x/messages", slow, methods=["POST"]),
            Route("/webhooks/twilio/sms", slow, methods=["POST"]),
        ]
    )
    shedder = WebLoadShedder(inner, web_limit=2)
    transport = httpx.ASGITransport(app=shedder)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        web = "/api/webchat/sessions/x/messages"
        waiting = [asyncio.create_task(client.post(web)) for _ in range(2)]
        while shedder.web_in_flight < 2:
            await asyncio.sleep(0.01)
        shed = await client.post(web)
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "5"
        assert "다시 보내 주세요" in shed.json()["detail"]
        sms = [asyncio.create_task(client.post("/webhooks/twilio/sms")) for _ in range(5)]
        await asyncio.sleep(0.05)
        gate.set()
        assert {r.status_code for r in await asyncio.gather(*waiting, *sms)} == {200}
        assert shedder.web_in_flight == 0
        assert (await client.post(web)).status_code == 200  # room again


def test_the_gateway_wires_the_shedder_and_uvicorn_its_last_resort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path, web_max_in_flight=7, max_connections=300)
    app = create_app(settings)
    (shedder,) = [m for m in app.user_middleware if m.cls is WebLoadShedder]
    assert shedder.kwargs == {"web_limit": 7}

    import uvicorn

    from assistant import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **kwargs: seen.update(kwargs))
    cli._serve(settings, "127.0.0.1", 8000)
    assert seen["limit_concurrency"] == 300
