"""A Media Stream's ``start`` (review L1): the token is ours, fresh, and used once, for a
call that is still in progress.

The voice webhook and the media WebSocket run on a small app over a real call store
(SQLite, migrated); the call's session is a stand-in (no speech engines), and the
stream is driven with Twilio's own ``start`` JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant.api.ratelimit import RateLimits
from assistant.calls import CallRecord, CallStatus, SqlCallStore
from assistant.config import Settings, to_async_url
from assistant.metrics import Metrics
from assistant.profiles import ProfileError
from assistant.store.migrate import upgrade
from channels.voice import adapter
from channels.voice.adapter import STREAM_TOKEN_SECONDS, stream_token, stream_token_problem
from channels.voice.admission import CallAdmission
from tests.media_streams_peer import new_sid, signed_headers, websocket_url
from tests.stackutil import PUBLIC_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from tests.twilio_wire import VOICE_PATH, call_form, signed
from voice.events import PlaceMark

MEDIA_PATH = "/webhooks/twilio/media"
KEY = b"gateway signing key, 32 bytes.."
CALLER = "+821012345678"
CONVERSATION = "d" * 32
REFUSED = 1008  # as a handshake without Twilio's signature


class StandInSession:
    """The call's session without speech engines: it starts (placing a mark, so the
    caller's side knows), takes events, closes."""

    def __init__(self, sessions: list[StandInSession], **kwargs: Any) -> None:
        self.dialogue = SimpleNamespace(turns=0, handoff=None)
        self.started = self.closed = False
        self._send = kwargs["send"]
        sessions.append(self)

    async def start(self) -> None:
        self.started = True
        await self._send(PlaceMark("greeting"))

    async def handle(self, event: object) -> None:
        pass

    async def close(self) -> None:
        self.closed = True


@dataclass
class Line:
    client: TestClient
    calls: SqlCallStore
    metrics: Metrics
    sessions: list[StandInSession] = field(default_factory=list)

    def ring(self, call_sid: str) -> dict[str, str]:
        """Twilio's voice webhook for ``call_sid``; the stream parameters it answers."""
        form = call_form(CALLER, call_sid)
        response = self.client.post(VOICE_PATH, data=form, headers=signed(form, path=VOICE_PATH))
        assert response.status_code == 200, response.text
        stream = ET.fromstring(response.text).find("./Connect/Stream")
        assert stream is not None, response.text
        return {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}

    def record(self, call_sid: str) -> CallRecord:
        record = self.client.portal.call(self.calls.get, call_sid)  # type: ignore[union-attr]
        assert record is not None
        return record

    def ended(self, call_sid: str) -> CallRecord:
        """The record once the stream's end is written (just after the socket closes)."""
        for _ in range(100):
            record = self.record(call_sid)
            if record.outcome is not None:
                return record
            time.sleep(0.02)
        raise AssertionError("the stream's end was never recorded")

    def refusals(self, reason: str) -> float:
        return self.metrics.rejected_webhooks.labels("twilio", reason)._value.get()


def start_frame(call_sid: str, parameters: dict[str, str]) -> str:
    """Twilio's ``start`` message on a bidirectional stream."""
    stream_sid = new_sid("MZ")
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "start": {
                "accountSid": TWILIO_ACCOUNT_SID,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
            "streamSid": stream_sid,
        }
    )


def stop_frame() -> str:
    return json.dumps({"event": "stop", "sequenceNumber": "2", "streamSid": new_sid("MZ")})


def media_headers() -> dict[str, str]:
    return signed_headers(TWILIO_AUTH_TOKEN, websocket_url(PUBLIC_URL, MEDIA_PATH))


def closing_code(line: Line, call_sid: str, parameters: dict[str, str]) -> int:
    """Open a stream, send ``start``, and return the code the gateway closes it with."""
    with line.client.websocket_connect(MEDIA_PATH, headers=media_headers()) as ws:
        ws.send_text(start_frame(call_sid, parameters))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    return closed.value.code


