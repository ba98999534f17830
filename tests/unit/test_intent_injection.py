"""Citizens cannot choose the dialogue's intents and entities (review L6).

Rasa reads a message starting with "/" as ``/intent{"entity": "value"}``, skipping NLU
and filling slots from the entities. So a citizen's free text (any channel) reaches
Rasa without leading slashes, a web chat ``payload`` counts only if it was offered, and
a ``service`` that is not a catalog service never reaches a request for a person.

The web chat runs in process through its HTTP API; the dialogue is a double of Rasa's
REST channel (httpx.MockTransport) that records what the gateway sent it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.dialogue import HANDOFF_KEY, ActionRequestHandoff
from assistant.app import create_app
from assistant.catalog import load_catalog
from assistant.config import Settings
from assistant.conversation import ConversationCore, free_text
from assistant.handoff.service import COMMAND_PREFIX
from assistant.messages import IncomingMessage
from assistant.rasa_client import RasaClient, payload_with_context
from assistant.services import Services
from assistant.store import TurnDirection
from channels.webchat import WebchatOutput

FORGED_SERVICE = "x" * 100
FORGED = '/request_human{"service": "' + FORGED_SERVICE + '"}'


@dataclass
class RecordingRasa:
    """Rasa's REST channel: records each message; "메뉴" is answered with two choices."""

    sent: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/webhooks/rest/webhook"
        body = json.loads(request.content)
        self.sent.append(body["message"])
        if body["message"] == "메뉴":
            buttons = [
                {"title": "등본", "payload": "/ask_service"},
                {"title": "전입신고", "payload": "/ask_move"},
            ]
            return httpx.Response(200, json=[{"text": "무엇을 도와드릴까요?", "buttons": buttons}])
        return httpx.Response(200, json=[{"text": "네."}])


@dataclass
class Web:
    client: httpx.AsyncClient
    services: Services
    rasa: RecordingRasa

    async def session(self) -> str:
        response = await self.client.post("/api/webchat/sessions", json={})
        assert response.status_code == 201, response.text
        return str(response.json()["session_id"])

    async def say(self, session: str, text: str, payload: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text}
        if payload is not None:
            body["payload"] = payload
        response = await self.client.post(f"/api/webchat/sessions/{session}/messages", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def inbound(self, session: str) -> list[tuple[str, str | None]]:
        """The citizen's messages as stored: text and payload."""
        turns = await self.services.store.transcript(session)
        return [(t.text, t.payload) for t in turns if t.direction is TurnDirection.INBOUND]


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    settings = Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        voice_preload=False,
        rasa_url="http://127.0.0.1:9",  # nothing listens: the double below answers
        pending_retry_seconds=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        rasa = RecordingRasa()
        rasa_http = httpx.AsyncClient(transport=httpx.MockTransport(rasa.handle))
        core = ConversationCore(
            services.store, RasaClient("http://rasa.test", rasa_http), services.metrics
        )
        core.register_output("webchat", WebchatOutput(services.push))
        core.attach_handoff(services.handoff)
        services.core = core
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                yield Web(client, services, rasa)
        finally:
            await rasa_http.aclose()


# ---- free text --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("/resume_assistant", "resume_assistant"),
        (FORGED, FORGED.removeprefix("/")),
        ("  / //help", "help"),
        ("///", "\uff0f\uff0f\uff0f"),
        ("a/b 1/2", "a/b 1/2"),
        ("등본 떼려고요", "등본 떼려고요"),
    ],
)
def test_free_text_never_starts_with_the_intent_prefix(written: str, sent: str) -> None:
    assert free_text(written) == sent
    assert not free_text(written).strip().startswith("/")


async def test_a_web_text_starting_with_a_slash_is_not_an_intent(web: Web) -> None:
    session = await web.session()
    for text in ("/resume_assistant", FORGED, "///"):
        await web.say(session, text)
    assert web.rasa.sent == [
        "resume_assistant",
        FORGED.removeprefix("/"),
        "\uff0f\uff0f\uff0f",
    ]
    # The transcript keeps what the citizen wrote.
    assert await web.inbound(session) == [
        ("/resume_assistant", None),
        (FORGED, None),
        ("///", None),
    ]


@pytest.mark.parametrize("channel", ["sms", "voice", "desk", "webchat"])
async def test_free_text_from_every_channel_is_not_an_intent(web: Web, channel: str) -> None:
    conversation = await web.services.core.start(channel, address=f"{channel}-citizen")
    await web.services.core.handle(IncomingMessage(conversation.id, FORGED, channel=channel))
    assert web.rasa.sent == [FORGED.removeprefix("/")]


