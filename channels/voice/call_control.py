"""Changing a live call through Twilio's REST API (a transfer is a call update with TwiML)."""

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
