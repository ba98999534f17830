"""How long a web chat id works, and ending a conversation on a shared device (security
review M6; issue 16).

An id stops working after ``SOTONG_WEBCHAT_IDLE_HOURS`` (24) without a message — 404
with plain words, on every route and the push socket — unless the citizen is waiting
for a person. "End chat" erases the conversation: transcript, the dialogue's tracker
and any request for a person.

The whole gateway runs in process (create_app, lifespan, SQLite). No Rasa is needed:
nothing here is sent to the bot.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from assistant.app import create_app
from assistant.config import Settings
from assistant.conversation import ConversationNotFound
from assistant.messages import IncomingMessage
from assistant.services import Services
from assistant.store.models import ConversationRow, TurnRow


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        voice_preload=False,
        rasa_url="http://127.0.0.1:9",  # never reached
        pending_retry_seconds=3600,
    )


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, app.state.services


async def _session_with_a_message(client: httpx.AsyncClient, services: Services) -> tuple[str, int]:
    created = await client.post("/api/webchat/sessions", json={"language": "ko"})
    assert created.status_code == 201
    session_id = created.json()["session_id"]
    said, _ = await services.store.record_inbound(session_id, "주소는 종로구 세종대로예요", "ko")
    return session_id, said.id


async def _age(services: Services, session_id: str, hours: float) -> None:
    """As if ``hours`` had passed since anything happened in the conversation (SQLite
    does no date arithmetic: read, shift, write back)."""
    shift = dt.timedelta(hours=hours)
    async with services.engine.begin() as conn:
        row = (
            await conn.execute(
                select(ConversationRow.created_at, ConversationRow.updated_at).where(
                    ConversationRow.id == session_id
                )
            )
        ).one()
        await conn.execute(
            update(ConversationRow)
            .where(ConversationRow.id == session_id)
            .values(created_at=row.created_at - shift, updated_at=row.updated_at - shift)
        )
        turns = await conn.execute(
            select(TurnRow.id, TurnRow.created_at).where(TurnRow.conversation_id == session_id)
        )
        for turn_id, created_at in turns.all():
            await conn.execute(
                update(TurnRow).where(TurnRow.id == turn_id).values(created_at=created_at - shift)
            )


async def test_an_id_stops_working_after_a_day_without_messages(
    gateway: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = gateway
    session_id, _ = await _session_with_a_message(client, services)
    base = f"/api/webchat/sessions/{session_id}"
    await _age(services, session_id, 23)
    assert (await client.get(f"{base}/messages")).status_code == 200  # 23 hours: still works
    await _age(services, session_id, 2)
    refused = [
        await client.get(f"{base}/messages"),
        await client.post(f"{base}/messages", json={"text": "안녕하세요"}),
        await client.patch(base, json={"language": "en"}),
        await client.get(f"{base}/handoff"),
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    for response in refused:
        detail = response.json()["detail"]
        assert "expired after 24 hours without messages" in detail and "세종대로" not in detail
    # Nothing was added to the expired conversation.
    assert [t.text for t in await services.store.transcript(session_id)] == [
        "주소는 종로구 세종대로예요"
    ]


async def test_a_citizen_waiting_for_a_person_keeps_their_page(
    gateway: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = gateway
    session_id, _ = await _session_with_a_message(client, services)
    conversation = await services.store.get_conversation(session_id)
    assert conversation is not None
    # A video appointment booked for Monday, on Friday evening.
    await services.handoff.request(
        conversation, reason="sign_language", service=None, language="ko"
    )
    await _age(services, session_id, 60)
    assert (await client.get(f"/api/webchat/sessions/{session_id}/messages")).status_code == 200


async def test_end_chat_erases_the_conversation_and_its_request(
    gateway: tuple[httpx.AsyncClient, Services], settings: Settings
) -> None:
    client, services = gateway
    session_id, _ = await _session_with_a_message(client, services)
    other_id, _ = await _session_with_a_message(client, services)
    conversation = await services.store.get_conversation(session_id)
    assert conversation is not None
    status = await services.handoff.request(
        conversation, reason="sign_language", service=None, language="ko"
    )
    tracker = settings.var_dir / "rasa-tracker.db"
    with contextlib.closing(sqlite3.connect(tracker)) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255))")
        db.executemany("INSERT INTO events (sender_id) VALUES (?)", [(session_id,), (other_id,)])
        db.commit()
    pushed = services.push.subscribe(session_id)

    ended = await client.delete(f"/api/webchat/sessions/{session_id}")
    assert ended.status_code == 204 and ended.content == b""

    assert await services.store.get_conversation(session_id) is None
    assert await services.store.transcript(session_id) == []
    assert await services.handoff.queue.get(status.request_id) is None
    with contextlib.closing(sqlite3.connect(tracker)) as db:
        assert db.execute("SELECT sender_id FROM events").fetchall() == [(other_id,)]
    assert {"type": "ended"} in [pushed.get_nowait() for _ in range(pushed.qsize())]
    assert (await client.get(f"/api/webchat/sessions/{session_id}/messages")).status_code == 404
    assert (await client.delete(f"/api/webchat/sessions/{session_id}")).status_code == 404
    assert (await client.get(f"/api/webchat/sessions/{other_id}/messages")).status_code == 200


async def test_an_expired_id_can_still_be_erased(
    gateway: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = gateway
    session_id, _ = await _session_with_a_message(client, services)
    await _age(services, session_id, 48)
    assert (await client.delete(f"/api/webchat/sessions/{session_id}")).status_code == 204
    assert await services.store.get_conversation(session_id) is None


async def test_a_message_carries_its_source_for_the_limits_on_requests_for_a_person(
    gateway: tuple[httpx.AsyncClient, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web client's address goes with the message to the core (and from there to
    the limits per source of review H2), never into what the dialogue receives."""
    client, services = gateway
    created = await client.post("/api/webchat/sessions", json={"language": "ko"})
    session_id = created.json()["session_id"]
    seen: list[IncomingMessage] = []

    async def handle(message: IncomingMessage) -> None:
        seen.append(message)
        raise ConversationNotFound(message.conversation_id)

    monkeypatch.setattr(services.core, "handle", handle)
    await client.post(f"/api/webchat/sessions/{session_id}/messages", json={"text": "수어 통역"})
    assert [m.origin for m in seen] == ["127.0.0.1"]
    assert "127.0.0.1" not in str(seen[0].metadata)