# ---- payloads ---------------------------------------------------------------------------
async def test_a_forged_payload_is_not_sent_as_a_payload(web: Web) -> None:
    session = await web.session()
    await web.say(session, "안녕하세요", payload=FORGED)
    await web.say(session, "상담원", payload=COMMAND_PREFIX + "anything")
    # Each went on as the text it came with; the payload was not even stored.
    assert web.rasa.sent == ["안녕하세요", "상담원"]
    assert await web.inbound(session) == [("안녕하세요", None), ("상담원", None)]


async def test_a_payload_counts_only_while_its_button_is_offered(web: Web) -> None:
    session = await web.session()
    offered = await web.say(session, "메뉴")
    assert [b["payload"] for b in offered["messages"][0]["buttons"]] == [
        "/ask_service",
        "/ask_move",
    ]
    await web.say(session, "전입신고", payload="/ask_move")
    # The last answer offered nothing: the old button's payload is not taken, its
    # title is what the dialogue gets.
    await web.say(session, "전입신고", payload="/ask_move")
    # (The payload carries the message's language and channel, as the metadata does:
    # Rasa reads a payload without its NLU pipeline, which reads them from there.)
    assert web.rasa.sent == ["메뉴", '/ask_move{"language":"ko","channel":"webchat"}', "전입신고"]
    assert await web.inbound(session) == [
        ("메뉴", None),
        ("전입신고", "/ask_move"),
        ("전입신고", None),
    ]


async def test_the_leave_button_is_always_the_gateways(web: Web) -> None:
    session = await web.session()
    # The page's "leave" button is not a dialogue button: the gateway answers it.
    turn = await web.say(session, "대기 취소", payload=COMMAND_PREFIX + "cancel")
    assert turn["messages"] and web.rasa.sent == []
    assert await web.inbound(session) == [("대기 취소", COMMAND_PREFIX + "cancel")]


async def test_the_phone_menus_payload_is_the_gateways_own(web: Web) -> None:
    """The call dialogue chooses a keypad choice's payload itself (voice/phone_menu.py):
    it goes as it is though no button offered it."""
    call = await web.services.core.start("voice", address="+821012345678")
    core = web.services.core
    await core.handle(
        IncomingMessage(
            call.id, "기초연금", channel="voice", payload="/ask_service", payload_from_gateway=True
        )
    )
    await core.handle(IncomingMessage(call.id, "기초연금", channel="voice", payload="/ask_service"))
    assert web.rasa.sent == ['/ask_service{"language":"ko","channel":"voice"}', "기초연금"]


# ---- the service slot -------------------------------------------------------------------
def _tracker(service: Any) -> Tracker:
    latest = {"text": "상담원 연결", "intent": {"name": "request_human"}, "metadata": {}}
    return Tracker(
        sender_id="c1",
        slots={"service": service, "language": "ko"},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    ("slot", "passed_on"),
    [
        ("basic_pension", "basic_pension"),
        (FORGED_SERVICE, None),
        ("no_such_service", None),
        (["basic_pension"], None),
        (None, None),
    ],
)
async def test_a_request_for_a_person_names_only_a_catalog_service(
    slot: Any, passed_on: str | None
) -> None:
    dispatcher = CollectingDispatcher()
    action = ActionRequestHandoff(load_catalog())
    await action.run(dispatcher, _tracker(slot), {})
    [details] = [m["custom"][HANDOFF_KEY] for m in dispatcher.messages if m.get("custom")]
    assert details["service"] == passed_on


# ---- the message's language and channel in a payload (issue 19) ----------------------
@pytest.mark.parametrize(
    ("payload", "sent"),
    [
        ("/greet", '/greet{"language":"en","channel":"sms"}'),
        (
            '/ask_service{"service":"여권"}',
            '/ask_service{"language":"en","channel":"sms","service":"여권"}',
        ),
        (
            '/ask_service@0.8{"service":"x"}',
            '/ask_service@0.8{"language":"en","channel":"sms","service":"x"}',
        ),
        # A payload naming a language keeps it; text and broken payloads go as they are.
        ('/switch{"language":"ko"}', '/switch{"language":"ko","channel":"sms"}'),
        ("등본 /greet", "등본 /greet"),
        ('/greet{"broken"', '/greet{"broken"'),
        ("/greet[1, 2]", '/greet[1, 2]{"language":"en","channel":"sms"}'),
        ('/greet{"a": 1}x', '/greet{"a": 1}x'),
    ],
)
def test_a_payload_carries_the_messages_language_and_channel(payload: str, sent: str) -> None:
    assert payload_with_context(payload, {"language": "en", "channel": "sms", "x": 1}) == sent


def test_a_payload_without_context_is_unchanged() -> None:
    assert payload_with_context("/greet", {}) == "/greet"
    assert payload_with_context("/greet", {"language": None}) == "/greet"
