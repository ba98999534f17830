"""Twilio Media Streams JSON in, typed events out (and back); the handshake signature.

The examples are Twilio's documented messages
(https://www.twilio.com/docs/voice/media-streams/websocket-messages).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Headers
from twilio.request_validator import RequestValidator

from assistant.api.twilio_auth import websocket_signature_ok, websocket_signed_url
from assistant.config import Settings
from channels.voice.wire import MAX_FRAME_BYTES, MalformedFrame, UnknownEvent, encode, parse_frame
from voice.events import (
    CallerAudio,
    CallStarted,
    CallStopped,
    ClearPlayback,
    KeyPressed,
    MarkPlayed,
    PlaceMark,
    PlayAudio,
    StreamConnected,
)

STREAM = "MZ" + "18ad3ab5" * 4
CALL = "CA" + "2b1c" * 8
ACCOUNT = "AC" + "5ad0" * 8
PAYLOAD = "no+JhoaJjpzSHxAKBgYJDhtEopGKh4aIjZm7JhILBQYIDRg1qZSLh4aIjJevLBUMBgYHDBUsr5eMiIaH"

CONNECTED = {"event": "connected", "protocol": "Call", "version": "1.0.0"}
START: dict[str, Any] = {
    "event": "start",
    "sequenceNumber": "1",
    "start": {
        "accountSid": ACCOUNT,
        "streamSid": STREAM,
        "callSid": CALL,
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob"},
    },
    "streamSid": STREAM,
}
MEDIA: dict[str, Any] = {
    "event": "media",
    "sequenceNumber": "3",
    "media": {"track": "inbound", "chunk": "1", "timestamp": "5", "payload": PAYLOAD},
    "streamSid": STREAM,
}
DTMF = {
    "event": "dtmf",
    "streamSid": STREAM,
    "sequenceNumber": "5",
    "dtmf": {"track": "inbound_track", "digit": "1"},
}
MARK = {"event": "mark", "sequenceNumber": "4", "streamSid": STREAM, "mark": {"name": "my label"}}
STOP = {
    "event": "stop",
    "sequenceNumber": "5",
    "stop": {"accountSid": ACCOUNT, "callSid": CALL},
    "streamSid": STREAM,
}


def frame(message: dict[str, Any]) -> str:
    return json.dumps(message)


def changed(message: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``message`` with ``path`` ("a.b") set to ``value`` (… deleted)."""
    copy = json.loads(json.dumps(message))
    *parents, last = path.split(".")
    node = copy
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return copy


# ---- Twilio's documented examples ----------------------------------------------------


def test_connected() -> None:
    assert parse_frame(frame(CONNECTED)) == StreamConnected(protocol="Call")


def test_start_carries_sids_parameters_and_format() -> None:
    event = parse_frame(frame(START))
    assert event == CallStarted(
        stream_sid=STREAM,
        call_sid=CALL,
        account_sid=ACCOUNT,
        parameters={"FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob"},
        encoding="audio/x-mulaw",
        sample_rate=8000,
        channels=1,
    )


def test_start_without_parameters_or_format_uses_twilios_fixed_format() -> None:
    message = changed(changed(START, "start.customParameters", ...), "start.mediaFormat", ...)
    event = parse_frame(frame(message))
    assert isinstance(event, CallStarted)
    assert event.parameters == {} and (event.encoding, event.sample_rate) == ("audio/x-mulaw", 8000)


def test_media_is_decoded_caller_audio() -> None:
    event = parse_frame(frame(MEDIA))
    assert event == CallerAudio(ulaw=base64.b64decode(PAYLOAD), timestamp_ms=5)


def test_media_as_bytes_and_integer_counters() -> None:
    message = changed(changed(MEDIA, "media.timestamp", 40), "sequenceNumber", 9)
    event = parse_frame(frame(message).encode())
    assert isinstance(event, CallerAudio) and event.timestamp_ms == 40


def test_media_of_other_tracks_is_not_caller_audio() -> None:
    assert parse_frame(frame(changed(MEDIA, "media.track", "outbound"))) == UnknownEvent(
        "media:outbound"
    )


