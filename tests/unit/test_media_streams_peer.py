"""The Twilio Media Streams peer, against a tiny local WebSocket server playing our side."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response

from channels.voice.wire import parse_frame
from tests.media_streams_peer import (
    FRAME_BYTES,
    TwilioMediaPeer,
    pcm_to_ulaw,
    signed_headers,
    ulaw_to_pcm,
    websocket_url,
)
from voice.events import CallerAudio, CallStarted, CallStopped, KeyPressed, StreamConnected

STREAM = "MZ" + "18ad3ab5" * 4
CALL = "CA" + "2b1c" * 8
ACCOUNT = "AC" + "5ad0" * 8


@dataclass
class Bot:
    """Our side, minimal: records what Twilio's side sends and lets the test answer."""

    server: Server | None = None
    connection: ServerConnection | None = None
    headers: Headers | None = None
    frames: list[tuple[float, str]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    refuse: bool = False

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/webhooks/twilio/media"

    def messages(self, event: str | None = None) -> list[dict[str, Any]]:
        decoded = [json.loads(text) for _, text in self.frames if text.startswith("{")]
        return [m for m in decoded if event is None or m.get("event") == event]

    async def handler(self, connection: ServerConnection) -> None:
        self.connection, self.headers = connection, connection.request.headers  # type: ignore[union-attr]
        self.connected.set()
        try:
            async for text in connection:
                self.frames.append((time.monotonic(), str(text)))
        except ConnectionClosed:
            pass
        finally:
            self.gone.set()

    def process_request(self, _: ServerConnection, request: Request) -> Response | None:
        if self.refuse:
            return _connection_refused(request)
        return None

    async def send(self, **message: Any) -> None:
        assert self.connection is not None
        await self.connection.send(json.dumps({"streamSid": STREAM, **message}))

    async def play(self, ulaw: bytes) -> None:
        await self.send(event="media", media={"payload": base64.b64encode(ulaw).decode()})

    async def mark(self, name: str) -> None:
        await self.send(event="mark", mark={"name": name})


def _connection_refused(request: Request) -> Response:
    del request
    return Response(403, "Forbidden", Headers({"Content-Length": "0"}), b"")


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot()
    async with serve(bot.handler, "127.0.0.1", 0, process_request=bot.process_request) as server:
        bot.server = server
        yield bot


def tone(seconds: float, hz: float = 440.0) -> bytes:
    """16-bit 8 kHz PCM of a sine (loud enough to be told from line silence)."""
    count = int(8000 * seconds)
    samples = (int(8000 * math.sin(2 * math.pi * hz * i / 8000)) for i in range(count))
    return struct.pack(f"<{count}h", *samples)


def payload(message: dict[str, Any]) -> bytes:
    return base64.b64decode(message["media"]["payload"])


# ---- what Twilio's side sends ---------------------------------------------------------


async def test_connected_start_then_media_exactly_as_twilio(bot: Bot) -> None:
    parameters = {"caller": "+821012345678", "token": "t0k"}
    async with TwilioMediaPeer.connect(
        bot.url,
        headers={"X-Twilio-Signature": "sig"},
        call_sid=CALL,
        stream_sid=STREAM,
        account_sid=ACCOUNT,
        parameters=parameters,
        realtime=False,
    ) as peer:
        await peer.say(tone(0.1))
    messages = bot.messages()
    assert bot.headers is not None and bot.headers["X-Twilio-Signature"] == "sig"
    assert messages[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert messages[1] == {
        "event": "start",
        "sequenceNumber": "1",
        "start": {
            "accountSid": ACCOUNT,
            "streamSid": STREAM,
            "callSid": CALL,
            "tracks": ["inbound"],
            "customParameters": parameters,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
        "streamSid": STREAM,
    }
    media = bot.messages("media")
    assert len(media) == 5  # 100 ms = five 20 ms frames
    for index, message in enumerate(media, start=1):
        assert message["sequenceNumber"] == str(index + 1)
        assert message["streamSid"] == STREAM
        assert message["media"]["track"] == "inbound"
        assert message["media"]["chunk"] == str(index)
        assert message["media"]["timestamp"] == str((index - 1) * 20)
        assert len(payload(message)) == FRAME_BYTES
    assert b"".join(payload(m) for m in media) == pcm_to_ulaw(tone(0.1))
    assert messages[-1] == {
        "event": "stop",
        "sequenceNumber": "7",
        "stop": {"accountSid": ACCOUNT, "callSid": CALL},
        "streamSid": STREAM,
    }


async def test_every_frame_parses_with_the_gateways_serializer(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, parameters={"a": "b"}, realtime=False) as peer:
        await peer.say(tone(0.04))
        await peer.press("#")
    events = [parse_frame(text) for _, text in bot.frames]
    assert isinstance(events[0], StreamConnected)
    assert isinstance(events[1], CallStarted) and events[1].parameters == {"a": "b"}
    assert [type(e) for e in events[2:]] == [CallerAudio, CallerAudio, KeyPressed, CallStopped]


async def test_line_silence_flows_every_20_ms_in_real_time(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url) as peer:
        await asyncio.sleep(0.5)
        media = bot.messages("media")
        assert 18 <= len(media) <= 30  # ~25; loose: a loaded machine delays ticks
        assert all(payload(m) == b"\xff" * FRAME_BYTES for m in media)
        stamps = [int(m["media"]["timestamp"]) for m in media]
        assert stamps == sorted(stamps) and stamps[-1] - stamps[0] >= 380
        assert peer.started_at is not None
    sequence = [int(m["sequenceNumber"]) for m in bot.messages() if "sequenceNumber" in m]
    assert sequence == list(range(1, len(sequence) + 1))


async def test_faint_noise_is_quiet_but_not_digital_silence(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, noise=True, seed=3) as peer:
        await asyncio.sleep(0.1)
        assert not peer.closed
    frames = b"".join(payload(m) for m in bot.messages("media"))
    assert frames and set(frames) != {0xFF}
    peak = max(abs(s) for s in struct.unpack(f"<{len(frames)}h", ulaw_to_pcm(frames)))
    assert peak < 64  # far below speech


async def test_say_returns_after_its_last_frame_was_sent(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url) as peer:
        await asyncio.sleep(0.06)
        started = time.monotonic()
        speech = tone(0.3)
        ended = await peer.say(speech)
        # 15 frames on the 20 ms schedule: the first may go at once, the last 14 ticks
        # later (0.28 s); a slow moment may delay it, never bring it earlier than ~0.26.
        assert 0.26 <= ended - started <= 0.6
        assert ended <= time.monotonic()
        await asyncio.sleep(0.05)
    ulaw = pcm_to_ulaw(speech)
    frames = [payload(m) for m in bot.messages("media")]
    start = next(i for i, frame in enumerate(frames) if frame != b"\xff" * FRAME_BYTES)
    assert b"".join(frames[start : start + len(ulaw) // FRAME_BYTES]) == ulaw


async def test_press_sends_dtmf(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, stream_sid=STREAM, realtime=False) as peer:
        await peer.press("7")
        with pytest.raises(ValueError):
            await peer.press("x")
    [dtmf] = bot.messages("dtmf")
    assert dtmf == {
        "event": "dtmf",
        "streamSid": STREAM,
        "sequenceNumber": "2",
        "dtmf": {"track": "inbound_track", "digit": "7"},
    }


async def test_send_raw_and_start_later(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, start=False, realtime=False) as peer:
        await peer.send_raw("not json")
        with pytest.raises(RuntimeError):
            await peer.say(tone(0.02))
        await peer.start()
        with pytest.raises(RuntimeError):
            await peer.start()
    assert [text for _, text in bot.frames][1] == "not json"
    assert [m["event"] for m in bot.messages()] == ["connected", "start", "stop"]


# ---- playback: media, marks, clear ----------------------------------------------------


async def test_playback_in_real_time_and_marks_when_reached(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, stream_sid=STREAM) as peer:
        await bot.connected.wait()
        audio = pcm_to_ulaw(tone(0.2))
        sent_at = time.monotonic()
        await bot.play(audio)
        await bot.mark("reply-1")
        assert await peer.wait_for_audio_after(sent_at - 1, timeout=2) >= sent_at
        await peer.wait_for("media", 2)
        mark = await peer.wait_for("mark", 2)
        assert mark["mark"] == {"name": "reply-1"}  # the server's own mark, received
        await _wait_until(lambda: peer.marks_returned == ["reply-1"], 2)
        returned_at = time.monotonic()
        assert returned_at - sent_at >= 0.18  # not before 200 ms of audio played
        assert peer.played_audio == audio and peer.buffered_bytes == 0
        await peer.wait_until_quiet(0.1, timeout=2)
        assert peer.protocol_errors == []
    [echo] = bot.messages("mark")
    assert echo["mark"] == {"name": "reply-1"} and echo["streamSid"] == STREAM
    assert int(echo["sequenceNumber"]) > 1


async def test_clear_drops_audio_and_returns_every_pending_mark_at_once(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, stream_sid=STREAM) as peer:
        await bot.connected.wait()
        await bot.play(pcm_to_ulaw(tone(1.0)))
        await bot.mark("a")
        await bot.play(pcm_to_ulaw(tone(1.0)))
        await bot.mark("b")
        await asyncio.sleep(0.2)
        assert peer.marks_returned == []
        cleared_at = time.monotonic()
        await bot.send(event="clear")
        await _wait_until(lambda: peer.marks_returned == ["a", "b"], 1)
        assert time.monotonic() - cleared_at < 0.5  # at once, not after the audio (1 s)
        assert peer.clear_count == 1 and peer.buffered_bytes == 0
        assert 0 < len(peer.played_audio) < 8000
        quiet_from = time.monotonic()
        await peer.wait_until_quiet(0.1, timeout=2)
        assert peer.first_audio_after(quiet_from) is None
    assert [m["mark"]["name"] for m in bot.messages("mark")] == ["a", "b"]


async def test_a_mark_on_an_empty_buffer_comes_straight_back(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, stream_sid=STREAM) as peer:
        await bot.connected.wait()
        await bot.mark("idle")
        await _wait_until(lambda: peer.marks_returned == ["idle"], 0.5)


async def test_without_realtime_playback_is_instant_and_no_silence_is_sent(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, stream_sid=STREAM, realtime=False) as peer:
        await bot.connected.wait()
        audio = pcm_to_ulaw(tone(2.0))
        began = time.monotonic()
        await bot.play(audio)
        await bot.mark("done")
        await _wait_until(lambda: peer.marks_returned == ["done"], 1)
        assert time.monotonic() - began < 0.5
        assert peer.played_audio == audio
        ended = await peer.say(tone(1.0))
        assert ended - began < 1.0
    assert len(bot.messages("media")) == 50  # exactly the speech, no line silence


async def test_frames_twilio_would_refuse_are_recorded_and_ignored(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, stream_sid=STREAM, realtime=False) as peer:
        await bot.connected.wait()
        assert bot.connection is not None
        await bot.connection.send("nonsense")
        await bot.send(event="media", media={"payload": "!!!"})
        await bot.send(event="mark", mark={})
        await bot.connection.send(json.dumps({"event": "clear", "streamSid": "MZ0"}))
        await bot.send(event="dance")
        await bot.mark("still-working")
        await _wait_until(lambda: peer.marks_returned == ["still-working"], 1)
        assert len(peer.protocol_errors) == 5 and peer.clear_count == 0
        assert not peer.closed


# ---- ends of the call -----------------------------------------------------------------


async def test_hang_up_sends_stop_and_closes(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url, realtime=False) as peer:
        await peer.hang_up()
        await asyncio.wait_for(bot.gone.wait(), 2)
        assert not peer.closed and peer.close_code == 1000
        await peer.hang_up()  # idempotent
    assert [m["event"] for m in bot.messages()] == ["connected", "start", "stop"]


async def test_server_closing_is_seen(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url) as peer:
        await bot.connected.wait()
        assert bot.connection is not None
        await bot.connection.close(1011, "bye")
        await peer.wait_closed(2)
        assert peer.closed and peer.close_code == 1011
        with pytest.raises(TimeoutError):
            await peer.wait_for_audio_after(0, timeout=0.2)
    assert "stop" not in [m["event"] for m in bot.messages()]


async def test_speech_pending_when_the_server_closes_fails(bot: Bot) -> None:
    async with TwilioMediaPeer.connect(bot.url) as peer:
        await bot.connected.wait()
        assert bot.connection is not None
        saying = asyncio.create_task(peer.say(tone(2.0)))
        await asyncio.sleep(0.1)
        await bot.connection.close()
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(saying, 2)


async def test_a_refused_handshake_raises(bot: Bot) -> None:
    bot.refuse = True
    with pytest.raises(InvalidStatus) as caught:
        async with TwilioMediaPeer.connect(bot.url):
            pass
    assert caught.value.response.status_code == 403


def test_signed_headers_sign_the_wss_url() -> None:
    from twilio.request_validator import RequestValidator

    url = websocket_url("https://sotong.test/", "/webhooks/twilio/media")
    assert url == "wss://sotong.test/webhooks/twilio/media"
    headers = signed_headers("secret", url)
    assert RequestValidator("secret").validate(url, {}, headers["X-Twilio-Signature"])


async def _wait_until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)
