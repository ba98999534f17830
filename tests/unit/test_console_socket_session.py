"""The console socket stops as soon as its session stops (review L14).

A signed-out or disabled person must not be told of one more queue change or message:
the socket re-checks the session before each batch of notifications and, while idle,
on a timer, and closes with 4401 "signed out". The whole gateway runs in process
(Starlette's TestClient speaks WebSocket), as in test_interpreter_console.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant.accounts import Role, WebSession
from assistant.api.auth import SESSION_COOKIE
from assistant.api.routes import console as console_routes
from assistant.app import create_app
from assistant.handoff.service import HANDOFF_QUEUE_TOPIC, person_topic
from assistant.services import Services
from tests.consoles import BASE, PASSWORD, console_settings

USERNAME = "interp-a"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[TestClient, Services]]:
    app = create_app(console_settings(tmp_path))
    with TestClient(app, base_url=BASE) as client:
        yield client, app.state.services


def _sign_in(client: TestClient, services: Services) -> str:
    async def make() -> str:
        account = await services.accounts.create(USERNAME, PASSWORD, USERNAME, Role.INTERPRETER)
        return (await services.accounts.start_session(account)).token

    return client.portal.call(make)  # type: ignore[union-attr]


def _headers(token: str) -> dict[str, str]:
    return {"cookie": f"{SESSION_COOKIE}={token}", "origin": BASE}


@pytest.mark.parametrize("ending", ["sign_out", "disable"])
def test_no_notification_after_the_session_ends(
    live: tuple[TestClient, Services], ending: str
) -> None:
    client, services = live
    token = _sign_in(client, services)
    portal = client.portal
    assert portal is not None
    with client.websocket_connect("/api/console/ws", headers=_headers(token)) as ws:
        # Live: notifications arrive.
        services.push.publish(HANDOFF_QUEUE_TOPIC, {"type": "changed", "request_id": 1})
        assert ws.receive_json() == {"type": "changed", "request_id": 1}

        if ending == "sign_out":
            portal.call(services.accounts.end_session, token)
        else:
            portal.call(services.accounts.set_active, USERNAME, False)
        # No ping from the page: the next notification itself finds the session gone.
        services.push.publish(person_topic(USERNAME), {"type": "message", "request_id": 2})
        services.push.publish(HANDOFF_QUEUE_TOPIC, {"type": "changed", "request_id": 3})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()  # the close comes first: nothing was passed on
        assert closed.value.code == 4401
        assert closed.value.reason == "signed out"
    # Unsubscribed when the socket closed.
    assert services.push.publish(HANDOFF_QUEUE_TOPIC, {"type": "changed"}) == 0


@pytest.mark.timeout(30)  # without the timer it would wait for a frame that never comes
def test_an_idle_socket_closes_on_its_timer(
    live: tuple[TestClient, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without notifications or pings the socket still closes within the re-check time."""
    monkeypatch.setattr(console_routes, "SESSION_RECHECK_SECONDS", 0.05)
    client, services = live
    token = _sign_in(client, services)
    portal = client.portal
    assert portal is not None
    with client.websocket_connect("/api/console/ws", headers=_headers(token)) as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "pong"  # a live session stays open past the timer
        portal.call(services.accounts.end_session, token)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 4401


def test_a_live_session_is_checked_once_per_batch(
    live: tuple[TestClient, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notifications already waiting go out after one session read, not one each."""
    client, services = live
    token = _sign_in(client, services)
    portal = client.portal
    assert portal is not None
    reads = 0
    real_session = services.accounts.session

    async def counting(value: str) -> WebSession | None:
        nonlocal reads
        reads += 1
        return await real_session(value)

    async def publish_batch() -> None:
        # From the event loop without yielding: all five wait in the queue together.
        for request_id in range(1, 6):
            services.push.publish(
                HANDOFF_QUEUE_TOPIC, {"type": "changed", "request_id": request_id}
            )

    with client.websocket_connect("/api/console/ws", headers=_headers(token)) as ws:
        monkeypatch.setattr(services.accounts, "session", counting)
        portal.call(publish_batch)
        received = [ws.receive_json()["request_id"] for _ in range(5)]
    assert received == [1, 2, 3, 4, 5]
    assert reads == 1
