"""HTTP client of the Rasa 3.6 server: the REST channel and the HTTP API.

Rasa's REST channel answers 200 even when something failed inside; this client turns
transport errors, timeouts and non-2xx answers into RasaUnavailable so the core can
answer the citizen in plain language and keep their message.

Several Rasa servers (``SOTONG_RASA_URLS``, issue 18), sharing one tracker store and
Rasa's Redis lock store, can take any conversation; each conversation still goes to
one of them — chosen by rendezvous hashing of its id over the servers, so it stays put
while they do and only a dead server's conversations move. A server that refuses the
connection (the request never reached it) is skipped for ``down_seconds`` and the
request goes to the next; one that timed out or failed after receiving it is not
retried elsewhere (it may have processed the turn: the kept-message path asks first).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from assistant.store.records import Button

# The metadata key of the gateway's id for a message (its inbound turn's id). Rasa's
# REST channel keeps a message's ``metadata`` on the ``user`` event in the tracker, so
# the gateway can ask later whether a message it gave up waiting for reached the
# dialogue (review L7).
TURN_ID_KEY = "sotong_turn_id"
# The data of the inert event that marks such a check in the tracker.
RESEND_CHECK_KEY = "sotong_resend_check"


# Metadata the dialogue reads as entities (nlu/components/message_context.py): for a
# payload Rasa skips that reading, so they go into the payload's entities.
CONTEXT_KEYS = ("language", "channel")
# Rasa's ``/intent@confidence{entities}`` (its YAMLStoryReader pattern).
_PAYLOAD = re.compile(r"/(?P<intent>[^{@]+)(?P<confidence>@[0-9.]+)?(?P<entities>\{.+\})?", re.S)


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
        base_url: str | Sequence[str],
        http: httpx.AsyncClient,
        token: str | None = None,
        timeout_seconds: float = 15.0,
        *,
        down_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("at least one Rasa server URL")
        self._servers = [url.rstrip("/") for url in urls]
        self._base_url = self._servers[0]
        self._http = http
        self._token = token
        self._timeout = timeout_seconds
        self._down_seconds = down_seconds
        self._clock = clock
        self._down_until: dict[str, float] = {}

    @property
    def base_url(self) -> str:
        """The (first) server's base URL."""
        return self._base_url

    def servers_for(self, sender_id: str | None) -> list[str]:
        """The servers to try for ``sender_id``, in order: those not marked down first,
        each group ranked by rendezvous hashing (configured order without a sender)."""
        now = self._clock()

        def rank(server: str) -> bytes:
            return hashlib.sha256(f"{server}|{sender_id}".encode()).digest()

        ordered = (
            self._servers if sender_id is None else sorted(self._servers, key=rank, reverse=True)
        )
        up = [s for s in ordered if self._down_until.get(s, 0.0) <= now]
        return up + [s for s in ordered if s not in up]

    async def send_message(
        self, sender_id: str, text: str, metadata: dict[str, Any]
    ) -> list[BotUtterance]:
        """Send a user message through the REST channel; return the bot's utterances."""
        message = payload_with_context(text, metadata)
        body = {"sender": sender_id, "message": message, "metadata": metadata}
        data = await self._request("POST", "/webhooks/rest/webhook", sender=sender_id, json=body)
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
            sender=sender_id,
            params=self._auth(),  # no output_channel: the replies come back in the body
            json={"name": intent, "entities": entities or {}},
        )
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list):
            raise RasaUnavailable("trigger_intent answered without messages")
        return [_utterance(item) for item in messages if isinstance(item, dict)]

    async def answered_turn(self, sender_id: str, turn_id: int) -> list[BotUtterance] | None:
        """What the dialogue said to the message sent with ``turn_id``, if it got it.

        Asked before a kept message is sent again: a request that timed out (or whose
        answer was lost on the way) may still have been processed and its tracker
        saved. None: the tracker has no ``user`` event with this id, the message never
        reached the dialogue. Otherwise the ``bot`` events of that message's turn (up to
        the next ``action_listen``), rendered as the REST channel renders them, so the
        citizen gets that answer once instead of a second one.

        The tracker is read under the conversation's lock in Rasa, so a turn still in
        progress is waited for. Rasa saves a turn's events only at its end, and
        ``GET …/tracker`` takes no lock: while the abandoned attempt is still running
        (a proxy that does not pass the gateway's hang-up on, a slow action, another
        Rasa server of a scaled setup) it answers "not there", and the message was
        processed twice after all (tests/integration/test_dialogue_resend.py). Rasa 3.6
        has no read that waits for the lock; appending an event does. The event is an
        ``agent`` event (``AgentUttered``), which changes no state (no slot, no action,
        nothing the policies or the actions read) and marks the check in the tracker.
        A check that times out leaves the message kept, to be asked about again.
        """
        data = await self._request(
            "POST",
            f"/conversations/{sender_id}/tracker/events",
            sender=sender_id,
            params={**self._auth(), "include_events": "ALL"},
            json={"event": "agent", "data": {RESEND_CHECK_KEY: turn_id}},
        )
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):
            raise RasaUnavailable("tracker answered without events")
        return turn_answer(events, turn_id)

    async def requested_slot(self, sender_id: str) -> str | None:
        """The slot an active form is asking for now (e.g. ``age``), or None.

        The phone line asks after an answer that offered no choices, to know when the
        caller may type a number on the keypad instead of picking a menu item."""
        data = await self._request(
            "GET",
            f"/conversations/{sender_id}/tracker",
            sender=sender_id,
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
        self,
        method: str,
        path: str,
        seconds: float | None = None,
        sender: str | None = None,
        **kwargs: Any,
    ) -> Any:
        refused: httpx.HTTPError | None = None
        for server in self.servers_for(sender):
            try:
                response = await self._http.request(
                    method, server + path, timeout=seconds or self._timeout, **kwargs
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Never reached the server: the next one may take it.
                self._down_until[server] = self._clock() + self._down_seconds
                refused = exc
                continue
            except httpx.HTTPError as exc:
                raise RasaUnavailable(f"{method} {path}: {exc.__class__.__name__}") from exc
            self._down_until.pop(server, None)
            return self._answer(method, path, response)
        assert refused is not None
        raise RasaUnavailable(f"{method} {path}: {refused.__class__.__name__}") from refused

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        if response.status_code >= 300:
            raise RasaUnavailable(f"{method} {path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise RasaUnavailable(f"{method} {path}: invalid JSON") from exc


def payload_with_context(text: str, metadata: dict[str, Any]) -> str:
    """An ``/intent{…}`` payload with the metadata's language and channel among its
    entities (ones it names already stay); any other text unchanged.

    Rasa reads a payload without its NLU pipeline, where the two are otherwise taken
    from the metadata to fill the ``language`` and ``channel`` slots."""
    match = _PAYLOAD.fullmatch(text.strip())
    if match is None:
        return text
    try:
        entities = json.loads(match["entities"]) if match["entities"] else {}
    except ValueError:
        return text  # Rasa warns about it and reads the intent alone
    if not isinstance(entities, dict):
        return text
    context = {key: metadata[key] for key in CONTEXT_KEYS if isinstance(metadata.get(key), str)}
    entities = {**context, **entities}
    if not entities:
        return text
    confidence = match["confidence"] or ""
    encoded = json.dumps(entities, ensure_ascii=False, separators=(",", ":"))
    return f"/{match['intent']}{confidence}{encoded}"


def turn_answer(events: list[Any], turn_id: int) -> list[BotUtterance] | None:
    """The bot's utterances after the ``user`` event the gateway sent with ``turn_id``
    (None when there is none): those of its turn, up to ``action_listen`` or the next
    user event."""
    found = False
    messages: list[dict[str, Any]] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        if not found:
            metadata = event.get("metadata")
            found = (
                kind == "user"
                and isinstance(metadata, dict)
                and metadata.get(TURN_ID_KEY) == turn_id
            )
            continue
        if kind == "user" or (kind == "action" and event.get("name") == "action_listen"):
            break
        if kind == "bot":
            messages.extend(_rest_messages(event))
    if not found:
        return None
    return [_utterance(message) for message in messages]


def _rest_messages(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages Rasa 3.6's REST channel answers for one ``bot`` event (what
    ``CollectingOutputChannel.send_response`` makes of ``BotUttered.message()``), for
    the parts the gateway reads: text, buttons and custom payloads."""
    data = event.get("data")
    metadata = event.get("metadata")
    message: dict[str, Any] = {
        **(data if isinstance(data, dict) else {}),
        "text": event.get("text"),
        **(metadata if isinstance(metadata, dict) else {}),
    }
    text = message.get("text")
    out: list[dict[str, Any]] = []
    if message.get("quick_replies"):
        out.append({"text": text, "buttons": message["quick_replies"]})
    elif message.get("buttons"):
        out.append({"text": text, "buttons": message["buttons"]})
    elif text:
        # The REST channel sends each paragraph of a plain text as its own message.
        out.extend({"text": part} for part in str(text).strip().split("\n\n"))
    if message.get("custom"):
        out.append({"custom": message["custom"]})
    return out


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
