"""The handoff world of the unit tests: the real store, queue and conversation core
(SQLite, migrated), a double of Rasa's REST channel and trigger_intent API
(httpx.MockTransport speaking their JSON), outputs and a texter that record, and a
hand-moved clock. ``tests/unit/conftest.py`` builds it as the ``world`` fixture."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from assistant.config import to_async_url
from assistant.conversation import ConversationCore
from assistant.handoff import SqlHandoffQueue
from assistant.handoff.service import HandoffService
from assistant.messages import IncomingMessage, OutgoingMessage
from assistant.metrics import Metrics
from assistant.push import PushHub
from assistant.rasa_client import RasaClient
from assistant.store import SqlConversationStore
from assistant.store.migrate import upgrade
from tests.clock import ManualClock

# 10:00 on a Tuesday in Seoul.
T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    role: str = "interpreter"
    centre: str | None = None
    region: str | None = None


KIM = Person("kim", "김수어")
PARK = Person("park", "박주무관", role="staff", region="jongno")


@dataclass
class FakeRasa:
    """Rasa's REST channel and trigger_intent, as JSON over HTTP."""

    messages: list[str] = field(default_factory=list)
    triggered: list[tuple[str, str]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/webhooks/rest/webhook":
            self.messages.append(body["message"])
            text = body["message"]
            if "통역" in text or "상담원" in text:
                reason = "sign_language" if "통역" in text else "person"
                return httpx.Response(
                    200,
                    json=[
                        {"custom": {"sotong_handoff": {"reason": reason, "service": None}}},
                        {"text": "사람 상담을 요청했습니다."},
                    ],
                )
            return httpx.Response(200, json=[{"text": f"봇: {text}"}])
        sender = request.url.path.split("/")[2]
        self.triggered.append((sender, body["name"]))
        return httpx.Response(200, json={"messages": [{"text": "다시 소통이 도와드립니다."}]})


@dataclass
class Outbox:
    """An output channel that records what reached the citizen."""

    sent: list[tuple[str, OutgoingMessage]] = field(default_factory=list)

    async def send(self, conversation_id: str, message: OutgoingMessage) -> None:
        self.sent.append((conversation_id, message))


@dataclass
class Texts:
    """A Texter (``Outbox.send_sms``) that records the texts queued."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (to, body, kind)

    async def send_sms(
        self,
        to: str,
        body: str,
        *,
        kind: str,
        conversation_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> list[int]:
        self.sent.append((to, body, kind))
        return [len(self.sent)]


@dataclass(frozen=True)
class AccountState:
    active: bool


@dataclass
class Roster:
    """Accounts by username, as ``AccountStore.by_username`` answers (None: no account)."""

    accounts: dict[str, AccountState] = field(default_factory=dict)

    async def by_username(self, username: str) -> AccountState | None:
        return self.accounts.get(username)


@dataclass
class World:
    core: ConversationCore
    service: HandoffService
    queue: SqlHandoffQueue
    store: SqlConversationStore
    push: PushHub
    rasa: FakeRasa
    outputs: dict[str, Outbox]
    clock: ManualClock
    metrics: Metrics
    roster: Roster
    texts: Texts

    async def conversation(self, channel: str = "webchat", address: str | None = None) -> str:
        conversation = await self.core.start(channel, address=address or f"{channel}-citizen")
        return conversation.id

    async def say(self, conversation_id: str, text: str, payload: str | None = None) -> Any:
        channel = (await self.store.get_conversation(conversation_id)).channel  # type: ignore[union-attr]
        return await self.core.handle(
            IncomingMessage(conversation_id, text, channel=channel, payload=payload)
        )


async def make_available(world: World, person: Person, **hours: Any) -> None:
    await world.service.interpreter_for(person)
    if hours:
        current = await world.queue.get_interpreter(person.username)
        assert current is not None
        await world.queue.upsert_interpreter(replace(current, **hours))
    await world.service.set_availability(person, True)


async def handoff_world(tmp_path: Path, url: str | None = None) -> AsyncIterator[World]:
    """The world on ``url`` (a migrated database; else a new SQLite one under
    ``tmp_path``), torn down on leaving (the ``world`` fixture)."""
    if url is None:
        url = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
        await asyncio.to_thread(upgrade, url)
    clock = ManualClock(T0)
    store = SqlConversationStore.from_url(url, clock=clock)
    queue = SqlHandoffQueue.from_url(url, clock=clock)
    rasa = FakeRasa()
    http = httpx.AsyncClient(transport=httpx.MockTransport(rasa.handle))
    metrics = Metrics()
    push = PushHub()
    outputs = {"webchat": Outbox(), "sms": Outbox()}
    core = ConversationCore(store, RasaClient("http://rasa.test", http), metrics, outputs)
    roster = Roster({p.username: AccountState(True) for p in (KIM, PARK)})
    texts = Texts()
    service = HandoffService(
        queue,
        store,
        push,
        metrics,
        join_link=lambda rid, until=None: f"/video/{rid}?t={until.timestamp() if until else 'x'}",
        roster=roster,
        texter=texts,
        hold_timeout=dt.timedelta(minutes=15),
        clock=clock,
    )
    core.attach_handoff(service)
    try:
        yield World(core, service, queue, store, push, rasa, outputs, clock, metrics, roster, texts)
    finally:
        await http.aclose()
        await queue.close()
        await store.close()
