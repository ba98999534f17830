"""A kept message is never processed twice by the dialogue (review L7).

A request to Rasa that times out is kept and sent again later, but Rasa may have
finished the turn anyway (tracker saved). Before sending a kept message again the core
asks Rasa's tracker whether the message (its turn id, in the REST channel's metadata)
got there; if it did, what the dialogue said then is the answer.

Real store (SQLite, migrated) and the real core; the dialogue is a double of Rasa's REST
channel and its tracker API (httpx.MockTransport speaking their JSON) that keeps a
tracker per sender as Rasa 3.6 does. The same against the real Rasa server:
tests/integration/test_dialogue_resend.py.
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

from assistant.config import to_async_url
from assistant.conversation import ConversationCore
from assistant.messages import IncomingMessage, OutgoingMessage
from assistant.metrics import Metrics
from assistant.rasa_client import TURN_ID_KEY, RasaClient, turn_answer
from assistant.store import SqlConversationStore, TurnDirection, TurnStatus
from assistant.store.migrate import upgrade
from assistant.texts import say

TOKEN = "rasa-token-for-tests"


@dataclass
class TrackerRasa:
    """Rasa 3.6's REST channel and ``POST /conversations/{id}/tracker/events``.

    As in Rasa, each message is processed under its conversation's lock and its turn
    saved in the tracker at the end (the user event with the request's metadata, the
    bot events, ``action_listen``); appending events takes the same lock and answers
    the tracker. ``late``: how many of the next messages are answered too late (the
    client times out) while Rasa goes on and finishes them — after ``gate`` opens, when
    one is given. ``down``: every request fails at once, nothing is processed.
    """

    trackers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    tracker_reads: list[str] = field(default_factory=list)
    late: int = 0
    gate: asyncio.Event | None = None
    down: bool = False
    tracker_down: bool = False
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    unfinished: list[asyncio.Task[None]] = field(default_factory=list)

    @staticmethod
    def bot_events(message: str) -> list[dict[str, Any]]:
        if "상담원" in message:
            return [
                {
                    "event": "bot",
                    "text": None,
                    "data": {"custom": {"sotong_handoff": {"reason": "person", "service": None}}},
                },
                {"event": "bot", "text": "상담원을 연결해 드릴게요.", "data": {}},
            ]
        if message == "메뉴":
            buttons = [
                {"title": "등본", "payload": "/ask_service"},
                {"title": "전입신고", "payload": "/ask_move"},
            ]
            return [{"event": "bot", "text": "무엇을 도와드릴까요?", "data": {"buttons": buttons}}]
        return [{"event": "bot", "text": f"답: {message}\n\n더 궁금한 점이 있나요?", "data": {}}]

    @staticmethod
    def rest_answer(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What the REST channel answers for these bot events (a plain text goes out one
        message per paragraph)."""
        out: list[dict[str, Any]] = []
        for event in events:
            data = event["data"]
            if data.get("buttons"):
                out.append({"text": event["text"], "buttons": data["buttons"]})
            elif event["text"]:
                out.extend({"text": part} for part in event["text"].split("\n\n"))
            if data.get("custom"):
                out.append({"custom": data["custom"]})
        return out

    def lock(self, sender: str) -> asyncio.Lock:
        return self.locks.setdefault(sender, asyncio.Lock())

    async def process(self, body: dict[str, Any], gate: asyncio.Event | None = None) -> None:
        async with self.lock(body["sender"]):
            if gate is not None:
                await gate.wait()
            turn: list[dict[str, Any]] = [
                {"event": "user", "text": body["message"], "metadata": body.get("metadata") or {}}
            ]
            for event in self.bot_events(body["message"]):
                turn += [{"event": "action", "name": "utter_something"}, event]
            turn.append({"event": "action", "name": "action_listen"})
            self.trackers.setdefault(body["sender"], []).extend(turn)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/tracker/events"):
            assert request.method == "POST" and request.url.params.get("token") == TOKEN
            assert request.url.params.get("include_events") == "ALL"
            sender = path.removeprefix("/conversations/").removesuffix("/tracker/events")
            self.tracker_reads.append(sender)
            if self.down or self.tracker_down:
                raise httpx.ConnectError("connection refused", request=request)
            event = json.loads(request.content)
            assert event["event"] == "agent"  # changes no state in Rasa
            async with self.lock(sender):
                tracker = self.trackers.setdefault(sender, [])
                tracker.append(event)
                return httpx.Response(200, json={"sender_id": sender, "events": tracker})
        assert request.method == "POST" and path == "/webhooks/rest/webhook"
        body = json.loads(request.content)
        self.messages.append(body)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.late:
            self.late -= 1
            # The client gives up; Rasa goes on with the message and saves the turn.
            self.unfinished.append(asyncio.create_task(self.process(body, self.gate)))
            await asyncio.sleep(0)  # it has the conversation's lock before the client knows
            raise httpx.ReadTimeout("timed out", request=request)
        await self.process(body)
        recipient = {"recipient_id": body["sender"]}
        answer = self.rest_answer(self.bot_events(body["message"]))
        return httpx.Response(200, json=[{**recipient, **m} for m in answer])

    def user_events(self, sender: str) -> list[dict[str, Any]]:
        return [e for e in self.trackers.get(sender, []) if e["event"] == "user"]


