"""One contract suite for every ConversationStore implementation and database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.config import to_async_url
from assistant.store import (
    Button,
    ConversationStore,
    Reply,
    SqlConversationStore,
    StoreError,
    TurnDirection,
    TurnStatus,
)
from assistant.store.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ConversationStore]:
    if request.param == "sqlite":
        url = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url = to_async_url(request.getfixturevalue("postgres_schema_url"))
    await asyncio.to_thread(upgrade, url)
    implementation = SqlConversationStore.from_url(url)
    try:
        yield implementation
    finally:
        await implementation.close()


async def test_conversation_round_trip(store: ConversationStore) -> None:
    started = await store.start_conversation("webchat", "web", "ko", {"deaf": True})
    loaded = await store.get_conversation(started.id)
    assert loaded is not None
    assert (loaded.channel, loaded.language, loaded.accessibility) == (
        "webchat",
        "ko",
        {"deaf": True},
    )
    assert loaded.created_at.tzinfo is not None
    await store.set_language(started.id, "en")
    await store.set_last_buttons(started.id, (Button("Basic pension", "/ask_service"),))
    loaded = await store.get_conversation(started.id)
    assert loaded is not None and loaded.language == "en"
    assert loaded.last_buttons == (Button("Basic pension", "/ask_service"),)
    assert await store.get_conversation("0" * 32) is None


async def test_latest_conversation_of_an_address(store: ConversationStore) -> None:
    assert await store.latest_conversation("sms", "+821011112222") is None
    first = await store.start_conversation("sms", "+821011112222", "ko")
    await store.start_conversation("webchat", "+821011112222", "ko")  # another channel
    await store.start_conversation("sms", "+821033334444", "ko")  # another number
    found = await store.latest_conversation("sms", "+821011112222")
    assert found is not None and found.id == first.id
    second = await store.start_conversation("sms", "+821011112222", "en")
    found = await store.latest_conversation("sms", "+821011112222")
    assert found is not None and found.id == second.id


async def test_transcript_keeps_order_and_links_replies(store: ConversationStore) -> None:
    conv = await store.start_conversation("webchat", "web", "ko")
    inbound, created = await store.record_inbound(conv.id, "등본", "ko")
    assert created and inbound.status == TurnStatus.RECEIVED
    reply = await store.record_outbound(
        conv.id, "답", "ko", buttons=(Button("a", "/a"),), reply_to=inbound.id
    )
    await store.set_turn_status(inbound.id, TurnStatus.ANSWERED)
    turns = await store.transcript(conv.id)
    assert [t.direction for t in turns] == [TurnDirection.INBOUND, TurnDirection.OUTBOUND]
    assert turns[0].status == TurnStatus.ANSWERED
    assert [r.id for r in await store.replies_to(inbound.id)] == [reply.id]
    assert await store.transcript(conv.id, after_id=inbound.id) == [turns[1]]


async def test_an_answer_is_stored_whole_with_its_status_and_buttons(
    store: ConversationStore,
) -> None:
    conv = await store.start_conversation("webchat", "web", "ko")
    inbound, _ = await store.record_inbound(conv.id, "등본", "ko")
    offered = (Button("1", "/a"), Button("2", "/b"))
    stored = await store.record_answer(
        conv.id,
        inbound.id,
        [Reply("첫째: 900101-1234567"), Reply("둘째", offered)],
        "ko",
        status=TurnStatus.ANSWERED,
        last_buttons=offered,
    )
    turns = await store.transcript(conv.id)
    assert turns[1:] == stored
    assert [t.text for t in stored] == ["첫째: ******-*******", "둘째"]
    assert stored[0].id < stored[1].id
    assert all(t.reply_to == inbound.id and t.status == TurnStatus.SENT for t in stored)
    assert [t.direction for t in stored] == [TurnDirection.OUTBOUND] * 2
    assert stored[1].buttons == offered and stored[0].buttons == ()
    assert turns[0].status == TurnStatus.ANSWERED
    assert [r.id for r in await store.replies_to(inbound.id)] == [t.id for t in stored]
    loaded = await store.get_conversation(conv.id)
    assert loaded is not None and loaded.last_buttons == offered
    assert loaded.updated_at >= conv.updated_at


async def test_an_answer_leaves_what_it_is_not_given(store: ConversationStore) -> None:
    conv = await store.start_conversation("webchat", "web", "ko")
    await store.set_last_buttons(conv.id, (Button("a", "/a"),))
    inbound, _ = await store.record_inbound(conv.id, "등본", "ko")
    stored = await store.record_answer(conv.id, inbound.id, [Reply("답")], "en")
    assert [(t.text, t.language) for t in stored] == [("답", "en")]
    turns = await store.transcript(conv.id)
    assert turns[0].status == TurnStatus.RECEIVED
    loaded = await store.get_conversation(conv.id)
    assert loaded is not None and loaded.last_buttons == (Button("a", "/a"),)
    # Only a status and the buttons (the replies were stored before): no turn added.
    assert (
        await store.record_answer(
            conv.id, inbound.id, [], "ko", status=TurnStatus.UNANSWERED, last_buttons=()
        )
        == []
    )
    assert len(await store.transcript(conv.id)) == 2
    assert (await store.transcript(conv.id))[0].status == TurnStatus.UNANSWERED
    loaded = await store.get_conversation(conv.id)
    assert loaded is not None and loaded.last_buttons == ()


async def test_resident_registration_numbers_never_stored(store: ConversationStore) -> None:
    conv = await store.start_conversation("webchat", "web", "ko")
    turn, _ = await store.record_inbound(conv.id, "제 번호는 900101-1234567 이에요", "ko")
    await store.record_outbound(conv.id, "확인: 9001011234567", "ko")
    handoff = await store.request_handoff(conv.id, "번호 900101 1234567", None, "webchat", "ko")
    texts = [t.text for t in await store.transcript(conv.id)] + [handoff.reason]
    assert all("1234567" not in text for text in texts), texts
    assert "******-*******" in turn.text


async def test_inbound_is_idempotent_on_client_message_id(store: ConversationStore) -> None:
    conv = await store.start_conversation("webchat", "web", "ko")
    first, created = await store.record_inbound(conv.id, "안녕", "ko", client_message_id="m1")
    again, created_again = await store.record_inbound(conv.id, "안녕", "ko", client_message_id="m1")
    assert created and not created_again and again.id == first.id
    results = await asyncio.gather(
        *(store.record_inbound(conv.id, "x", "ko", client_message_id="m2") for _ in range(5))
    )
    assert sum(created for _, created in results) == 1
    assert len({turn.id for turn, _ in results}) == 1


async def test_pending_turns_oldest_first(store: ConversationStore) -> None:
    a = await store.start_conversation("webchat", "web", "ko")
    b = await store.start_conversation("webchat", "web", "en")
    t1, _ = await store.record_inbound(a.id, "one", "ko")
    t2, _ = await store.record_inbound(b.id, "two", "en")
    t3, _ = await store.record_inbound(a.id, "three", "ko")
    for turn in (t1, t2, t3):
        await store.set_turn_status(turn.id, TurnStatus.PENDING)
    assert [t.id for t in await store.pending_turns()] == [t1.id, t2.id, t3.id]
    assert [t.id for t in await store.pending_turns(a.id)] == [t1.id, t3.id]
    await store.set_turn_status(t1.id, TurnStatus.ANSWERED)
    assert [t.id for t in await store.pending_turns(a.id)] == [t3.id]


async def test_turns_a_crash_dropped_are_kept_for_later_but_never_answered_twice(
    store: ConversationStore,
) -> None:
    conv = await store.start_conversation("sms", "+821012345678", "ko")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    dropped, _ = await store.record_inbound(conv.id, "dropped", "ko")
    answered_late, _ = await store.record_inbound(conv.id, "reply stored", "ko")
    await store.record_outbound(conv.id, "answer", "ko", reply_to=answered_late.id)
    done, _ = await store.record_inbound(conv.id, "done", "ko")
    await store.set_turn_status(done.id, TurnStatus.ANSWERED)
    # Nothing older than the turns: nothing moves.
    assert await store.requeue_dropped(before) == 0
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert await store.requeue_dropped(after) == 1
    assert [t.id for t in await store.pending_turns(conv.id)] == [dropped.id]
    assert await store.requeue_dropped(after) == 0  # once


async def test_handoff_requests_recorded(store: ConversationStore) -> None:
    conv = await store.start_conversation("sms", "+821012345678", "ko", {"deaf": True})
    request = await store.request_handoff(
        conv.id, "sign_language", "basic_pension", "sms", "ko", {"deaf": True}
    )
    listed = await store.handoff_requests(conv.id)
    assert listed == [request]
    assert (request.status, request.service, request.accessibility) == (
        "waiting",
        "basic_pension",
        {"deaf": True},
    )


@pytest.mark.parametrize(
    ("service", "recorded"),
    [("x" * 100, None), ("Basic Pension!", None), ("basic_pension", "basic_pension")],
)
async def test_a_handoff_service_that_is_no_catalog_id_is_not_recorded(
    store: ConversationStore, service: str, recorded: str | None
) -> None:
    """Whatever reaches the store as a request's service (a citizen could fill the
    dialogue's slot, review L6) never breaks the insert (String(64) on PostgreSQL)."""
    conv = await store.start_conversation("sms", "+821012345678", "ko")
    request = await store.request_handoff(conv.id, "person", service, "sms", "ko")
    assert request.service == recorded
    assert [r.service for r in await store.handoff_requests(conv.id)] == [recorded]


