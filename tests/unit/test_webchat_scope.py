"""The web chat API serves web chat conversations only; a call or an SMS conversation
goes on in the web chat through a signed, expiring, single-use continuation link that
opens a new web chat conversation (security review H1); its settings are a closed
schema (H3). Issue 16.

The whole gateway runs in process (create_app, lifespan, SQLite). No Rasa is needed:
every request here is refused, or answered, before the dialogue is asked anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant import continuation
from assistant.actions.services import describe_service
from assistant.app import create_app
from assistant.config import Settings
from assistant.profiles.records import ACCESSIBILITY_KEYS
from assistant.services import Services
from assistant.store import Conversation
from channels.webchat import AccessibilityIn

PUBLIC = "https://sotong.test"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        public_url=PUBLIC,
        voice_preload=False,
        rasa_url="http://127.0.0.1:9",  # never reached: nothing here is sent to the bot
        pending_retry_seconds=3600,
    )


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, app.state.services


async def _call_with_an_answer(services: Services, language: str = "ko") -> Conversation:
    """A phone conversation whose bot gave a full answer about a catalog service."""
    call = await services.core.start(
        "voice", address="+821012345678", language=language, accessibility={"deaf": True}
    )
    service = next(iter(services.catalog))
    name = service.name.get(language)
    await services.store.record_inbound(call.id, "기초연금 알려 주세요", language)
    await services.store.record_outbound(call.id, f"[{name}] 안내입니다.", language)
    return call


async def test_another_channels_conversation_is_not_served_by_its_id(
    gateway: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = gateway
    # The review's reproduction: an SMS conversation's transcript read by its id.
    sms = await services.core.start("sms", address="+821098765432", language="ko")
    said, _ = await services.store.record_inbound(sms.id, "주민등록번호 물어봐도 돼요?", "ko")
    answer = await services.store.record_outbound(sms.id, "네, 안내해 드릴게요.", "ko")
    base = f"/api/webchat/sessions/{sms.id}"
    refused = [
        await client.get(f"{base}/messages"),
        await client.post(f"{base}/messages", json={"text": "안녕하세요"}),
        await client.patch(base, json={"language": "en"}),
        await client.get(f"{base}/handoff"),
        await client.get(f"{base}/messages/{answer.id}/speech"),
        await client.delete(base),  # nor erased through it
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    assert all("주민등록" not in r.text and "안내해" not in r.text for r in refused)
    # Nothing was added to it, and its language is unchanged.
    transcript = await services.store.transcript(sms.id)
    assert [t.id for t in transcript] == [said.id, answer.id]
    assert (await services.store.get_conversation(sms.id)).language == "ko"  # type: ignore[union-attr]


def test_the_push_socket_refuses_another_channels_conversation(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        services: Services = app.state.services
        sms = client.portal.call(  # type: ignore[union-attr]
            lambda: services.core.start("sms", address="+821098765432", language="ko")
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect(f"/api/webchat/sessions/{sms.id}/ws") as socket:
                socket.receive_text()
        assert closed.value.code == 4404


async def test_a_continuation_link_opens_a_new_linked_conversation_once(
    gateway: tuple[httpx.AsyncClient, Services], settings: Settings
) -> None:
    client, services = gateway
    call = await _call_with_an_answer(services, language="en")
    # The caller asked for a sign-language interpreter, who will join on the web.
    await services.handoff.request(call, reason="sign_language", service=None, language="en")
    link = await continuation.offer(services.store, settings, services.signing_key, call.id)
    assert link is not None and link.startswith(f"{PUBLIC}/?continue=")
    assert call.id not in link
    token = parse_qs(urlsplit(link).query)["continue"][0]

    opened = await client.post(
        "/api/webchat/sessions", json={"language": "ko", "continue_token": token}
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["session_id"] != call.id
    # The call's language and needs go on with the citizen.
    assert session["language"] == "en" and session["accessibility"] == {"deaf": True}
    transcript = await client.get(f"/api/webchat/sessions/{session['session_id']}/messages")
    messages = transcript.json()["messages"]
    assert [m["sender"] for m in messages] == ["bot", "bot"]
    service = next(iter(services.catalog))
    assert "phone call" in messages[0]["text"] and service.name.en in messages[0]["text"]
    # The service the call answered in full, from the catalog, in the citizen's language;
    # nothing of the call's transcript is copied.
    assert messages[1]["text"] == describe_service(service, "en")
    assert not [m for m in messages if "기초연금 알려" in m["text"]]

    # The open request followed the citizen: its banner shows on the new page, and the
    # interpreter's messages go there.
    queued = (await client.get(f"/api/webchat/sessions/{session['session_id']}/handoff")).json()
    assert queued["status"] is not None
    assert await services.handoff.active(call.id) is None
    entry = await services.handoff.active(session["session_id"])
    assert entry is not None and entry.channel == "webchat" and entry.reason == "sign_language"

    again = await client.post("/api/webchat/sessions", json={"continue_token": token})
    assert again.status_code == 410
    assert "expired or was already used" in again.json()["detail"]


async def test_expired_forged_and_malformed_links_are_refused_in_plain_words(
    gateway: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = gateway
    call = await _call_with_an_answer(services)
    expired = continuation.new_token(services.signing_key)
    await services.store.add_continuation(
        continuation.token_hash(expired), call.id, dt.datetime.now(dt.UTC) - dt.timedelta(1)
    )
    forged = continuation.new_token(b"another gateway's key")
    await services.store.add_continuation(
        continuation.token_hash(forged), call.id, dt.datetime.now(dt.UTC) + dt.timedelta(1)
    )
    for token in (expired, forged):
        refused = await client.post("/api/webchat/sessions", json={"continue_token": token})
        assert refused.status_code == 410, token
        assert "이 링크는 기한이 지났거나 이미 쓰였습니다" in refused.json()["detail"]
    malformed = await client.post("/api/webchat/sessions", json={"continue_token": call.id})
    assert malformed.status_code == 422
    # Only the forged one is still unused: it was refused before the database was asked.
    assert await services.store.claim_continuation(continuation.token_hash(forged)) == call.id


async def test_settings_are_known_needs_each_yes_or_no(
    gateway: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = gateway
    created = await client.post(
        "/api/webchat/sessions", json={"accessibility": {"easy_read": True, "deaf": True}}
    )
    assert created.status_code == 201
    session = created.json()["session_id"]
    assert created.json()["accessibility"] == {"easy_read": True, "deaf": True}
    flood = {f"k{i}": True for i in range(5000)}
    for bad in ({"is_admin": True}, {"easy_read": "yes"}, {"easy_read": 1}, flood):
        assert (
            await client.post("/api/webchat/sessions", json={"accessibility": bad})
        ).status_code == 422
        assert (
            await client.patch(f"/api/webchat/sessions/{session}", json={"accessibility": bad})
        ).status_code == 422
    changed = await client.patch(
        f"/api/webchat/sessions/{session}", json={"accessibility": {"easy_read": False}}
    )
    assert changed.json()["accessibility"] == {"easy_read": False, "deaf": True}
    stored = await services.store.get_conversation(session)
    assert stored is not None and stored.accessibility == {"easy_read": False, "deaf": True}


def test_the_settings_schema_knows_every_need_the_other_channels_know() -> None:
    assert set(AccessibilityIn.model_fields) == {*ACCESSIBILITY_KEYS, "easy_read"}


def test_a_link_is_signed_and_bound_to_its_key() -> None:
    token = continuation.new_token(b"k" * 32)
    assert continuation.is_signed(b"k" * 32, token)
    assert not continuation.is_signed(b"j" * 32, token)
    nonce, mac = token.split(".")
    other = "B" if nonce[-1] == "A" else "A"  # a changed nonce (never the same letter)
    assert not continuation.is_signed(b"k" * 32, f"{nonce[:-1]}{other}.{mac}")
    with pytest.raises(ValueError):
        continuation.new_token(b"")
