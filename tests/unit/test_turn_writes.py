"""What one citizen turn writes to the store, and how often it commits (issue 19).

The turn's inbound message is stored when it arrives (it must survive a dialogue that
never answers); the answer — every reply, the turn's status and the quick replies last
offered — is stored in one transaction afterwards. Real store (SQLite, migrated) and
the real core; the dialogue is a double of Rasa's REST channel (its JSON).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from assistant.config import to_async_url
from assistant.conversation import ConversationCore
from assistant.messages import IncomingMessage
from assistant.metrics import Metrics
from assistant.rasa_client import RasaClient
from assistant.store import Button, SqlConversationStore, TurnDirection, TurnStatus
from assistant.store.migrate import upgrade
from assistant.texts import say

BUTTONS = [{"title": "등본", "payload": "/ask_service"}, {"title": "초본", "payload": "/ask_b"}]


@dataclass
class RestRasa:
    """Rasa's REST channel answering each message with ``answers[message]``."""

    answers: dict[str, list[dict[str, Any]]]
    seen: list[str] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.seen.append(body["message"])
        return httpx.Response(200, json=self.answers.get(body["message"], []))


@dataclass
class World:
    core: ConversationCore
    store: SqlConversationStore
    commits: list[int]

    async def turn(self, conversation_id: str, text: str) -> Any:
        self.commits.clear()
        return await self.core.handle(IncomingMessage(conversation_id, text, channel="webchat"))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    url = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
    await asyncio.to_thread(upgrade, url)
    store = SqlConversationStore.from_url(url)
    commits: list[int] = []
    event.listen(store._engine.sync_engine, "commit", lambda _conn: commits.append(1))
    rasa = RestRasa(
        {
            "메뉴": [{"text": "무엇을 도와드릴까요?"}, {"text": "골라 주세요", "buttons": BUTTONS}],
            "상담원": [
                {"text": "잠시만요."},
                {"custom": {"sotong_handoff": {"reason": "person"}}},
                {"text": "상담원을 연결해 드릴게요."},
            ],
        }
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(rasa.handle))
    core = ConversationCore(store, RasaClient("http://rasa.test", http), Metrics())
    try:
        yield World(core, store, commits)
    finally:
        await http.aclose()
        await store.close()


async def test_an_answer_of_several_replies_is_one_commit(world: World) -> None:
    conversation = await world.core.start("webchat", address="web")
    result = await world.turn(conversation.id, "메뉴")
    # The inbound message, then the whole answer.
    assert len(world.commits) == 2
    turns = await world.store.transcript(conversation.id)
    assert [t.text for t in turns] == ["메뉴", "무엇을 도와드릴까요?", "골라 주세요"]
    assert turns[0].status == TurnStatus.ANSWERED
    assert [r.turn_id for r in result.replies] == [t.id for t in turns[1:]]
    assert all(t.reply_to == turns[0].id for t in turns[1:])
    offered = (Button("등본", "/ask_service"), Button("초본", "/ask_b"))
    assert result.replies[1].buttons == offered
    stored = await world.store.get_conversation(conversation.id)
    assert stored is not None and stored.last_buttons == offered


async def test_replies_before_a_request_for_a_person_are_stored_before_it(world: World) -> None:
    conversation = await world.core.start("webchat", address="web")
    await world.store.set_last_buttons(conversation.id, (Button("x", "/x"),))
    result = await world.turn(conversation.id, "상담원")
    assert result.handoff == "person"
    turns = await world.store.transcript(conversation.id)
    assert [(t.direction, t.text) for t in turns] == [
        (TurnDirection.INBOUND, "상담원"),
        (TurnDirection.OUTBOUND, "잠시만요."),
        (TurnDirection.OUTBOUND, "상담원을 연결해 드릴게요."),
    ]
    [request] = await world.store.handoff_requests(conversation.id)
    assert request.reason == "person"
    assert turns[0].status == TurnStatus.ANSWERED
    stored = await world.store.get_conversation(conversation.id)
    assert stored is not None and stored.last_buttons == ()  # the last answer offered none


async def test_an_empty_answer_is_stored_as_unanswered(world: World) -> None:
    conversation = await world.core.start("webchat", address="web")
    result = await world.turn(conversation.id, "아무 말")
    assert len(world.commits) == 2
    turns = await world.store.transcript(conversation.id)
    assert [t.text for t in turns] == ["아무 말", say("no_answer", "ko")]
    assert turns[0].status == TurnStatus.UNANSWERED
    assert [r.text for r in result.replies] == [say("no_answer", "ko")]
