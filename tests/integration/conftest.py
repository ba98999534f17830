from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.stackutil import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, Stack
from tests.twilio_double import TwilioDouble


class Citizen:
    """A web chat user, speaking the gateway's JSON API."""

    def __init__(self, client: httpx.Client, language: str = "ko") -> None:
        self.client = client
        response = client.post("/api/webchat/sessions", json={"language": language})
        assert response.status_code == 201, response.text
        self.session_id: str = response.json()["session_id"]

    def say(self, text: str, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            f"/api/webchat/sessions/{self.session_id}/messages", json={"text": text, **extra}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def transcript(self, after: int = 0) -> list[dict[str, Any]]:
        response = self.client.get(
            f"/api/webchat/sessions/{self.session_id}/messages", params={"after": after}
        )
        assert response.status_code == 200, response.text
        return response.json()["messages"]


def texts(turn: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in turn["messages"])


@pytest.fixture
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        yield client


@pytest.fixture
def citizen(gateway: httpx.Client) -> Citizen:
    return Citizen(gateway)


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioDouble]:
    """Twilio's REST API on 127.0.0.1, with the stacks' own credentials: webhooks the
    tests sign are accepted, and the gateway's REST calls (SMS, call updates) land here.
    A module's own stack points SOTONG_TWILIO_API_URL at it."""
    with TwilioDouble(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN) as double:
        yield double