async def test_a_continuation_link_is_claimed_once_and_never_after_expiry(
    store: ConversationStore,
) -> None:
    call = await store.start_conversation("voice", "+821012345678", "ko")
    now = dt.datetime.now(dt.UTC)
    await store.add_continuation("a" * 64, call.id, now + dt.timedelta(hours=1))
    await store.add_continuation("b" * 64, call.id, now - dt.timedelta(seconds=1))
    # Two pages opening the same link at once: exactly one gets the conversation.
    claims = await asyncio.gather(*(store.claim_continuation("a" * 64) for _ in range(4)))
    assert claims.count(call.id) == 1 and claims.count(None) == 3
    assert await store.claim_continuation("a" * 64) is None  # used
    assert await store.claim_continuation("b" * 64) is None  # expired
    assert await store.claim_continuation("c" * 64) is None  # never made
    await store.set_continued_as("a" * 64, "f" * 32)


async def test_a_numbers_conversations_and_their_continuations_are_erased(
    store: ConversationStore,
) -> None:
    """FORGET's part here (review M7): every conversation of the address on any channel,
    the web chats continued from them (and from those), with turns, requests and links."""
    phone = "+821012345678"
    sms = await store.start_conversation("sms", phone, "ko")
    call = await store.start_conversation("voice", phone, "ko")
    web = await store.start_conversation("webchat", "web", "ko")
    web_again = await store.start_conversation("webchat", "web", "ko")
    other = await store.start_conversation("sms", "+821099998888", "ko")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    await store.add_continuation("a" * 64, call.id, later)
    assert await store.claim_continuation("a" * 64) == call.id
    await store.set_continued_as("a" * 64, web.id)
    await store.add_continuation("b" * 64, web.id, later)
    await store.set_continued_as("b" * 64, web_again.id)
    for conversation in (sms, web, other):
        inbound, _ = await store.record_inbound(conversation.id, text="기초연금", language="ko")
        await store.record_outbound(conversation.id, text="답", language="ko", reply_to=inbound.id)
    await store.request_handoff(sms.id, "person", None, "sms", "ko", {})

    ids = await store.conversations_of_address(phone)
    assert sorted(ids) == sorted([sms.id, call.id, web.id, web_again.id])
    assert await store.erase(ids) == 4
    for erased in ids:
        assert await store.get_conversation(erased) is None
        assert await store.transcript(erased) == []
        assert await store.handoff_requests(erased) == []
    assert await store.conversations_of_address(phone) == []
    assert await store.latest_conversation("sms", phone) is None
    assert [t.text for t in await store.transcript(other.id)] == ["기초연금", "답"]
    assert await store.erase([]) == 0


