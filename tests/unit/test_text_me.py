"""A checklist or a screening's result texted to the citizen's mobile (assistant/text_me.py),
through the real conversation core and store (SQLite, migrated); the dialogue is a
double of Rasa's REST channel answering with a checklist that offers "문자로 받기"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.config import to_async_url
from assistant.conversation import ConversationCore
from assistant.messages import IncomingMessage, TurnResult
from assistant.metrics import Metrics
from assistant.rasa_client import RasaClient
from assistant.store import SqlConversationStore, TurnDirection
from assistant.store.migrate import upgrade
from assistant.text_me import MAX_TEXTS_A_DAY, SIGNATURE, TextMe, text, text_me_button
from assistant.texts import say
from tests.handoff_world import Texts

CHECKLIST = "[이사]\n1. 전입신고 (14일 이내)\n2. 전월세 신고 (30일 이내)\n" + say(
    "choose_for_details", "ko"
)


@dataclass
class World:
    core: ConversationCore
    store: SqlConversationStore
    texts: Texts
    dialogue: list[str]

    async def say(self, conversation_id: str, words: str, payload: str | None = None) -> str:
        conversation = await self.store.get_conversation(conversation_id)
        assert conversation is not None
        result: TurnResult = await self.core.handle(
            IncomingMessage(conversation_id, words, channel=conversation.channel, payload=payload)
        )
        return "\n".join(r.text for r in result.replies)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    url = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
    await asyncio.to_thread(upgrade, url)
    store = SqlConversationStore.from_url(url)
    dialogue: list[str] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        message = json.loads(request.content)["message"]
        dialogue.append(message)
        if "이사" in message:
            buttons = [
                {"title": "전입신고", "payload": "/ask_move_in_report"},
                text_me_button("ko"),
            ]
            return httpx.Response(200, json=[{"text": CHECKLIST, "buttons": buttons}])
        return httpx.Response(200, json=[{"text": f"봇: {message}"}])

    http = httpx.AsyncClient(transport=httpx.MockTransport(rasa))
    core = ConversationCore(store, RasaClient("http://rasa.test", http), Metrics())
    texts = Texts()

    async def sent_today(number: str) -> int:
        return sum(1 for to, _, _ in texts.sent if to == number)

    core.attach_text_me(TextMe(store, texts, sent_today))
    try:
        yield World(core, store, texts, dialogue)
    finally:
        await http.aclose()
        await store.close()


async def test_on_the_web_chat_the_number_is_asked_used_once_and_stored_masked(
    world: World,
) -> None:
    web = (await world.core.start("webchat", address="web-1")).id
    await world.say(web, "이사했어요")
    asked = await world.say(web, "문자로 받기", payload="sotong:text_me")
    assert asked == text("ask", "ko")
    done = await world.say(web, "010-2345-6789")
    assert done == text("sent", "ko", number="010-****-6789")
    ((to, body, kind),) = world.texts.sent
    assert (to, kind) == ("+821023456789", "text_me")
    # The checklist, without the line about choices a text cannot carry, signed.
    assert body == CHECKLIST.rsplit("\n", 1)[0] + "\n" + SIGNATURE
    said = [
        t.text for t in await world.store.transcript(web) if t.direction is TurnDirection.INBOUND
    ]
    assert "010-****-6789" in said and not any("2345" in t for t in said)
    assert world.dialogue == ["이사했어요"]  # the flow never reached the dialogue


async def test_a_landline_asks_again_and_a_question_leaves_the_flow(world: World) -> None:
    web = (await world.core.start("webchat", address="web-2")).id
    await world.say(web, "이사했어요")
    await world.say(web, "문자로 받기", payload="sotong:text_me")
    assert await world.say(web, "02-123-4567") == text("not_mobile", "ko")
    assert await world.say(web, "전입신고는 어디서 해요?") == "봇: 전입신고는 어디서 해요?"
    assert world.texts.sent == []
    # Cancelled in words: nothing sent either.
    await world.say(web, "이사했어요")
    await world.say(web, "문자로 받기", payload="sotong:text_me")
    assert await world.say(web, "취소") == text("cancelled", "ko")
    assert world.texts.sent == []


async def test_on_a_call_the_caller_s_mobile_gets_it_at_once(world: World) -> None:
    call = (await world.core.start("voice", address="+821098765432")).id
    await world.say(call, "이사")
    sent = await world.say(call, "문자로 받기", payload="sotong:text_me")
    assert sent == text("sent_caller", "ko", last_four="5432")
    assert [to for to, _, _ in world.texts.sent] == ["+821098765432"]


async def test_a_withheld_caller_id_is_told_plainly(world: World) -> None:
    call = (await world.core.start("voice", address="anonymous")).id
    await world.say(call, "이사")
    assert await world.say(call, "문자로 받기", payload="sotong:text_me") == text(
        "caller_cannot", "ko"
    )
    assert world.texts.sent == []


async def test_one_number_gets_at_most_a_few_a_day(world: World) -> None:
    for n in range(MAX_TEXTS_A_DAY + 1):
        web = (await world.core.start("webchat", address=f"web-{n}")).id
        await world.say(web, "이사했어요")
        await world.say(web, "문자로 받기", payload="sotong:text_me")
        answer = await world.say(web, "010-2345-6789")
    assert answer == text("too_many", "ko", max=MAX_TEXTS_A_DAY)
    assert len(world.texts.sent) == MAX_TEXTS_A_DAY


async def test_the_choice_is_refused_when_it_was_not_offered(world: World) -> None:
    web = (await world.core.start("webchat", address="web-9")).id
    await world.say(web, "안녕하세요")
    # Not among the last buttons: the payload is dropped and the title goes on as text.
    assert await world.say(web, "문자로 받기", payload="sotong:text_me") == "봇: 문자로 받기"
    assert world.texts.sent == []
