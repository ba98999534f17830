"""Calls through Twilio's REST API: changing a live call (a transfer is a call update
with TwiML) and placing one (a person's call-back)."""

from __future__ import annotations

import asyncio

import requests
import structlog
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from assistant.config import Settings
from assistant.outbox.sender import twilio_rest_client

log = structlog.get_logger(__name__)


class CallControl:
    """Updates live calls; the SDK is blocking, so it runs in a thread."""

    def __init__(self, client: Client | None) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> CallControl:
        """Control over the account in the settings (inert when they are incomplete)."""
        return cls(twilio_rest_client(settings))

    async def redirect(self, call_sid: str, twiml: str) -> bool:
        """Give the call new instructions now; False when that failed (logged)."""
        if self._client is None:
            log.error("voice.call_update_unconfigured", call_sid=call_sid)
            return False
        client = self._client

        def update() -> None:
            client.calls(call_sid).update(twiml=twiml)

        try:
            await asyncio.to_thread(update)
        except (TwilioException, requests.RequestException) as exc:
            log.error("voice.call_update_failed", call_sid=call_sid, error=str(exc))
            return False
        return True

    async def call(self, to: str, from_: str, twiml: str, status_callback: str) -> str | None:
        """Place an outbound call that runs ``twiml`` when answered, reporting its
        progress to ``status_callback``; its sid, or None when that failed (logged)."""
        if self._client is None:
            log.error("voice.call_create_unconfigured")
            return None
        client = self._client

        def create() -> str:
            call = client.calls.create(
                to=to,
                from_=from_,
                twiml=twiml,
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
            )
            return str(call.sid)

        try:
            return await asyncio.to_thread(create)
        except (TwilioException, requests.RequestException) as exc:
            log.error("voice.call_create_failed", error=str(exc))
            return None