async def test_inactive_conversations_are_those_with_nothing_new(
    store: ConversationStore,
) -> None:
    quiet = await store.start_conversation("sms", "+821011111111", "ko")
    await store.record_inbound(quiet.id, text="예전 질문", language="ko")
    talking = await store.start_conversation("sms", "+821022222222", "ko")
    await asyncio.sleep(0.01)
    cut = dt.datetime.now(dt.UTC)
    await asyncio.sleep(0.01)
    await store.record_inbound(talking.id, text="방금 질문", language="ko")  # a turn since
    fresh = await store.start_conversation("webchat", "web", "ko")  # created since
    assert await store.inactive_conversations(cut) == [quiet.id]
    everything = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert set(await store.inactive_conversations(everything)) == {quiet.id, talking.id, fresh.id}
    assert len(await store.inactive_conversations(everything, limit=2)) == 2


async def test_ping(store: ConversationStore) -> None:
    await store.ping()


async def test_ping_fails_without_schema(tmp_path: Path) -> None:
    empty = SqlConversationStore.from_url(to_async_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(StoreError):
        await empty.ping()
    await empty.close()


def test_unknown_database_scheme_refused() -> None:
    with pytest.raises(StoreError, match="unsupported"):
        SqlConversationStore.from_url("mysql+aiomysql://x/y")


async def test_a_nul_character_is_dropped_not_a_failed_insert(store: ConversationStore) -> None:
    """Review L4: PostgreSQL's TEXT refuses U+0000, so a message holding one was lost;
    and a right-to-left override would reorder a number on the interpreter's screen."""
    conversation = await store.start_conversation("webchat", "web", "ko")
    said, _ = await store.record_inbound(
        conversation.id, text="a\x00b", language="ko", payload="/x\x00"
    )
    answer = await store.record_outbound(conversation.id, text="답\x00", language="ko")
    assert (said.text, said.payload, answer.text) == ("ab", "/x", "답")
    turned, _ = await store.record_inbound(
        conversation.id, text="번호 \u202e1234\u202c", language="ko"
    )
    assert turned.text == "번호 1234"
