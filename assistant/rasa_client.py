"""HTTP client of the Rasa 3.6 server: the REST channel and the HTTP API.

Rasa's REST channel answers 200 even when something failed inside; this client turns
transport errors, timeouts and non-2xx answers into RasaUnavailable so the core can
answer the citizen in plain language and keep their message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from assistant.store.records import Button


class RasaUnavailable(RuntimeError):
    """Rasa could not be reached or did not answer properly."""


@dataclass(frozen=True)
class BotUtterance:
    """One message Rasa produced."""

    text: str | None
    buttons: tuple[Button, ...]
    custom: dict[str, Any] | None


@dataclass(frozen=True)
class RasaStatus:
    """What Rasa's /status reports."""

    model_file: str | None
    fingerprint: dict[str, Any]

    @property
    def model_loaded(self) -> bool:
        """Whether a trained model is loaded."""
        return bool(self.model_file)


class RasaClient:
    """Talks to one Rasa server."""

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        token: str | None = None,
        timeout_seconds: float = 15.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._http = http
        self._token = token
        self._timeout = timeout_seconds

    @property
    def base_url(self) -> str:
        """The server's base URL."""
        return self._base_url

    async def send_message(
        self, sender_id: str, text: str, metadata: dict[str, Any]
    ) -> list[BotUtterance]:
        """Send a user message through the REST channel; return the bot's utterances."""
        body = {"sender": sender_id, "message": text, "metadata": metadata}
        data = await self._request("POST", "/webhooks/rest/webhook", json=body)
        if not isinstance(data, list):
            raise RasaUnavailable("REST channel answered something other than a list")
        return [_utterance(item) for item in data if isinstance(item, dict)]

    async def trigger_intent(
        self, sender_id: str, intent: str, entities: dict[str, Any] | None = None
    ) -> list[BotUtterance]:
        """Rasa's HTTP API: act as if the citizen expressed ``intent``; the bot's replies.

        Used when a person hands a citizen back: the dialogue picks up from its tracker,
        which still holds what the conversation was about.
        """
        data = await self._request(
            "POST",
            f"/conversations/{sender_id}/trigger_intent",
            params=self._auth(),  # no output_channel: the replies come back in the body
            json={"name": intent, "entities": entities or {}},
        )
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list):
            raise RasaUnavailable("trigger_intent answered without messages")
        return [_utterance(item) for item in messages if isinstance(item, dict)]

    async def requested_slot(self, sender_id: str) -> str | None:
        """The slot an active form is asking for now (e.g. ``age``), or None.

        The phone line asks after an answer that offered no choices, to know when the
        caller may type a number on the keypad instead of picking a menu item."""
        data = await self._request(
            "GET",
            f"/conversations/{sender_id}/tracker",
            params={**self._auth(), "include_events": "NONE"},
            seconds=2.0,
        )
        if not isinstance(data, dict):
            return None
        loop = data.get("active_loop") or {}
        slots = data.get("slots") or {}
        if not isinstance(loop, dict) or not loop.get("name") or not isinstance(slots, dict):
            return None
        slot = slots.get("requested_slot")
        return slot if isinstance(slot, str) and slot else None

    async def status(self) -> RasaStatus:
        """Rasa's /status (needs --enable-api)."""
        data = await self._request("GET", "/status", params=self._auth(), seconds=3.0)
        if not isinstance(data, dict):
            raise RasaUnavailable("/status answered something other than an object")
        return RasaStatus(
            model_file=data.get("model_file") or None, fingerprint=data.get("fingerprint") or {}
        )

    def _auth(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    async def _request(
        self, method: str, path: str, seconds: float | None = None, **kwargs: Any
    ) -> Any:
        try:
            response = await self._http.request(
                method, self._base_url + path, timeout=seconds or self._timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{method} {path}: {exc.__class__.__name__}") from exc
        if response.status_code >= 300:
            raise RasaUnavailable(f"{method} {path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise RasaUnavailable(f"{method} {path}: invalid JSON") from exc


def _utterance(item: dict[str, Any]) -> BotUtterance:
    buttons = tuple(
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in item.get("buttons") or []
        if isinstance(b, dict)
    )
    custom = item.get("custom")
    return BotUtterance(
        text=item.get("text"),
        buttons=buttons,
        custom=custom if isinstance(custom, dict) else None,
    )
