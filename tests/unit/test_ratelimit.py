"""Abuse limits on the anonymous web chat (review H2, H5; issue 16): floods get 429 with
``Retry-After`` and a plain sentence, other citizens go on, a refused message is not
stored, counts are shared through Redis, and a WebSocket flood is closed.

The gateway runs in process (create_app, lifespan, SQLite); no Rasa is needed (a
message the dialogue cannot answer is kept and answered "later", which is enough here).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant.api.ratelimit import FrameBudget
from assistant.app import create_app
from assistant.config import Settings
from assistant.services import Services
from channels.webchat import SOCKET_TOO_MANY


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        voice_preload=False,
        rasa_url="http://127.0.0.1:9",  # refused at once: messages are kept, not answered
        pending_retry_seconds=3600,
        **extra,
    )


def client(services_app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=services_app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_a_flood_of_sessions_gets_429_and_others_go_on(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, limit_sessions="5/minute"))
    async with app.router.lifespan_context(app):
        async with client(app, "203.0.113.7") as flood, client(app, "198.51.100.2") as other:
            codes = [
                (await flood.post("/api/webchat/sessions", json={})).status_code for _ in range(8)
            ]
            assert codes == [201] * 5 + [429] * 3
            refused = await flood.post("/api/webchat/sessions", json={})
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert "요청이 너무 많습니다" in refused.json()["detail"]
            assert "Too many requests" in refused.json()["detail"]
            assert (await other.post("/api/webchat/sessions", json={})).status_code == 201


async def test_a_session_past_its_message_limit_is_told_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    app = create_app(_settings(tmp_path, limit_session_messages="3/minute"))
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        async with client(app, "203.0.113.8") as citizen:
            session = (await citizen.post("/api/webchat/sessions", json={})).json()["session_id"]
            url = f"/api/webchat/sessions/{session}/messages"
            codes = [
                (await citizen.post(url, json={"text": f"질문 {i}"})).status_code for i in range(5)
            ]
            assert codes == [200, 200, 200, 429, 429]
            inbound = [
                t for t in await services.store.transcript(session) if t.direction == "inbound"
            ]
            assert [t.text for t in inbound] == ["질문 0", "질문 1", "질문 2"]
            # Another citizen's session from the same building (same address) goes on.
            other = (await citizen.post("/api/webchat/sessions", json={})).json()["session_id"]
            answered = await citizen.post(
                f"/api/webchat/sessions/{other}/messages", json={"text": "안녕하세요"}
            )
            assert answered.status_code == 200


async def test_counts_are_shared_by_gateways_through_redis(tmp_path: Path, redis_url: str) -> None:
    # Redis keeps counts for the window across runs: a fresh address for each run.
    address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    first = create_app(_settings(tmp_path / "a", redis_url=redis_url, limit_sessions="4/minute"))
    second = create_app(_settings(tmp_path / "b", redis_url=redis_url, limit_sessions="4/minute"))
    codes: list[int] = []
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        async with client(first, address) as one, client(second, address) as two:
            for gateway_client in (one, one, one, two, two):
                codes.append(
                    (await gateway_client.post("/api/webchat/sessions", json={})).status_code
                )
    assert codes == [201, 201, 201, 201, 429]


def test_a_socket_flood_is_closed(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, limit_socket_frames_per_second=2.0))
    with TestClient(app) as http:
        session = http.post("/api/webchat/sessions", json={}).json()["session_id"]
        with http.websocket_connect(f"/api/webchat/sessions/{session}/ws") as socket:
            socket.send_text("ping")
            assert socket.receive_text() == "pong"
            with pytest.raises(WebSocketDisconnect) as closed:
                for _ in range(50):
                    socket.send_text("ping")
                    socket.receive_text()
        assert closed.value.code == SOCKET_TOO_MANY


def test_too_many_socket_connections_from_one_address_are_refused(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, limit_sockets="3/minute"))
    with TestClient(app) as http:
        session = http.post("/api/webchat/sessions", json={}).json()["session_id"]
        for _ in range(3):
            with http.websocket_connect(f"/api/webchat/sessions/{session}/ws") as socket:
                socket.send_text("ping")
                assert socket.receive_text() == "pong"
        with pytest.raises(WebSocketDisconnect) as closed:
            with http.websocket_connect(f"/api/webchat/sessions/{session}/ws") as socket:
                socket.receive_text()
        assert closed.value.code == SOCKET_TOO_MANY


def test_a_frame_budget_allows_bursts_and_refills() -> None:
    now = [0.0]
    budget = FrameBudget(2.0, clock=lambda: now[0])
    assert [budget.take() for _ in range(5)] == [True] * 4 + [False]
    now[0] += 1.0
    assert [budget.take() for _ in range(3)] == [True, True, False]


def test_a_limit_that_cannot_be_read_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a limit"):
        _settings(tmp_path, limit_sessions="ten a minute")