@dataclass
class Outbox:
    """An output channel that records what reached the citizen outside a request."""

    sent: list[OutgoingMessage] = field(default_factory=list)

    async def send(self, conversation_id: str, message: OutgoingMessage) -> None:
        self.sent.append(message)


@dataclass
class World:
    core: ConversationCore
    store: SqlConversationStore
    rasa: TrackerRasa
    outbox: Outbox

    async def say(self, conversation_id: str, text: str, cid: str | None = None) -> Any:
        return await self.core.handle(
            IncomingMessage(conversation_id, text, channel="sms", client_message_id=cid)
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    url = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
    await asyncio.to_thread(upgrade, url)
    store = SqlConversationStore.from_url(url)
    rasa = TrackerRasa()
    http = httpx.AsyncClient(transport=httpx.MockTransport(rasa.handle))
    outbox = Outbox()
    core = ConversationCore(
        store, RasaClient("http://rasa.test", http, token=TOKEN), Metrics(), {"sms": outbox}
    )
    try:
        yield World(core, store, rasa, outbox)
    finally:
        if rasa.gate is not None:
            rasa.gate.set()
        await asyncio.gather(*rasa.unfinished)
        await http.aclose()
        await store.close()


async def _conversation(world: World) -> str:
    return (await world.core.start("sms", address="+821012345678")).id


async def test_every_message_carries_its_turn_id(world: World) -> None:
    cid = await _conversation(world)
    result = await world.say(cid, "기초연금")
    [sent] = world.rasa.messages
    assert sent["metadata"][TURN_ID_KEY] == result.inbound_turn_id
    assert world.rasa.tracker_reads == []  # a new message cannot have reached Rasa before


async def test_a_timed_out_message_rasa_processed_is_answered_once_from_its_tracker(
    world: World,
) -> None:
    cid = await _conversation(world)
    world.rasa.late = 1
    kept = await world.say(cid, "기초연금")
    assert kept.degraded and [r.text for r in kept.replies] == [say("dialogue_unavailable", "ko")]

    assert await world.core.replay_pending() == 1
    # Not sent again: the tracker has the message once, and its answer reached the
    # citizen once (both paragraphs, as the REST channel would have sent them).
    assert len(world.rasa.messages) == 1
    assert len(world.rasa.user_events(cid)) == 1
    assert world.rasa.tracker_reads == [cid]
    answer = ["답: 기초연금", "더 궁금한 점이 있나요?"]
    assert [m.text for m in world.outbox.sent] == answer
    turns = await world.store.transcript(cid)
    [inbound] = [t for t in turns if t.direction is TurnDirection.INBOUND]
    assert inbound.status is TurnStatus.ANSWERED
    assert [t.text for t in turns if t.reply_to == inbound.id] == answer

    # Nothing is left to replay, and nothing more is sent.
    assert await world.core.replay_pending() == 0
    assert len(world.rasa.messages) == 1 and len(world.outbox.sent) == 2


async def test_a_message_rasa_is_still_processing_is_waited_for_not_sent_again(
    world: World,
) -> None:
    """The gateway gave up, Rasa did not (a proxy that does not pass the hang-up on, a
    slow action): the check waits for Rasa's lock on the conversation, so it sees the
    turn once Rasa saved it. A plain read would find nothing yet and send it again."""
    cid = await _conversation(world)
    world.rasa.gate = asyncio.Event()
    world.rasa.late = 1
    kept = await world.say(cid, "기초연금")
    assert kept.degraded and world.rasa.user_events(cid) == []
    replay = asyncio.create_task(world.core.replay_pending())
    await asyncio.sleep(0.05)
    assert not replay.done()  # waiting for the turn in progress
    world.rasa.gate.set()
    assert await replay == 1
    assert len(world.rasa.messages) == 1 and len(world.rasa.user_events(cid)) == 1
    assert [m.text for m in world.outbox.sent] == ["답: 기초연금", "더 궁금한 점이 있나요?"]


async def test_the_next_message_first_takes_the_kept_ones_answer_from_the_tracker(
    world: World,
) -> None:
    cid = await _conversation(world)
    world.rasa.late = 1
    await world.say(cid, "메뉴")
    result = await world.say(cid, "전입신고")
    assert [m["message"] for m in world.rasa.messages] == ["메뉴", "전입신고"]
    assert [e["text"] for e in world.rasa.user_events(cid)] == ["메뉴", "전입신고"]
    # The kept message's answer went out first, with its choices.
    [menu] = world.outbox.sent
    assert menu.text == "무엇을 도와드릴까요?"
    assert [b.payload for b in menu.buttons] == ["/ask_service", "/ask_move"]
    assert [r.text for r in result.replies] == ["답: 전입신고", "더 궁금한 점이 있나요?"]


async def test_a_request_for_a_person_in_a_timed_out_turn_is_recorded_once(
    world: World,
) -> None:
    cid = await _conversation(world)
    world.rasa.late = 1
    await world.say(cid, "상담원 연결해 주세요")
    assert await world.core.replay_pending() == 1
    assert len(world.rasa.messages) == 1
    assert len(await world.store.handoff_requests(cid)) == 1
    assert [m.text for m in world.outbox.sent] == ["상담원을 연결해 드릴게요."]


async def test_a_kept_message_rasa_never_got_is_sent_when_it_is_back(world: World) -> None:
    cid = await _conversation(world)
    world.rasa.down = True
    kept = await world.say(cid, "기초연금")
    assert kept.degraded
    assert await world.core.replay_pending() == 0  # still down: not even the tracker answers
    world.rasa.down = False
    assert await world.core.replay_pending() == 1
    assert world.rasa.tracker_reads == [cid, cid]
    # Refused at first (nothing processed), then sent once when it was back.
    assert [m["metadata"][TURN_ID_KEY] for m in world.rasa.messages] == [kept.inbound_turn_id] * 2
    assert len(world.rasa.user_events(cid)) == 1
    assert [m.text for m in world.outbox.sent] == ["답: 기초연금", "더 궁금한 점이 있나요?"]


async def test_without_the_tracker_a_kept_message_stays_kept(world: World) -> None:
    cid = await _conversation(world)
    world.rasa.late = 1
    await world.say(cid, "기초연금")
    world.rasa.tracker_down = True
    assert await world.core.replay_pending() == 0
    assert len(world.rasa.messages) == 1  # never sent blind
    [pending] = await world.store.pending_turns(cid)
    assert pending.text == "기초연금"
    world.rasa.tracker_down = False
    assert await world.core.replay_pending() == 1
    assert len(world.rasa.messages) == 1 and len(world.rasa.user_events(cid)) == 1


async def test_a_turn_whose_first_delivery_died_is_answered_from_the_tracker(
    world: World,
) -> None:
    """The gateway died waiting for Rasa (review M1): Twilio's retry of the SMS finds the
    turn stored and unanswered; Rasa had finished it."""
    cid = await _conversation(world)
    first = await world.say(cid, "기초연금", cid="SM1")
    # What the tracker holds after the dead delivery: the message, processed.
    turn, created = await world.store.record_inbound(
        cid, text="전입신고", language="ko", client_message_id="SM2"
    )
    assert created and turn.status is TurnStatus.RECEIVED
    world.rasa.trackers[cid] += [
        {"event": "user", "text": "전입신고", "metadata": {TURN_ID_KEY: turn.id}},
        {"event": "action", "name": "utter_something"},
        {"event": "bot", "text": "답: 전입신고", "data": {}},
        {"event": "action", "name": "action_listen"},
    ]
    retry = await world.say(cid, "전입신고", cid="SM2")
    assert retry.duplicate and [r.text for r in retry.replies] == ["답: 전입신고"]
    assert [m["message"] for m in world.rasa.messages] == ["기초연금"]
    assert first.inbound_turn_id != turn.id


def test_turn_answer_reads_the_turn_as_the_rest_channel_renders_it() -> None:
    """Rasa 3.6's tracker dump: the turn's bot events up to ``action_listen`` (a later
    turn's are not this one's), buttons, custom payloads and paragraphs as the REST
    channel sends them; None for a message the tracker does not have."""
    buttons = [{"title": "예", "payload": "/affirm"}]
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "안녕", "metadata": {TURN_ID_KEY: 6}},
        {"event": "bot", "text": "이전 턴", "data": {}},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "상담원", "metadata": {TURN_ID_KEY: 7, "channel": "sms"}},
        {"event": "slot", "name": "language", "value": "ko"},
        {"event": "action", "name": "action_request_handoff"},
        {"event": "bot", "text": None, "data": {"custom": {"sotong_handoff": {"x": 1}}}},
        {"event": "bot", "text": "첫 문단\n\n둘째 문단", "data": {"buttons": None}},
        {"event": "bot", "text": "고르세요", "data": {"buttons": buttons}, "metadata": {}},
        {"event": "action", "name": "action_listen"},
        {"event": "bot", "text": "나중 알림", "data": {}},
        {"event": "user", "text": "다음", "metadata": {TURN_ID_KEY: 8}},
    ]
    answer = turn_answer(events, 7)
    assert answer is not None
    assert [(u.text, u.custom) for u in answer] == [
        (None, {"sotong_handoff": {"x": 1}}),
        ("첫 문단", None),
        ("둘째 문단", None),
        ("고르세요", None),
    ]
    assert [b.payload for b in answer[3].buttons] == ["/affirm"]
    assert turn_answer(events, 8) == []
    assert turn_answer(events, 9) is None
    assert turn_answer([{"event": "user", "text": "x", "metadata": {TURN_ID_KEY: "7"}}], 7) is None
