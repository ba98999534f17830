"""Twilio Media Streams' WebSocket messages, and nothing else: JSON in, typed events out.

A bidirectional stream (TwiML ``<Connect><Stream>``) carries JSON text frames
(https://www.twilio.com/docs/voice/media-streams/websocket-messages). From Twilio:

- ``{"event": "connected", "protocol": "Call", "version": "1.0.0"}``, first;
- ``{"event": "start", "sequenceNumber": "1", "start": {"accountSid", "streamSid",
  "callSid", "tracks": ["inbound"], "customParameters": {...}, "mediaFormat":
  {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}, "streamSid"}``;
- ``{"event": "media", "sequenceNumber", "media": {"track": "inbound", "chunk": "1",
  "timestamp": "5", "payload": <base64 μ-law>}, "streamSid"}``, every 20 ms;
- ``{"event": "dtmf", "streamSid", "sequenceNumber", "dtmf": {"track": "inbound_track",
  "digit": "1"}}``;
- ``{"event": "mark", "sequenceNumber", "streamSid", "mark": {"name": ...}}`` when
  playback reached a mark we sent (or a ``clear`` dropped it);
- ``{"event": "stop", "sequenceNumber", "stop": {"accountSid", "callSid"}, "streamSid"}``.

To Twilio: ``media`` (``{"event", "streamSid", "media": {"payload"}}``), ``mark``
(``{"event", "streamSid", "mark": {"name"}}``) and ``clear`` (``{"event", "streamSid"}``).

The parser is strict — anything not of these shapes is ``MalformedFrame`` — because a
frame that half-parses is worse than one refused: the caller's audio would silently go
missing. Events it does not use (outbound-track media, future event names) come back
as ``UnknownEvent`` so the transport can ignore them without treating them as attacks.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from voice.events import (
    CallerAudio,
    CallStarted,
    CallStopped,
    ClearPlayback,
    InboundEvent,
    KeyPressed,
    MarkPlayed,
    OutboundEvent,
    PlaceMark,
    PlayAudio,
    StreamConnected,
)

# A 20 ms frame is ~400 bytes of JSON; nothing Twilio sends comes near this.
MAX_FRAME_BYTES: Final = 64 * 1024
DTMF_DIGITS: Final = frozenset("0123456789*#")
CALLER_TRACK: Final = "inbound"  # media.track of the caller's audio; "outbound" is ours


class MalformedFrame(ValueError):
    """A frame that is not a Media Streams message of a known shape.

    The message names what is wrong, never the frame's content (it may carry audio or
    a caller's parameters).
    """


@dataclass(frozen=True)
class UnknownEvent:
    """A well-formed frame the pipeline has no use for.

    ``name`` is the event name, or ``"media:<track>"`` for media of a track that is not
    the caller's (with ``track="both_tracks"`` Twilio also streams what the caller hears).
    """

    name: str


# ---- field readers: each raises MalformedFrame naming the field -------------------------


def _object(message: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = message.get(name)
    if not isinstance(value, dict):
        raise MalformedFrame(f"{name} must be an object")
    return value


def _string(message: Mapping[str, Any], name: str, where: str, *, empty: bool = False) -> str:
    value = message.get(name)
    if not isinstance(value, str) or (not empty and not value):
        raise MalformedFrame(f"{where}.{name} must be a non-empty string")
    return value


def _optional_string(message: Mapping[str, Any], name: str, where: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedFrame(f"{where}.{name} must be a string")
    return value


def _counter(message: Mapping[str, Any], name: str, where: str) -> int | None:
    """Twilio writes counters and timestamps as decimal strings ("4"); a JSON integer is
    accepted too. Absent → None."""
    value = message.get(name)
    if value is None:
        return None
    if isinstance(value, bool):  # bool is an int in Python, never a counter
        raise MalformedFrame(f"{where}.{name} must be a decimal number")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise MalformedFrame(f"{where}.{name} must be a decimal number")


def _positive_int(message: Mapping[str, Any], name: str, where: str, default: int) -> int:
    value = message.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MalformedFrame(f"{where}.{name} must be a positive integer")
    return value


# ---- one reader per event ---------------------------------------------------------------


def _connected(message: Mapping[str, Any]) -> StreamConnected:
    protocol = _string(message, "protocol", "connected")
    _optional_string(message, "version", "connected")
    return StreamConnected(protocol=protocol)


def _start(message: Mapping[str, Any]) -> CallStarted:
    start = _object(message, "start")
    stream_sid = _string(start, "streamSid", "start")
    outer_sid = message.get("streamSid")
    if outer_sid is not None and outer_sid != stream_sid:
        raise MalformedFrame("streamSid differs from start.streamSid")
    parameters: dict[str, str] = {}
    if start.get("customParameters") is not None:
        custom = _object(start, "customParameters")
        for key, value in custom.items():
            if not isinstance(value, str):
                raise MalformedFrame("start.customParameters values must be strings")
            parameters[key] = value
    tracks = start.get("tracks")
    if tracks is not None and (
        not isinstance(tracks, list) or not all(isinstance(t, str) for t in tracks)
    ):
        raise MalformedFrame("start.tracks must be a list of strings")
    encoding, sample_rate, channels = "audio/x-mulaw", 8000, 1
    if start.get("mediaFormat") is not None:
        media_format = _object(start, "mediaFormat")
        encoding = _string(media_format, "encoding", "start.mediaFormat")
        sample_rate = _positive_int(media_format, "sampleRate", "start.mediaFormat", 8000)
        channels = _positive_int(media_format, "channels", "start.mediaFormat", 1)
    return CallStarted(
        stream_sid=stream_sid,
        call_sid=_string(start, "callSid", "start"),
        account_sid=_string(start, "accountSid", "start"),
        parameters=parameters,
        encoding=encoding,
        sample_rate=sample_rate,
        channels=channels,
    )


def _media(message: Mapping[str, Any]) -> CallerAudio | UnknownEvent:
    media = _object(message, "media")
    track = _string(media, "track", "media")
    payload = _string(media, "payload", "media", empty=True)
    _counter(media, "chunk", "media")
    timestamp = _counter(media, "timestamp", "media")
    try:
        # validate=True: characters outside the alphabet are an error, not skipped.
        ulaw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedFrame("media.payload is not base64") from exc
    if track != CALLER_TRACK:
        return UnknownEvent(f"media:{track}")
    return CallerAudio(ulaw=ulaw, timestamp_ms=timestamp or 0)


def _dtmf(message: Mapping[str, Any]) -> KeyPressed:
    dtmf = _object(message, "dtmf")
    digit = _string(dtmf, "digit", "dtmf")
    if digit not in DTMF_DIGITS:
        raise MalformedFrame("dtmf.digit must be one of 0-9, * or #")
    _optional_string(dtmf, "track", "dtmf")
    return KeyPressed(digit=digit)


def _mark(message: Mapping[str, Any]) -> MarkPlayed:
    return MarkPlayed(name=_string(_object(message, "mark"), "name", "mark"))


def _stop(message: Mapping[str, Any]) -> CallStopped:
    if message.get("stop") is not None:
        _object(message, "stop")
    return CallStopped()


_READERS: Final[dict[str, Callable[[Mapping[str, Any]], InboundEvent | UnknownEvent]]] = {
    "connected": _connected,
    "start": _start,
    "media": _media,
    "dtmf": _dtmf,
    "mark": _mark,
    "stop": _stop,
}


def parse_frame(raw: str | bytes) -> InboundEvent | UnknownEvent:
    """The typed event of one WebSocket frame from Twilio; MalformedFrame if it is none.

    Media payloads come back decoded (μ-law bytes); only the caller's track ("inbound")
    is ``CallerAudio``. ``start``'s ``customParameters`` become ``parameters`` and its
    ``mediaFormat`` the encoding fields.
    """
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_FRAME_BYTES:
        raise MalformedFrame(f"frame larger than {MAX_FRAME_BYTES} bytes")
    try:
        message = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise MalformedFrame("frame is not JSON") from exc
    if not isinstance(message, dict):
        raise MalformedFrame("frame is not a JSON object")
    event = message.get("event")
    if not isinstance(event, str) or not event:
        raise MalformedFrame("event must be a non-empty string")
    # Common fields, checked for every event so a stray type cannot pass unnoticed.
    _counter(message, "sequenceNumber", "frame")
    _optional_string(message, "streamSid", "frame")
    reader = _READERS.get(event)
    if reader is None:
        return UnknownEvent(event)
    return reader(message)


def encode(event: OutboundEvent, stream_sid: str) -> str:
    """The JSON text frame that asks Twilio to do ``event`` on stream ``stream_sid``."""
    if not stream_sid:
        raise ValueError("a stream sid is required to talk to Twilio")
    message: dict[str, Any]
    match event:
        case PlayAudio(ulaw=ulaw):
            payload = base64.b64encode(ulaw).decode("ascii")
            message = {"event": "media", "streamSid": stream_sid, "media": {"payload": payload}}
        case PlaceMark(name=name):
            if not name:
                raise ValueError("a mark needs a name")
            message = {"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}
        case ClearPlayback():
            message = {"event": "clear", "streamSid": stream_sid}
        case _:
            raise TypeError(f"not an outbound event: {type(event).__name__}")
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