@pytest.fixture
def line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Line]:
    url = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(url)
    calls = SqlCallStore.from_url(url)
    sessions: list[StandInSession] = []
    monkeypatch.setattr(adapter, "CallSession", lambda **kw: StandInSession(sessions, **kw))

    async def start(channel: str, address: str, **_: object) -> SimpleNamespace:
        return SimpleNamespace(id=CONVERSATION)

    async def conversation(conversation_id: str) -> SimpleNamespace:
        return SimpleNamespace(address=CALLER, language="ko")

    async def no_profile(phone: str) -> None:
        raise ProfileError("no profile")

    settings = Settings(
        _env_file=None,
        var_dir=tmp_path,
        public_url=PUBLIC_URL,
        twilio_auth_token=TWILIO_AUTH_TOKEN,
    )
    metrics = Metrics()
    app = FastAPI()
    app.include_router(adapter.router)
    app.state.services = SimpleNamespace(
        settings=settings,
        metrics=metrics,
        signing_key=KEY,
        calls=calls,
        voice=SimpleNamespace(problem=None),
        profiles=SimpleNamespace(get=no_profile),
        core=SimpleNamespace(start=start),
        store=SimpleNamespace(get_conversation=conversation),
        call_admission=CallAdmission(12),
        phone_menu=(),
        limits=RateLimits(settings),
    )
    with TestClient(app, base_url=PUBLIC_URL) as client:
        yield Line(client, calls, metrics, sessions)
        client.portal.call(calls.close)  # type: ignore[union-attr]


# ---- the token ------------------------------------------------------------------------
def test_a_token_is_good_for_its_call_and_conversation_until_it_expires() -> None:
    sid, now = "CA" + "1" * 32, 1_800_000_000.0
    token = stream_token(KEY, sid, CONVERSATION, now=now)
    assert token.startswith(f"{int(now) + STREAM_TOKEN_SECONDS}.")
    assert stream_token_problem(KEY, token, sid, CONVERSATION, now=now) is None
    late = now + STREAM_TOKEN_SECONDS
    assert stream_token_problem(KEY, token, sid, CONVERSATION, now=late) is None
    assert stream_token_problem(KEY, token, sid, CONVERSATION, now=late + 1) == "expired"
    for other in (
        ("CA" + "2" * 32, CONVERSATION, KEY),
        (sid, "e" * 32, KEY),
        (sid, CONVERSATION, b"another gateway's key"),
        (sid, "", KEY),
    ):
        assert stream_token_problem(other[2], token, other[0], other[1], now=now) == "forged"


def test_a_tampered_or_malformed_token_is_forged_never_an_error() -> None:
    sid, now = "CA" + "1" * 32, 1_800_000_000.0
    expires, mac = stream_token(KEY, sid, CONVERSATION, now=now).split(".")
    stretched = f"{int(expires) + 86400}.{mac}"
    flipped = f"{expires}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}"
    for bad in ("", mac, f"{expires}.", stretched, flipped, f"{expires}.{mac}x", "１.ab", "1.é"):
        assert stream_token_problem(KEY, bad, sid, CONVERSATION, now=now) == "forged", bad


def test_the_twilio_auth_token_no_longer_signs_streams() -> None:
    """Review L1: the key is derived from SOTONG_SECRET_KEY with a purpose label; neither
    the old token (HMAC of the auth token) nor one made with the bare key passes."""
    sid, now = "CA" + "1" * 32, 1_800_000_000.0
    message = f"{sid}:{CONVERSATION}".encode()
    old = hmac.new(TWILIO_AUTH_TOKEN.encode(), message, hashlib.sha256).hexdigest()
    expires = int(now) + 60
    bare = hmac.new(KEY, f"{sid}:{CONVERSATION}:{expires}".encode(), hashlib.sha256).hexdigest()
    with_auth_token = stream_token(TWILIO_AUTH_TOKEN.encode(), sid, CONVERSATION, now=now)
    for token in (old, f"{expires}.{bare}", with_auth_token):
        assert stream_token_problem(KEY, token, sid, CONVERSATION, now=now) == "forged"


