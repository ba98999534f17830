"""TwiML answers for a phone call, built with the Twilio SDK's ``VoiceResponse``.

- ``connect_stream``: ``<Connect><Stream url="wss://…">`` with ``<Parameter>``s — a
  bidirectional Media Stream that holds the call until our WebSocket closes.
- ``dial``: ``<Dial>`` a person (transfer to staff or an interpreter's line).
- ``say_and_hang_up``: a short spoken notice, then ``<Hangup/>``, for when the voice line
  cannot serve (no speech model, overload).

Never hand-built XML: the SDK escapes text and attribute values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from twilio.twiml.voice_response import VoiceResponse

from assistant.api.twilio_auth import public_websocket_url

MEDIA_PATH: Final = "/webhooks/twilio/media"

# <Say>'s default voice ("man") speaks no Korean and an invalid voice/language pair makes
# Twilio fail the verb, so each language names a voice that speaks it (Amazon Polly
# through Twilio: Seoyeon for ko-KR, Joanna for en-US).
SAY_LOCALES: Final = {"ko": "ko-KR", "en": "en-US"}
SAY_VOICES: Final = {"ko-KR": "Polly.Seoyeon", "en-US": "Polly.Joanna"}


def media_stream_url(public_url: str) -> str:
    """The wss:// URL of our Media Streams endpoint under ``public_url`` (https → wss).

    Twilio connects Media Streams only over ``wss`` and drops query strings from the
    ``<Stream>`` URL, so any query or fragment of ``public_url`` is left out too.
    """
    return public_websocket_url(public_url, MEDIA_PATH)


def connect_stream(stream_url: str, parameters: Mapping[str, str]) -> str:
    """TwiML connecting the call to a bidirectional Media Stream at ``stream_url``.

    ``parameters`` reach our WebSocket in the ``start`` message's ``customParameters``
    (the only way to pass values: Twilio strips query strings from stream URLs).
    """
    if not stream_url.startswith(("wss://", "ws://")):
        raise ValueError("a Media Stream URL must be a WebSocket URL (wss://)")
    response = VoiceResponse()
    stream = response.connect().stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    return str(response)


def dial(
    number: str,
    caller_id: str | None = None,
    timeout_seconds: int = 30,
    action: str | None = None,
) -> str:
    """TwiML transferring the call to ``number``, ringing it for ``timeout_seconds``.

    ``caller_id`` is the number the person called sees (ours, or the caller's when the
    account may present it); None keeps Twilio's default (the called number). With an
    ``action`` URL, Twilio posts there (``DialCallStatus``) when the dialled leg ends and
    runs the TwiML it answers.
    """
    if not number.strip():
        raise ValueError("a number to dial is required")
    if timeout_seconds <= 0:
        raise ValueError("timeout_seconds must be positive")
    response = VoiceResponse()
    options: dict[str, object] = {"timeout": timeout_seconds}
    if caller_id:
        options["caller_id"] = caller_id
    if action:
        options.update(action=action, method="POST")
    response.dial(number.strip(), **options)
    return str(response)


def say_locale(language: str) -> str:
    """Twilio's ``<Say>`` locale for a Sotong language code ("ko" → "ko-KR")."""
    locale = SAY_LOCALES.get(language, language)
    if locale not in SAY_VOICES:
        raise ValueError(f"no <Say> voice for language {language!r}")
    return locale


def say_and_hang_up(text: str, language: str) -> str:
    """TwiML that says ``text`` in ``language`` ("ko"/"en" or "ko-KR"/"en-US") and hangs up."""
    locale = say_locale(language)
    response = VoiceResponse()
    response.say(text, voice=SAY_VOICES[locale], language=locale)
    response.hangup()
    return str(response)


def hang_up() -> str:
    """TwiML that ends the call."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
