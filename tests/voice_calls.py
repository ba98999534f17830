"""Place a call on a running gateway as Twilio does: the signed voice webhook, then the
Media Stream its TwiML asks for (tests and benches)."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from tests.media_streams_peer import TwilioMediaPeer, signed_headers, websocket_url
from tests.stackutil import PUBLIC_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from tests.twilio_wire import VOICE_PATH, call_form, signed

MEDIA_PATH = "/webhooks/twilio/media"


@dataclass(frozen=True)
class AnsweredCall:
    """What the voice webhook answered: the stream to open and its parameters."""

    call_sid: str
    stream_url: str
    parameters: dict[str, str]

    @property
    def conversation_id(self) -> str:
        return self.parameters["conversation_id"]


async def answer_call(client: httpx.AsyncClient, caller: str) -> AnsweredCall:
    """POST the signed voice webhook; parse the ``<Connect><Stream>`` TwiML it returns."""
    form = call_form(caller)
    response = await client.post(VOICE_PATH, data=form, headers=signed(form, path=VOICE_PATH))
    response.raise_for_status()
    stream = ET.fromstring(response.text).find("./Connect/Stream")
    assert stream is not None, response.text
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return AnsweredCall(form["CallSid"], stream.get("url", ""), parameters)


@contextlib.asynccontextmanager
async def call(
    gateway_url: str, caller: str, *, noise: bool = False, seed: int = 0
) -> AsyncIterator[tuple[AnsweredCall, TwilioMediaPeer]]:
    """A whole call: webhook answered, stream opened and started; hung up on exit."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        answered = await answer_call(client, caller)
    assert answered.stream_url == websocket_url(PUBLIC_URL, MEDIA_PATH)
    ws_url = websocket_url(gateway_url, MEDIA_PATH)
    headers = signed_headers(TWILIO_AUTH_TOKEN, answered.stream_url)
    async with TwilioMediaPeer.connect(
        ws_url,
        headers=headers,
        call_sid=answered.call_sid,
        account_sid=TWILIO_ACCOUNT_SID,
        parameters=answered.parameters,
        noise=noise,
        seed=seed,
    ) as peer:
        try:
            yield answered, peer
        finally:
            if not peer.closed:
                await peer.hang_up()