# ---- the stream -----------------------------------------------------------------------
def test_a_replayed_start_is_refused_while_the_call_lasts_and_after_it(line: Line) -> None:
    sid = new_sid("CA")
    parameters = line.ring(sid)
    assert parameters["conversation_id"] == CONVERSATION
    with line.client.websocket_connect(MEDIA_PATH, headers=media_headers()) as ws:
        ws.send_text(start_frame(sid, parameters))
        assert json.loads(ws.receive_text())["event"] == "mark"  # the call started
        # The same start again, at once, on another socket: refused; the call goes on.
        with structlog.testing.capture_logs() as logs:
            assert closing_code(line, sid, parameters) == REFUSED
        assert [e["reason"] for e in logs if e["event"] == "voice.stream_refused"] == [
            "call_already_started"
        ]
        assert len(line.sessions) == 1 and not line.sessions[0].closed
        ws.send_text(stop_frame())
        with pytest.raises(WebSocketDisconnect):
            ws.receive_text()
        record = line.ended(sid)  # (leaving this block would cancel the server's side)
    assert line.sessions[0].started and line.sessions[0].closed
    assert record.stream_started_at is not None and record.outcome == "caller_hung_up"
    # After the call: the captured start is refused, and the record is left as it was.
    with structlog.testing.capture_logs() as logs:
        assert closing_code(line, sid, parameters) == REFUSED
    assert [e["reason"] for e in logs if e["event"] == "voice.stream_refused"] == [
        "call_already_started"
    ]
    assert len(line.sessions) == 1
    assert line.record(sid).outcome == "caller_hung_up"
    assert line.refusals("stream_call_already_started") == 2


def test_a_start_for_a_call_that_is_over_is_refused(line: Line) -> None:
    sid = new_sid("CA")
    parameters = line.ring(sid)
    line.client.portal.call(line.calls.status_update, sid, "completed")  # type: ignore[union-attr]
    with structlog.testing.capture_logs() as logs:
        assert closing_code(line, sid, parameters) == REFUSED
    assert [e["reason"] for e in logs if e["event"] == "voice.stream_refused"] == ["call_ended"]
    assert line.sessions == [] and line.record(sid).stream_started_at is None
    assert line.record(sid).status is CallStatus.COMPLETED


def test_a_start_for_a_call_never_answered_here_is_refused(line: Line) -> None:
    sid = new_sid("CA")
    token = stream_token(KEY, sid, CONVERSATION, now=time.time())  # a valid token, no call
    parameters = {"conversation_id": CONVERSATION, "token": token}
    assert closing_code(line, sid, parameters) == REFUSED
    assert line.sessions == [] and line.refusals("stream_call_unknown") == 1


def test_an_expired_or_foreign_token_is_refused_and_does_not_use_up_the_call(
    line: Line,
) -> None:
    sid = new_sid("CA")
    parameters = line.ring(sid)
    stale = time.time() - STREAM_TOKEN_SECONDS - 1
    expired = {**parameters, "token": stream_token(KEY, sid, CONVERSATION, now=stale)}
    old_scheme = hmac.new(
        TWILIO_AUTH_TOKEN.encode(), f"{sid}:{CONVERSATION}".encode(), hashlib.sha256
    ).hexdigest()
    with structlog.testing.capture_logs() as logs:
        assert closing_code(line, sid, expired) == REFUSED
        assert closing_code(line, sid, {**parameters, "token": old_scheme}) == REFUSED
        assert closing_code(line, sid, {**parameters, "token": "é" * 64}) == REFUSED
    reasons = [e["reason"] for e in logs if e["event"] == "voice.stream_refused"]
    assert reasons == ["token_expired", "token_forged", "token_forged"]
    assert line.refusals("stream_token_expired") == 1
    assert line.refusals("stream_token_forged") == 2
    assert line.sessions == [] and line.record(sid).stream_started_at is None
    # Twilio's own start, with the token of the TwiML, still opens the call.
    with line.client.websocket_connect(MEDIA_PATH, headers=media_headers()) as ws:
        ws.send_text(start_frame(sid, parameters))
        assert json.loads(ws.receive_text())["event"] == "mark"
        ws.send_text(stop_frame())
        with pytest.raises(WebSocketDisconnect):
            ws.receive_text()
        line.ended(sid)  # (leaving this block first would cancel the write of the end)
    assert len(line.sessions) == 1 and line.sessions[0].started