def test_dtmf_mark_stop() -> None:
    assert parse_frame(frame(DTMF)) == KeyPressed("1")
    assert parse_frame(frame(MARK)) == MarkPlayed("my label")
    assert parse_frame(frame(STOP)) == CallStopped()
    assert parse_frame(frame(changed(STOP, "stop", ...))) == CallStopped()


@pytest.mark.parametrize("digit", list("0123456789*#"))
def test_every_keypad_digit(digit: str) -> None:
    assert parse_frame(frame(changed(DTMF, "dtmf.digit", digit))) == KeyPressed(digit)


def test_unknown_events_are_told_apart_from_malformed_frames() -> None:
    assert parse_frame('{"event": "transcription", "streamSid": "MZ1"}') == UnknownEvent(
        "transcription"
    )
    assert parse_frame('{"event": "clear", "streamSid": "MZ1"}') == UnknownEvent("clear")


# ---- malformed frames ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        "[1, 2]",
        '"media"',
        "{}",
        '{"event": 3}',
        '{"event": ""}',
        b"\xff\xfe{}",
        '{"event": "media"',
    ],
)
def test_not_a_message(raw: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(raw)


@pytest.mark.parametrize(
    ("message", "path", "value"),
    [
        (CONNECTED, "protocol", ...),
        (CONNECTED, "protocol", 1),
        (START, "start", ...),
        (START, "start", "MZ1"),
        (START, "start.streamSid", ...),
        (START, "start.callSid", ""),
        (START, "start.accountSid", None),
        (START, "streamSid", "MZ" + "0" * 32),
        (START, "start.customParameters", ["a"]),
        (START, "start.customParameters", {"a": 1}),
        (START, "start.tracks", "inbound"),
        (START, "start.mediaFormat", "audio/x-mulaw"),
        (START, "start.mediaFormat.sampleRate", "8000"),
        (START, "start.mediaFormat.channels", 0),
        (START, "start.mediaFormat.channels", True),
        (START, "sequenceNumber", "one"),
        (MEDIA, "media", ...),
        (MEDIA, "media.payload", ...),
        (MEDIA, "media.payload", 12),
        (MEDIA, "media.payload", "!!!not base64!!!"),
        (MEDIA, "media.payload", "abc"),
        (MEDIA, "media.track", ...),
        (MEDIA, "media.timestamp", "-5"),
        (MEDIA, "media.timestamp", 1.5),
        (MEDIA, "media.chunk", {}),
        (MEDIA, "streamSid", 7),
        (MEDIA, "sequenceNumber", True),
        (DTMF, "dtmf", ...),
        (DTMF, "dtmf.digit", "A"),
        (DTMF, "dtmf.digit", "12"),
        (DTMF, "dtmf.digit", 1),
        (DTMF, "dtmf.track", 0),
        (MARK, "mark", ...),
        (MARK, "mark.name", ""),
        (MARK, "mark.name", None),
        (STOP, "stop", "now"),
    ],
)
def test_malformed_fields(message: dict[str, Any], path: str, value: Any) -> None:
    with pytest.raises(MalformedFrame) as caught:
        parse_frame(frame(changed(message, path, value)))
    assert PAYLOAD not in str(caught.value)  # the error never quotes content


def test_oversized_frames_are_refused_before_parsing() -> None:
    big = changed(MEDIA, "media.payload", base64.b64encode(b"\xff" * 50_000).decode())
    raw = frame(big)
    assert len(raw) > MAX_FRAME_BYTES
    with pytest.raises(MalformedFrame, match="larger"):
        parse_frame(raw)
    with pytest.raises(MalformedFrame, match="larger"):
        parse_frame(raw.encode())
    # Multi-byte text counts in bytes, not characters.
    with pytest.raises(MalformedFrame, match="larger"):
        parse_frame('{"event": "x", "pad": "' + "가" * 22_000 + '"}')


# ---- outbound -------------------------------------------------------------------------


def test_encode_media_mark_clear_exactly_as_twilio_documents() -> None:
    audio = bytes(range(256)) * 2
    assert json.loads(encode(PlayAudio(audio), STREAM)) == {
        "event": "media",
        "streamSid": STREAM,
        "media": {"payload": base64.b64encode(audio).decode()},
    }
    assert json.loads(encode(PlaceMark("turn-3"), STREAM)) == {
        "event": "mark",
        "streamSid": STREAM,
        "mark": {"name": "turn-3"},
    }
    assert json.loads(encode(ClearPlayback(), STREAM)) == {"event": "clear", "streamSid": STREAM}


def test_encode_round_trip() -> None:
    audio = b"\x00\x7f\x80\xff" * 40
    sent = json.loads(encode(PlayAudio(audio), STREAM))
    # What Twilio would send back for that audio on the outbound track, and for the mark.
    media = {"track": "inbound", "chunk": "1", "timestamp": "0", **sent["media"]}
    echoed = {"event": "media", "sequenceNumber": "7", "streamSid": STREAM, "media": media}
    assert parse_frame(json.dumps(echoed)) == CallerAudio(audio, 0)
    assert parse_frame(encode(PlaceMark("완료"), STREAM)) == MarkPlayed("완료")


def test_encode_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        encode(ClearPlayback(), "")
    with pytest.raises(ValueError):
        encode(PlaceMark(""), STREAM)
    with pytest.raises(TypeError):
        encode(KeyPressed("1"), STREAM)  # type: ignore[arg-type]


# ---- the handshake's signature --------------------------------------------------------

TOKEN = "7a1c0e9f3b5d42e8a6c4f2b0d8e6a4c2"
PATH = "/webhooks/twilio/media"


def settings(tmp_path: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "env": "development",
        "var_dir": tmp_path,
        "public_url": "https://sotong.test",
        "twilio_auth_token": TOKEN,
    }
    values.update(changes)
    return Settings(**values)


def twilio_signature(url: str, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, {})


def test_signed_url_is_the_wss_url(tmp_path: Path) -> None:
    assert websocket_signed_url(settings(tmp_path), PATH) == "wss://sotong.test" + PATH
    local = settings(tmp_path, public_url="http://127.0.0.1:8000/")
    assert websocket_signed_url(local, PATH) == "ws://127.0.0.1:8000" + PATH
    assert websocket_signed_url(settings(tmp_path, public_url=None), PATH) is None


def test_a_correctly_signed_handshake_is_accepted(tmp_path: Path) -> None:
    signature = twilio_signature("wss://sotong.test" + PATH)
    assert websocket_signature_ok(settings(tmp_path), {"X-Twilio-Signature": signature}, PATH)
    # Starlette's headers (lower-cased on the wire) and any case of the name.
    headers = Headers(raw=[(b"x-twilio-signature", signature.encode())])
    assert websocket_signature_ok(settings(tmp_path), headers, PATH)
    assert websocket_signature_ok(settings(tmp_path), {"X-TWILIO-SIGNATURE": signature}, PATH)


@pytest.mark.parametrize(
    "signed_url",
    [
        "https://sotong.test" + PATH,  # the https URL, not the wss one
        "wss://sotong.test/webhooks/twilio/voice",  # another path
        "wss://evil.test" + PATH,  # another host
        "wss://sotong.test" + PATH + "?token=x",
    ],
)
def test_a_signature_over_another_url_is_refused(tmp_path: Path, signed_url: str) -> None:
    headers = {"X-Twilio-Signature": twilio_signature(signed_url)}
    assert not websocket_signature_ok(settings(tmp_path), headers, PATH)


def test_wrong_token_missing_signature_or_configuration_is_refused(tmp_path: Path) -> None:
    good = {"X-Twilio-Signature": twilio_signature("wss://sotong.test" + PATH)}
    forged = {"X-Twilio-Signature": twilio_signature("wss://sotong.test" + PATH, "0" * 32)}
    assert not websocket_signature_ok(settings(tmp_path), forged, PATH)
    assert not websocket_signature_ok(settings(tmp_path), {}, PATH)
    assert not websocket_signature_ok(settings(tmp_path), {"X-Twilio-Signature": ""}, PATH)
    assert not websocket_signature_ok(settings(tmp_path, twilio_auth_token=None), good, PATH)
    assert not websocket_signature_ok(settings(tmp_path, public_url=None), good, PATH)
