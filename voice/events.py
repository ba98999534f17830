"""Typed events of a phone call, the only thing the voice pipeline sees.

The Twilio serializer (``channels/voice/wire.py``) turns Media Streams JSON into the
inbound events and the outbound events into JSON; nothing else knows Twilio's format.
Audio is 8 kHz μ-law on the wire; the pipeline decodes it to 16-bit PCM at 8 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---- from the caller's side (transport → pipeline) ------------------------------------


@dataclass(frozen=True)
class StreamConnected:
    """The media stream's socket is open (Twilio's ``connected``)."""

    protocol: str = "Call"


@dataclass(frozen=True)
class CallStarted:
    """The stream carries a call from now on (Twilio's ``start``).

    ``parameters`` are the ``<Parameter>``s of the TwiML ``<Stream>``, which is how the
    voice webhook passes the caller's number and a token proving the stream is ours.
    """

    stream_sid: str
    call_sid: str
    account_sid: str
    parameters: dict[str, str] = field(default_factory=dict)
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000
    channels: int = 1


@dataclass(frozen=True)
class CallerAudio:
    """One frame of the caller's audio, μ-law bytes as received (usually 20 ms, 160 bytes)."""

    ulaw: bytes
    timestamp_ms: int = 0


@dataclass(frozen=True)
class KeyPressed:
    """A keypad digit (DTMF): 0–9, * or #."""

    digit: str


@dataclass(frozen=True)
class MarkPlayed:
    """Playback reached a mark we sent (or the mark was cleared before it played)."""

    name: str


@dataclass(frozen=True)
class CallStopped:
    """The stream ended: the caller hung up or the call moved on."""


InboundEvent = StreamConnected | CallStarted | CallerAudio | KeyPressed | MarkPlayed | CallStopped


# ---- to the caller's side (pipeline → transport) --------------------------------------


@dataclass(frozen=True)
class PlayAudio:
    """μ-law audio at 8 kHz to append to what the caller hears."""

    ulaw: bytes


@dataclass(frozen=True)
class PlaceMark:
    """Ask to be told (``MarkPlayed``) when playback reaches this point."""

    name: str


@dataclass(frozen=True)
class ClearPlayback:
    """Drop every bit of audio not yet played (barge-in)."""


OutboundEvent = PlayAudio | PlaceMark | ClearPlayback
