"""``POST /webhooks/twilio/voice`` on a small app: TwiML that connects the stream, and a
plain spoken answer instead of Twilio's error tone when the line cannot serve."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from assistant.api.ratelimit import RateLimits
from assistant.config import Settings
from assistant.metrics import Metrics
from assistant.profiles import ProfileError
from channels.voice import adapter
from channels.voice.adapter import STREAM_TOKEN_SECONDS, stream_token_problem
from channels.voice.admission import CallAdmission

PUBLIC = "https://sotong.example"
TOKEN = "e" * 32
KEY = b"k" * 32  # the gateway's signing key (SOTONG_SECRET_KEY)
CALL_SID = "CA" + "c" * 32
CALLER = "+821012345678"


@dataclass
class Fakes:
    started: list[tuple[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    store_down: bool = False
    voice_problem: str | None = None
    max_calls: int = 12
    texts: list[tuple[str, str, str | None]] = field(default_factory=list)  # to, body, key


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
async def client(fakes: Fakes, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async def start(channel: str, address: str, language: str = "ko", accessibility=None):
        if fakes.store_down:
            raise ConnectionError("database is down")
        fakes.started.append((channel, language))
        return SimpleNamespace(id="d" * 32)

    async def call_started(call_sid: str, **_: object) -> None:
        fakes.calls.append(call_sid)

    async def get(call_sid: str) -> SimpleNamespace | None:
        known = call_sid in fakes.calls
        return SimpleNamespace(conversation_id="d" * 32) if known else None

    async def send_sms(
        to: str, body: str, *, kind: str, dedupe_key: str | None = None
    ) -> list[int]:
        if dedupe_key not in {key for _, _, key in fakes.texts}:
            fakes.texts.append((to, body, dedupe_key))
        return [1]

    async def no_profile(phone: str) -> None:
        if not phone.startswith("+"):
            raise ProfileError("not E.164")

    settings = Settings(
        _env_file=None, var_dir=tmp_path, public_url=PUBLIC, twilio_auth_token=TOKEN
    )
    app = FastAPI()
    app.include_router(adapter.router)
    app.state.services = SimpleNamespace(
        settings=settings,
        signing_key=KEY,
        metrics=Metrics(),
        voice=SimpleNamespace(problem=fakes.voice_problem),
        profiles=SimpleNamespace(get=no_profile),
        core=SimpleNamespace(start=start),
        calls=SimpleNamespace(call_started=call_started, get=get),
        call_admission=CallAdmission(fakes.max_calls),
        outbox=SimpleNamespace(send_sms=send_sms),
        limits=RateLimits(settings),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield http


async def ring(
    client: httpx.AsyncClient, caller: str = CALLER, call_sid: str = CALL_SID
) -> httpx.Response:
    form = {"CallSid": call_sid, "From": caller, "To": "+15005550006", "CallStatus": "ringing"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/webhooks/twilio/voice", form)
    return await client.post(
        "/webhooks/twilio/voice", data=form, headers={"X-Twilio-Signature": signature}
    )


async def test_a_call_is_connected_to_the_stream_with_a_bound_token(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    response = await ring(client)
    assert response.status_code == 200
    stream = ET.fromstring(response.text).find("./Connect/Stream")
    assert stream is not None and stream.get("url") == "wss://sotong.example/webhooks/twilio/media"
    parameters = {p.get("name"): p.get("value") or "" for p in stream.findall("Parameter")}
    assert set(parameters) == {"conversation_id", "token"}
    assert parameters["conversation_id"] == "d" * 32
    # Signed with the gateway's key, good for a few minutes (review L1).
    token, now = parameters["token"], time.time()
    assert stream_token_problem(KEY, token, CALL_SID, "d" * 32, now=now) is None
    assert now + STREAM_TOKEN_SECONDS - 5 <= int(token.split(".")[0]) <= now + STREAM_TOKEN_SECONDS
    assert stream_token_problem(KEY, token, "CA" + "f" * 32, "d" * 32, now=now) == "forged"
    assert fakes.started == [("voice", "ko")] and fakes.calls == [CALL_SID]
    assert CALLER not in response.text  # the number is not echoed into the stream


async def test_a_retried_webhook_continues_the_same_conversation(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    first, again = await ring(client), await ring(client)
    conversation = ET.fromstring(first.text).find("./Connect/Stream/Parameter")
    assert conversation is not None and conversation.get("value") == "d" * 32
    assert conversation.get("value", "") in again.text
    assert fakes.started == [("voice", "ko")]  # one conversation, not two


async def test_an_anonymous_caller_is_served_without_a_profile(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    response = await ring(client, caller="anonymous")
    assert response.status_code == 200 and "<Stream" in response.text


async def test_a_store_fault_gets_a_spoken_apology_not_an_error(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.store_down = True
    response = await ring(client)
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    say = root.find("Say")
    assert say is not None and "110번" in (say.text or "") and say.get("language") == "ko-KR"
    assert root.find("Hangup") is not None


@pytest.mark.parametrize("fakes", [Fakes(voice_problem="model failed")])
async def test_no_speech_engine_gets_a_spoken_apology(client: httpx.AsyncClient) -> None:
    response = await ring(client)
    root = ET.fromstring(response.text)
    assert root.find("Say") is not None and root.find("Connect") is None


async def test_unsigned_calls_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/twilio/voice", data={"CallSid": CALL_SID})
    assert response.status_code == 403


@pytest.mark.parametrize("fakes", [Fakes(max_calls=1)])
async def test_a_full_line_says_busy_and_texts_the_caller(
    client: httpx.AsyncClient, fakes: Fakes
) -> None:
    """Review M10: past SOTONG_VOICE_MAX_CALLS the next caller hears a short "busy" in
    their language and gets a text saying they can ask by SMS; never silence, never a
    stream. Twilio retrying that webhook texts no second time."""
    assert "<Stream" in (await ring(client)).text  # the one place on the line
    busy_sid = "CA" + "b" * 32
    for _ in range(2):  # the webhook and Twilio's retry of it
        response = await ring(client, caller="+821099998888", call_sid=busy_sid)
        root = ET.fromstring(response.text)
        say = root.find("Say")
        assert say is not None and "전화가 많아 연결할 수 없습니다" in (say.text or "")
        assert root.find("Hangup") is not None and root.find("Connect") is None
    assert [(to, key) for to, _, key in fakes.texts] == [("+821099998888", f"line-busy:{busy_sid}")]
    assert "문자로 보내시면 바로 답해 드립니다" in fakes.texts[0][1]
    assert "다시 전화" in fakes.texts[0][1]
    # A withheld number hears the same, and nothing is texted.
    withheld = await ring(client, caller="anonymous", call_sid="CA" + "a" * 32)
    assert "<Say" in withheld.text and len(fakes.texts) == 1
    # The first call's webhook, retried, is still the same call on the line.
    assert "<Stream" in (await ring(client)).text
