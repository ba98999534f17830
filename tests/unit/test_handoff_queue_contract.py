"""One contract suite for every HandoffQueue implementation and database."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from assistant.config import to_async_url
from assistant.handoff import (
    SKILL_KSL,
    SKILL_PERSON,
    HandoffQueue,
    Interpreter,
    Outcome,
    QueueState,
    SqlHandoffQueue,
    skill_for_reason,
)
from assistant.handoff.attempts import CallbackLog, SqlCallbackLog
from assistant.handoff.records import CallbackState, CallOutcome
from assistant.privacy import RRN_MASK
from assistant.store import ConversationStore, SqlConversationStore, StoreError
from assistant.store.migrate import alembic_config
from assistant.store.models import Base
from tests.clock import ManualClock

T0 = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.UTC)  # 18:00 in Seoul
KIM = Interpreter(id="kim", name="김수어", skills=(SKILL_KSL, SKILL_PERSON), available=True)
LEE = Interpreter(id="lee", name="이통역", skills=(SKILL_KSL,), available=True)
PARK = Interpreter(
    id="park", name="박주무관", centre="종로구청", skills=(SKILL_PERSON,), available=True
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def url(migrated_url: str) -> str:
    """A migrated SQLite and then PostgreSQL database (``migrated_url`` in conftest)."""
    return migrated_url


@pytest.fixture
async def store(url: str, clock: ManualClock) -> AsyncIterator[ConversationStore]:
    # The same hand-moved clock as the queue: a request's age is the queue's "now"
    # minus the time the conversation store wrote, so both must read one clock.
    conversations = SqlConversationStore.from_url(url, clock=clock)
    try:
        yield conversations
    finally:
        await conversations.close()


@pytest.fixture
async def queue(url: str, clock: ManualClock) -> AsyncIterator[HandoffQueue]:
    implementation = SqlHandoffQueue.from_url(url, clock=clock)
    try:
        yield implementation
    finally:
        await implementation.close()


async def ask(store: ConversationStore, reason: str = "person", channel: str = "webchat") -> int:
    """A citizen asks for a person, the way the dialogue records it."""
    conversation = await store.start_conversation(channel, f"addr-{random.random()}", "ko")
    request = await store.request_handoff(
        conversation.id, reason, "basic_pension", channel, "ko", {"deaf": reason != "person"}
    )
    return request.id


async def people(queue: HandoffQueue, *interpreters: Interpreter) -> None:
    for interpreter in interpreters:
        await queue.upsert_interpreter(interpreter)


# ---- the life of a request --------------------------------------------------------------
async def test_a_request_from_waiting_to_resolved(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    await people(queue, KIM)
    rid = await ask(store, "sign_language")
    entry = await queue.get(rid)
    assert entry is not None
    assert (entry.state, entry.skill, entry.reason, entry.service) == (
        QueueState.WAITING,
        SKILL_KSL,
        "sign_language",
        "basic_pension",
    )
    assert entry.accessibility == {"deaf": True}
    assert entry.offered_to is entry.accepted_by is entry.offered_at is entry.ended_at is None

    clock.advance(10)
    assert await queue.offer(rid, "kim")
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.OFFERED
    assert (entry.offered_to, entry.offered_at, entry.updated_at) == ("kim", clock.now, clock.now)

    clock.advance(10)
    accepted = await queue.accept(rid, "kim")
    assert accepted is not None and accepted.state is QueueState.ACCEPTED
    assert (accepted.accepted_by, accepted.accepted_at) == ("kim", clock.now)
    assert await queue.position(rid) is None

    clock.advance(10)
    assert await queue.start_session(rid, "kim")
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.IN_SESSION
    assert entry.session_started_at == clock.now

    clock.advance(10)
    assert await queue.resolve(rid, "kim", "등본 발급 안내, 번호 900101-1234567")
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.RESOLVED
    assert (entry.outcome, entry.ended_at, entry.updated_at) == ("resolved", clock.now, clock.now)
    assert entry.notes is not None and "1234567" not in entry.notes and RRN_MASK in entry.notes
    # Every step kept its own time.
    assert entry.offered_at == T0 + dt.timedelta(seconds=10)
    assert entry.accepted_at == T0 + dt.timedelta(seconds=20)
    assert entry.session_started_at == T0 + dt.timedelta(seconds=30)
    assert entry.ended_at.utcoffset() == dt.timedelta(0)


async def test_an_open_request_moves_to_the_conversation_its_citizen_went_on_in(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    rid = await ask(store, "sign_language", channel="voice")
    web = await store.start_conversation("webchat", "web", "ko")
    clock.advance(5)
    assert await queue.move(rid, web.id, "webchat")
    entry = await queue.get(rid)
    assert entry is not None and (entry.conversation_id, entry.channel) == (web.id, "webchat")
    assert entry.updated_at == clock.now and entry.state is QueueState.WAITING
    assert await queue.active_for_conversation(web.id) == entry
    # A request that is over stays where it was.
    assert await queue.abandon(rid)
    assert not await queue.move(rid, "f" * 32, "webchat")


async def test_hand_back_resolves_with_its_outcome(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, PARK)
    rid = await ask(store)
    assert await queue.accept(rid, "park") is not None  # accepting needs no offer
    assert await queue.start_session(rid, "park")
    assert await queue.hand_back(rid, "park")
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.RESOLVED
    assert entry.outcome == Outcome.HANDED_BACK.value and entry.notes is None


async def test_an_accepted_request_may_end_without_a_session(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, PARK)
    rid = await ask(store)
    assert await queue.accept(rid, "park") is not None
    assert await queue.resolve(rid, "park", "전화로 해결")
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.RESOLVED
    assert entry.session_started_at is None


# ---- refused transitions ----------------------------------------------------------------
async def test_changes_from_waiting(queue: HandoffQueue, store: ConversationStore) -> None:
    await people(queue, PARK)
    rid = await ask(store)
    assert not await queue.start_session(rid, "park")
    assert not await queue.resolve(rid, "park")
    assert not await queue.hand_back(rid, "park")
    assert not await queue.decline(rid, "park")
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.WAITING


async def test_changes_from_offered(queue: HandoffQueue, store: ConversationStore) -> None:
    await people(queue, PARK, KIM)
    rid = await ask(store)
    assert await queue.offer(rid, "park")
    assert not await queue.offer(rid, "kim")  # only from waiting
    assert not await queue.offer(rid, "park")
    assert await queue.accept(rid, "kim") is None  # offered to someone else
    assert not await queue.decline(rid, "kim")
    assert not await queue.start_session(rid, "park")
    assert not await queue.resolve(rid, "park")
    assert await queue.position(rid) == 1  # still queued


async def test_changes_from_accepted_and_in_session(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, PARK, KIM)
    rid = await ask(store)
    assert await queue.accept(rid, "park") is not None
    assert await queue.accept(rid, "park") is None
    assert await queue.accept(rid, "kim") is None
    assert not await queue.offer(rid, "kim")
    assert not await queue.decline(rid, "park")
    assert not await queue.route(rid, region="종로구")
    assert not await queue.start_session(rid, "kim")  # not the holder
    assert not await queue.resolve(rid, "kim")
    assert not await queue.hand_back(rid, "kim")
    assert await queue.start_session(rid, "park")
    assert not await queue.start_session(rid, "park")
    assert not await queue.resolve(rid, "kim")
    assert not await queue.release(rid, "kim")  # not the holder
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.IN_SESSION


async def test_final_states_never_change(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    await people(queue, PARK)
    resolved, abandoned, expired = await ask(store), await ask(store), await ask(store)
    assert await queue.accept(resolved, "park") is not None
    assert await queue.resolve(resolved, "park")
    assert await queue.abandon(abandoned)
    await queue.route(expired, skill=SKILL_KSL)  # not taken by the others below
    clock.advance(1)  # "older than now": queued a second ago
    expired_ids = await queue.expire(dt.timedelta(0))
    assert expired_ids == [expired]
    for rid in (resolved, abandoned, expired):
        before = await queue.get(rid)
        assert not await queue.offer(rid, "park")
        assert await queue.accept(rid, "park") is None
        assert not await queue.start_session(rid, "park")
        assert not await queue.resolve(rid, "park")
        assert not await queue.hand_back(rid, "park")
        assert not await queue.abandon(rid)
        assert not await queue.decline(rid, "park")
        assert not await queue.release(rid, "park")
        assert await queue.get(rid) == before
        assert before is not None and before.state.is_final
    assert await queue.expire(dt.timedelta(0)) == []


async def test_unknown_request(queue: HandoffQueue) -> None:
    await people(queue, PARK)
    assert await queue.get(999) is None
    assert await queue.accept(999, "park") is None
    assert not await queue.offer(999, "park")
    assert not await queue.abandon(999)
    assert await queue.position(999) is None
    assert await queue.estimated_wait(999) is None


# ---- offers, declines, cancellation, expiry ---------------------------------------------
async def test_an_offer_holds_the_request_for_that_interpreter_until_declined(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, KIM, LEE)
    rid = await ask(store, "sign_language")
    assert await queue.offer(rid, "kim")
    assert await queue.accept(rid, "lee") is None
    assert [e.id for e in await queue.for_interpreter("kim")] == [rid]
    assert await queue.for_interpreter("lee") == []
    assert await queue.decline(rid, "kim")
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.WAITING and entry.offered_to is None
    assert await queue.for_interpreter("kim") == []
    taken = await queue.accept(rid, "lee")
    assert taken is not None and taken.accepted_by == "lee"


async def test_the_citizen_may_leave_at_any_point_before_the_end(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    await people(queue, replace(PARK, capacity=2))
    waiting, offered, accepted, talking = [await ask(store) for _ in range(4)]
    assert await queue.offer(offered, "park")
    assert await queue.accept(accepted, "park") is not None
    assert await queue.accept(talking, "park") is not None
    assert await queue.start_session(talking, "park")
    clock.advance(60)
    for rid in (waiting, offered, accepted, talking):
        assert await queue.abandon(rid)
        entry = await queue.get(rid)
        assert entry is not None and entry.state is QueueState.ABANDONED
        assert (entry.outcome, entry.ended_at) == (Outcome.CANCELLED.value, clock.now)
    assert await queue.for_interpreter("park") == []
    # The slots the cancelled requests held are free again.
    assert await queue.accept(await ask(store), "park") is not None


async def test_a_released_request_goes_back_in_line_in_its_place(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, PARK, KIM)
    first, second = await ask(store), await ask(store)
    assert await queue.accept(first, "park") is not None
    assert await queue.start_session(first, "park")
    assert await queue.position(second) == 1
    assert not await queue.release(first, "kim")  # only its holder's requests
    assert await queue.release(first, "park")
    entry = await queue.get(first)
    assert entry is not None and entry.state is QueueState.WAITING
    assert (entry.accepted_by, entry.offered_to, entry.session_started_at) == (None, None, None)
    assert await queue.position(first) == 1 and await queue.position(second) == 2
    assert not await queue.release(first, "park")  # no longer held
    taken = await queue.accept(first, "kim")
    assert taken is not None and taken.accepted_by == "kim"


async def test_a_held_request_times_out_when_its_holder_shows_no_sign(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    await people(queue, replace(PARK, capacity=3), KIM)
    quiet, attended, other, waiting = [await ask(store) for _ in range(4)]
    for rid in (quiet, attended):
        assert await queue.accept(rid, "park") is not None
    assert await queue.accept(other, "kim") is not None
    assert await queue.start_session(attended, "park")
    assert [e.id for e in await queue.held()] == [quiet, attended, other]
    clock.advance(10 * 60)
    assert await queue.touch("kim") == 1
    clock.advance(6 * 60)
    with pytest.raises(ValueError):
        await queue.time_out_held(dt.timedelta(0))
    # park showed no sign for 16 minutes, kim for 6.
    assert await queue.time_out_held(dt.timedelta(minutes=15)) == [quiet, attended]
    for rid in (quiet, attended):
        entry = await queue.get(rid)
        assert entry is not None and entry.state is QueueState.RESOLVED
        assert (entry.outcome, entry.ended_at) == (Outcome.TIMED_OUT.value, clock.now)
    assert await queue.touch("park") == 0  # nothing held any more
    assert [e.id for e in await queue.held()] == [other]
    waiting_entry = await queue.get(waiting)
    assert waiting_entry is not None and waiting_entry.state is QueueState.WAITING
    assert await queue.time_out_held(dt.timedelta(minutes=15)) == []


async def test_expire_takes_only_old_queued_requests(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    await people(queue, PARK)
    old, offered_old, held = await ask(store), await ask(store), await ask(store)
    clock.advance(1)
    young = await ask(store)
    assert await queue.offer(offered_old, "park")
    assert await queue.accept(held, "park") is not None
    young_entry = await queue.get(young)
    assert young_entry is not None
    # "Now" is 30 minutes after the young request: only those before it are 30 min old.
    clock.now = young_entry.created_at + dt.timedelta(minutes=30)
    with pytest.raises(ValueError):
        await queue.expire(dt.timedelta(minutes=-1))
    assert await queue.expire(dt.timedelta(minutes=30)) == sorted([old, offered_old])
    for rid in (old, offered_old):
        entry = await queue.get(rid)
        assert entry is not None and entry.state is QueueState.EXPIRED
        assert (entry.outcome, entry.ended_at) == (Outcome.EXPIRED.value, clock.now)
    for rid, state in ((held, QueueState.ACCEPTED), (young, QueueState.WAITING)):
        entry = await queue.get(rid)
        assert entry is not None and entry.state is state


# ---- admission: limits on requests (review H2) ------------------------------------------
async def test_requests_are_counted_by_conversation_and_by_source(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    first, second = await ask(store), await ask(store)
    assert await queue.set_origin(first, "a" * 32)
    assert await queue.set_origin(second, "a" * 32)
    entry = await queue.get(first)
    assert entry is not None
    since = clock.now - dt.timedelta(minutes=1)
    assert await queue.count_since(since, origin_ref="a" * 32) == 2
    assert await queue.count_since(since, origin_ref="b" * 32) == 0
    assert await queue.count_since(since, conversation_id=entry.conversation_id) == 1
    assert await queue.abandon(first)  # an ended request still counts in its hour
    assert await queue.count_since(since, origin_ref="a" * 32) == 2
    assert not await queue.set_origin(first, "c" * 32)  # over: nothing changes
    clock.advance(3601)  # an hour and a second after both were made
    assert await queue.count_since(clock.now - dt.timedelta(hours=1), origin_ref="a" * 32) == 0
    with pytest.raises(ValueError):
        await queue.count_since(since)


async def test_dismissing_a_source_ends_only_its_queued_requests(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, PARK)
    flood = [await ask(store) for _ in range(3)]
    held, elsewhere = await ask(store), await ask(store)
    for request_id in (*flood, held):
        assert await queue.set_origin(request_id, "a" * 32)
    assert await queue.set_origin(elsewhere, "b" * 32)
    assert await queue.accept(held, PARK.id) is not None  # a person already has it
    assert sorted(await queue.dismiss_source("a" * 32)) == sorted(flood)
    for request_id in flood:
        entry = await queue.get(request_id)
        assert entry is not None and entry.state is QueueState.ABANDONED
        assert entry.outcome == Outcome.DISMISSED.value and entry.origin_ref == "a" * 32
    for request_id, state in ((held, QueueState.ACCEPTED), (elsewhere, QueueState.WAITING)):
        entry = await queue.get(request_id)
        assert entry is not None and entry.state is state
    assert await queue.dismiss_source("a" * 32) == []


async def test_refusals_are_kept_for_staff_and_dropped_by_age(
    queue: HandoffQueue, clock: ManualClock
) -> None:
    await queue.record_refusal("too_many", "webchat", "a" * 32)
    clock.advance(60)
    await queue.record_refusal("busy", "sms", None)
    assert await queue.refusals_since(clock.now - dt.timedelta(minutes=5)) == [
        ("too_many", "a" * 32),
        ("busy", None),
    ]
    assert await queue.refusals_since(clock.now - dt.timedelta(seconds=30)) == [("busy", None)]
    assert await queue.drop_refusals(clock.now - dt.timedelta(seconds=30)) == 1
    assert await queue.refusals_since(clock.now - dt.timedelta(days=1)) == [("busy", None)]


# ---- who may accept ---------------------------------------------------------------------
async def test_accept_needs_an_available_interpreter_with_the_skill(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, PARK, replace(LEE, available=False))
    ksl = await ask(store, "sign_language")
    assert await queue.accept(ksl, "park") is None  # no sign language
    assert not await queue.offer(ksl, "park")
    assert await queue.accept(ksl, "lee") is None  # not available
    assert not await queue.offer(ksl, "lee")
    assert await queue.accept(ksl, "nobody") is None
    assert await queue.set_availability("lee", True)
    assert await queue.accept(ksl, "lee") is not None


async def test_accept_respects_capacity(queue: HandoffQueue, store: ConversationStore) -> None:
    await people(queue, replace(PARK, capacity=2), replace(KIM, id="zero", capacity=0))
    first, second, third = await ask(store), await ask(store), await ask(store)
    assert await queue.accept(first, "zero") is None
    assert await queue.accept(first, "park") is not None
    assert await queue.accept(second, "park") is not None
    assert await queue.start_session(second, "park")
    assert await queue.accept(third, "park") is None  # accepted + in session = 2
    assert await queue.resolve(first, "park")
    assert await queue.accept(third, "park") is not None


async def test_an_interpreter_sees_only_what_is_offered_to_or_held_by_them(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, replace(KIM, capacity=3), LEE, PARK)
    offered, held, in_session, done, others = [await ask(store, "sign_language") for _ in range(5)]
    assert await queue.offer(offered, "kim")
    assert await queue.accept(held, "kim") is not None
    assert await queue.accept(in_session, "kim") is not None
    assert await queue.start_session(in_session, "kim")
    assert await queue.accept(done, "lee") is not None
    assert await queue.resolve(done, "lee")
    assert await queue.accept(others, "lee") is not None
    assert [e.id for e in await queue.for_interpreter("kim")] == [offered, held, in_session]
    assert [e.id for e in await queue.for_interpreter("lee")] == [others]
    assert await queue.for_interpreter("park") == []


# ---- the queue, places and waits --------------------------------------------------------
async def test_waiting_is_oldest_first_and_filters_by_region_and_skill(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, PARK)
    a = await ask(store, "sign_language")
    b = await ask(store, "person")
    c = await ask(store, "callback")
    d = await ask(store, "sign_language")
    taken = await ask(store)
    assert await queue.accept(taken, "park") is not None
    assert await queue.route(b, region="종로구")
    assert await queue.route(c, region="마포구", skill=SKILL_KSL)
    assert not await queue.route(d)  # nothing to set
    assert [e.id for e in await queue.waiting()] == [a, b, c, d]
    assert [e.id for e in await queue.waiting(skill=SKILL_KSL)] == [a, c, d]
    assert [e.id for e in await queue.waiting(skill=SKILL_PERSON)] == [b]
    # A region sees its own requests and those without a region.
    assert [e.id for e in await queue.waiting(region="종로구")] == [a, b, d]
    assert [e.id for e in await queue.waiting(region="마포구", skill=SKILL_KSL)] == [a, c, d]
    entry = await queue.get(c)
    assert entry is not None and (entry.region, entry.skill) == ("마포구", SKILL_KSL)


def test_skill_follows_the_reason() -> None:
    assert skill_for_reason("sign_language") == SKILL_KSL
    assert skill_for_reason("person") == SKILL_PERSON
    assert skill_for_reason("callback") == SKILL_PERSON


async def test_positions_count_the_same_skill_only(
    queue: HandoffQueue, store: ConversationStore
) -> None:
    await people(queue, KIM)
    k1 = await ask(store, "sign_language")
    p1 = await ask(store, "person")
    k2 = await ask(store, "sign_language")
    k3 = await ask(store, "sign_language")
    assert [await queue.position(r) for r in (k1, p1, k2, k3)] == [1, 1, 2, 3]
    assert await queue.offer(k2, "kim")  # an offered request keeps its place
    assert await queue.position(k2) == 2
    assert await queue.abandon(k1)
    assert [await queue.position(r) for r in (k1, k2, k3)] == [None, 1, 2]


async def test_estimated_wait_from_place_and_available_interpreters(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    ksl = [await ask(store, "sign_language") for _ in range(5)]
    person = await ask(store, "person")
    # Nobody available: no estimate (the citizen is offered a callback instead).
    assert await queue.estimated_wait(ksl[0]) is None
    await people(queue, LEE)
    assert await queue.estimated_wait(ksl[0]) == dt.timedelta(minutes=15)
    assert await queue.estimated_wait(ksl[4]) == dt.timedelta(minutes=75)
    assert await queue.estimated_wait(ksl[4], minutes_per_session=10) == dt.timedelta(minutes=50)
    assert await queue.estimated_wait(person) is None  # LEE does not take "person"
    await people(queue, KIM, replace(LEE, id="off", available=False))
    assert await queue.estimated_wait(ksl[4]) == dt.timedelta(minutes=45)  # ceil(5/2) = 3
    assert await queue.estimated_wait(person) == dt.timedelta(minutes=15)
    # Off duty (18:00 in Seoul is outside 09:00-18:00) does not count.
    await queue.upsert_interpreter(replace(KIM, work_start=9 * 60, work_end=18 * 60))
    assert await queue.estimated_wait(ksl[4]) == dt.timedelta(minutes=75)
    clock.now = T0 - dt.timedelta(hours=1)  # 17:00 in Seoul
    assert await queue.estimated_wait(ksl[4]) == dt.timedelta(minutes=45)
    with pytest.raises(ValueError):
        await queue.estimated_wait(ksl[0], minutes_per_session=0)
    assert await queue.accept(ksl[0], "lee") is not None
    assert await queue.estimated_wait(ksl[0]) is None  # no longer queued
    assert await queue.estimated_wait(ksl[4]) == dt.timedelta(minutes=30)  # now 4th of 2


# ---- interpreters -----------------------------------------------------------------------
async def test_interpreters_are_created_replaced_and_made_available(
    queue: HandoffQueue, clock: ManualClock
) -> None:
    assert await queue.get_interpreter("kim") is None
    created = await queue.upsert_interpreter(replace(KIM, available=False, region="종로구"))
    assert created == replace(KIM, available=False, region="종로구", updated_at=T0)
    clock.advance(5)
    night = replace(KIM, capacity=3, work_start=22 * 60, work_end=6 * 60, languages=("ko", "en"))
    replaced = await queue.upsert_interpreter(night)
    assert replaced == replace(night, updated_at=clock.now)
    clock.advance(5)
    assert await queue.set_availability("kim", False)
    person = await queue.get_interpreter("kim")
    assert person is not None and not person.available and person.updated_at == clock.now
    assert not await queue.set_availability("nobody", True)
    await people(queue, LEE)
    assert [p.id for p in await queue.interpreters()] == ["kim", "lee"]
    assert [p.id for p in await queue.interpreters(SKILL_PERSON)] == ["kim"]


def test_working_hours_in_seoul_including_overnight() -> None:
    day = replace(KIM, work_start=9 * 60, work_end=18 * 60)
    night = replace(KIM, work_start=22 * 60, work_end=6 * 60)
    seoul = dt.timezone(dt.timedelta(hours=9))
    at = lambda h, m=0: dt.datetime(2026, 12, 1, h, m, tzinfo=seoul)  # noqa: E731
    assert day.on_duty(at(9)) and day.on_duty(at(17, 59)) and not day.on_duty(at(18))
    assert not day.on_duty(at(8, 59)) and night.on_duty(at(23)) and night.on_duty(at(5, 59))
    assert not night.on_duty(at(12)) and KIM.on_duty(at(3))
    assert day.on_duty(dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC))  # 09:30 in Seoul


async def test_interpreter_values_are_checked(queue: HandoffQueue) -> None:
    for bad in (
        replace(KIM, id=""),
        replace(KIM, id="x" * 65),
        replace(KIM, name=""),
        replace(KIM, capacity=-1),
        replace(KIM, work_start=60),
        replace(KIM, work_start=0, work_end=1441),
    ):
        with pytest.raises(ValueError):
            await queue.upsert_interpreter(bad)
    assert await queue.interpreters() == []


# ---- THE guarantee: concurrent accepts --------------------------------------------------
async def test_many_interpreters_accepting_at_once_take_each_request_exactly_once(
    url: str, store: ConversationStore
) -> None:
    capacities = [1, 1, 1, 1, 2, 2, 2, 2]  # 12 places for 10 requests
    staff = [
        Interpreter(id=f"i{n}", name=f"통역사 {n}", skills=(SKILL_KSL,), available=True, capacity=c)
        for n, c in enumerate(capacities)
    ]
    requests = [await ask(store, "sign_language") for _ in range(10)]
    # Each interpreter has its own store and engine, like separate gateway processes.
    queues = [SqlHandoffQueue.from_url(url) for _ in staff]
    try:
        await people(queues[0], *staff)

        async def interpreter(queue: HandoffQueue, who: str, order: list[int]) -> list[int]:
            # A few accepts in flight at once per interpreter, all interpreters together.
            gate = asyncio.Semaphore(3)

            async def one(rid: int) -> int | None:
                async with gate:
                    return rid if await queue.accept(rid, who) is not None else None

            results = await asyncio.gather(*(one(rid) for rid in order))
            return [rid for rid in results if rid is not None]

        orders = [requests if n % 2 == 0 else list(reversed(requests)) for n in range(len(staff))]
        won = await asyncio.gather(
            *(interpreter(q, p.id, o) for q, p, o in zip(queues, staff, orders, strict=True))
        )
    finally:
        for q in queues:
            await q.close()

    taken = sorted(rid for mine in won for rid in mine)
    assert taken == sorted(requests)  # every request, each exactly once
    check = SqlHandoffQueue.from_url(url)
    try:
        for person, mine in zip(staff, won, strict=True):
            assert len(mine) <= person.capacity
            held = await check.for_interpreter(person.id)
            assert sorted(e.id for e in held) == sorted(mine)
        for rid in requests:
            entry = await check.get(rid)
            assert entry is not None and entry.state is QueueState.ACCEPTED
            assert entry.accepted_by == next(
                p.id for p, mine in zip(staff, won, strict=True) if rid in mine
            )
    finally:
        await check.close()


async def test_one_request_accepted_by_everyone_at_once_has_one_holder(
    url: str, store: ConversationStore
) -> None:
    staff = [
        Interpreter(id=f"i{n}", name=f"직원 {n}", skills=(SKILL_PERSON,), available=True)
        for n in range(8)
    ]
    queues = [SqlHandoffQueue.from_url(url) for _ in staff]
    try:
        await people(queues[0], *staff)
        for _ in range(3):
            rid = await ask(store)
            results = await asyncio.gather(
                *(q.accept(rid, p.id) for q, p in zip(queues, staff, strict=True))
            )
            winners = [r for r in results if r is not None]
            assert len(winners) == 1
            # The winner frees their one place so that everyone competes again.
            assert await queues[0].resolve(rid, winners[0].accepted_by or "")
    finally:
        for q in queues:
            await q.close()


async def test_one_interpreter_in_several_processes_never_exceeds_capacity(
    url: str, store: ConversationStore
) -> None:
    requests = [await ask(store) for _ in range(10)]
    queues = [SqlHandoffQueue.from_url(url) for _ in range(4)]
    try:
        await people(queues[0], replace(PARK, capacity=2))
        results = await asyncio.gather(
            *(queues[n % 4].accept(rid, "park") for n, rid in enumerate(requests))
        )
    finally:
        for q in queues:
            await q.close()
    assert len([r for r in results if r is not None]) == 2


# ---- health and schema ------------------------------------------------------------------
async def test_the_conversation_store_still_writes_and_reads_its_requests(
    store: ConversationStore, queue: HandoffQueue
) -> None:
    rid = await ask(store, "sign_language")
    entry = await queue.get(rid)
    assert entry is not None
    listed = await store.handoff_requests(entry.conversation_id)
    assert [r.id for r in listed] == [rid] and listed[0].status == "waiting"


async def test_ping(queue: HandoffQueue) -> None:
    await queue.ping()


async def test_ping_fails_without_schema(tmp_path: Path) -> None:
    empty = SqlHandoffQueue.from_url(to_async_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(StoreError):
        await empty.ping()
    await empty.close()


def _migration_round_trip(
    tmp_path: Path, revision_id: str, markers: tuple[str, ...], table: str | None, column: str
) -> None:
    """``revision_id`` follows the one before, matches the models on what ``markers``
    name, and goes back (``table``, if it adds one, and ``column`` of
    ``handoff_requests`` gone) and up."""
    import assistant.handoff.models  # noqa: F401  (the queue's tables and columns)

    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    revision = script.get_revision(revision_id)
    before = f"{int(revision_id) - 1:04d}"
    assert revision is not None and revision.down_revision == before
    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if any(m in repr(d) for m in markers)] == []
        command.downgrade(config, before)
        assert table is None or table not in inspect(engine).get_table_names()
        columns = {c["name"] for c in inspect(engine).get_columns("handoff_requests")}
        assert column not in columns
        command.upgrade(config, "head")
        assert table is None or table in inspect(engine).get_table_names()
        columns = {c["name"] for c in inspect(engine).get_columns("handoff_requests")}
        assert column in columns
    finally:
        engine.dispose()


def test_migration_0010_follows_0009_matches_the_models_and_goes_back(tmp_path: Path) -> None:
    markers = ("handoff_re", "origin_ref")
    _migration_round_trip(tmp_path, "0010", markers, "handoff_refusals", "origin_ref")


def test_migration_0013_follows_0012_matches_the_models_and_goes_back(tmp_path: Path) -> None:
    markers = ("callback", "'phone'")
    _migration_round_trip(tmp_path, "0013", markers, "callback_attempts", "callback_number")


def test_migration_0006_follows_0005_and_is_the_only_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    revision = script.get_revision("0006")
    assert revision is not None and revision.down_revision == "0005"
    assert len(script.get_heads()) == 1


def test_migration_0006_keeps_requests_matches_the_models_and_goes_back(tmp_path: Path) -> None:
    import assistant.handoff.models  # noqa: F401  (extends handoff_requests, adds interpreters)

    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0005")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO conversations (id, channel, address, language, accessibility,"
                    " last_buttons, created_at, updated_at) VALUES ('c1', 'sms', 'a', 'ko',"
                    " '{}', '[]', '2026-12-01 09:00:00', '2026-12-01 09:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO handoff_requests (conversation_id, reason, channel, language,"
                    " accessibility, status, created_at) VALUES ('c1', 'sign_language', 'sms',"
                    " 'ko', '{}', 'requested', '2026-12-01 09:00:00')"
                )
            )
        command.upgrade(config, "head")
        assert "interpreters" in inspect(engine).get_table_names()
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT reason, status, accepted_by FROM handoff_requests")
            ).one()
            assert tuple(row) == ("sign_language", "waiting", None)  # renamed by 0006
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        ours = [d for d in diffs if "handoff_requests" in repr(d) or "interpreters" in repr(d)]
        assert ours == []
        command.downgrade(config, "0005")
        assert "interpreters" not in inspect(engine).get_table_names()
        columns = {c["name"] for c in inspect(engine).get_columns("handoff_requests")}
        assert "accepted_by" not in columns and "reason" in columns
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM handoff_requests")).scalar() == 1
        command.upgrade(config, "head")
        assert "interpreters" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


# ---- call-backs (migration 0013) ------------------------------------------------------
async def test_a_call_back_number_is_asked_for_confirmed_and_kept_with_its_consent(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    rid = await ask(store)
    assert await queue.set_callback(rid, state=CallbackState.ASKING)
    entry = await queue.get(rid)
    assert entry is not None
    assert (entry.callback_state, entry.callback_number) == (CallbackState.ASKING, None)

    clock.advance(30)
    assert await queue.set_callback(
        rid, state=CallbackState.CONFIRMED, number="+821012345678", consent_at=clock.now
    )
    entry = await queue.get(rid)
    assert entry is not None
    assert (entry.callback_state, entry.callback_number, entry.callback_consent_at) == (
        CallbackState.CONFIRMED,
        "+821012345678",
        clock.now,
    )
    with pytest.raises(ValueError):
        await queue.set_callback(rid, state=CallbackState.CONFIRMED, number="010-1234-5678")
    assert await queue.abandon(rid)
    assert not await queue.set_callback(rid, state=CallbackState.ASKING)  # over: unchanged


async def test_a_person_s_own_phone_is_kept_and_replaced_with_their_record(
    queue: HandoffQueue,
) -> None:
    await people(queue, replace(KIM, phone="+821055550000"))
    kim = await queue.get_interpreter("kim")
    assert kim is not None and kim.phone == "+821055550000"
    assert await queue.set_phone("kim", "+821055551111")
    kim = await queue.get_interpreter("kim")
    assert kim is not None and kim.phone == "+821055551111"
    assert await queue.set_phone("kim", None)
    assert not await queue.set_phone("nobody", "+821055551111")
    with pytest.raises(ValueError):
        await queue.set_phone("kim", "01055551111")
    with pytest.raises(ValueError):
        await queue.upsert_interpreter(replace(KIM, phone="5555"))


@pytest.fixture
async def attempts(url: str, clock: ManualClock) -> AsyncIterator[CallbackLog]:
    log = SqlCallbackLog.from_url(url, clock=clock)
    try:
        yield log
    finally:
        await log.close()


async def test_call_back_attempts_end_once_in_order(
    attempts: CallbackLog, clock: ManualClock
) -> None:
    first = await attempts.start(7, "kim")
    assert (first.request_id, first.person, first.started_at) == (7, "kim", clock.now)
    assert first.outcome is first.call_sid is first.ended_at is None
    assert await attempts.set_call_sid(first.id, "CA" + "1" * 32)
    clock.advance(60)
    retry_at = clock.now + dt.timedelta(minutes=30)
    ended = await attempts.finish(first.id, CallOutcome.NO_ANSWER, retry_at)
    assert ended is not None
    assert (ended.outcome, ended.ended_at, ended.retry_at, ended.call_sid) == (
        CallOutcome.NO_ANSWER,
        clock.now,
        retry_at,
        "CA" + "1" * 32,
    )
    # The call's status callback after the <Dial> action: the first end counts.
    assert await attempts.finish(first.id, CallOutcome.PERSON_UNREACHED) is None
    assert await attempts.finish(999_999, CallOutcome.REACHED) is None

    clock.advance(1800)
    second = await attempts.start(7, "lee")
    await attempts.start(8, "kim")
    assert [a.id for a in await attempts.of_request(7)] == [first.id, second.id]
    assert await attempts.get(second.id) == second
    assert await attempts.drop_before(clock.now) == 1  # the first, started before
    assert [a.id for a in await attempts.of_request(7)] == [second.id]


async def test_concurrent_reports_of_one_end_record_one_outcome(attempts: CallbackLog) -> None:
    attempt = await attempts.start(1, "kim")
    ends = await asyncio.gather(
        *(attempts.finish(attempt.id, outcome) for outcome in (CallOutcome.REACHED,) * 2),
        attempts.finish(attempt.id, CallOutcome.PERSON_UNREACHED),
    )
    assert sum(end is not None for end in ends) == 1


def test_migration_0014_follows_0013_matches_the_models_and_goes_back(tmp_path: Path) -> None:
    markers = ("feedback", "helpful")
    _migration_round_trip(tmp_path, "0014", markers, None, "helpful")


# ---- appointments -----------------------------------------------------------------------
async def test_an_appointment_is_booked_listed_by_time_and_found_by_its_number(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    later, sooner, plain = await ask(store), await ask(store), await ask(store)
    at = T0 + dt.timedelta(days=2)
    assert await queue.book(later, at, "kim", day_reminder_due=True)
    assert await queue.book(sooner, at - dt.timedelta(hours=1), None, day_reminder_due=False)
    with pytest.raises(ValueError, match="timezone"):
        await queue.book(plain, at.replace(tzinfo=None), None, day_reminder_due=True)
    entry = await queue.get(later)
    assert entry is not None
    assert (entry.contact, entry.scheduled_for, entry.booked_with) == ("video", at, "kim")
    assert entry.reminded_day_at is None and entry.reminded_soon_at is None
    other = await queue.get(sooner)
    assert other is not None and other.reminded_day_at == clock.now  # done by the booking

    found = await queue.scheduled(T0, at + dt.timedelta(minutes=1))
    assert [e.id for e in found] == [sooner, later]  # by time, not by age
    assert await queue.scheduled(T0, at - dt.timedelta(hours=1)) == []  # the end is open

    await queue.set_callback(later, state=CallbackState.CONFIRMED, number="+821012345678")
    assert [e.id for e in await queue.open_for_number("+821012345678")] == [later]
    assert await queue.abandon(later)
    assert await queue.open_for_number("+821012345678") == []
    # Ended appointments stay on the day when asked for.
    assert [e.id for e in await queue.scheduled(T0, at + dt.timedelta(hours=1))] == [sooner]
    every = await queue.scheduled(T0, at + dt.timedelta(hours=1), open_only=False)
    assert [e.id for e in every] == [sooner, later]
    assert not await queue.book(later, at, "kim", day_reminder_due=True)  # over


async def test_each_reminder_is_claimed_once_by_many_at_once(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    rid = await ask(store)
    assert not await queue.claim_reminder(rid, "day")  # nothing scheduled yet
    assert await queue.book(rid, T0 + dt.timedelta(days=2), None, day_reminder_due=True)
    with pytest.raises(ValueError, match="no such reminder"):
        await queue.claim_reminder(rid, "week")
    for which in ("day", "soon"):
        claims = await asyncio.gather(*(queue.claim_reminder(rid, which) for _ in range(8)))
        assert claims.count(True) == 1
    entry = await queue.get(rid)
    assert entry is not None and entry.reminded_day_at == entry.reminded_soon_at == clock.now
    # Booked again (another time): the reminders are due again.
    assert await queue.book(rid, T0 + dt.timedelta(days=3), None, day_reminder_due=True)
    assert await queue.claim_reminder(rid, "day")


async def test_a_no_show_ends_only_a_held_appointment_of_its_holder(
    queue: HandoffQueue, store: ConversationStore, clock: ManualClock
) -> None:
    await people(queue, KIM, LEE)
    rid = await ask(store)
    assert await queue.book(rid, T0, "kim", day_reminder_due=False)
    assert not await queue.no_show(rid, "kim")  # waiting: nobody held it
    assert await queue.accept(rid, "kim") is not None
    assert not await queue.no_show(rid, "lee")
    assert await queue.no_show(rid, "kim", "기다렸지만 오지 않음")
    entry = await queue.get(rid)
    assert entry is not None and entry.state is QueueState.RESOLVED
    assert (entry.outcome, entry.notes) == (Outcome.NO_SHOW.value, "기다렸지만 오지 않음")
    assert not await queue.claim_reminder(rid, "soon")  # over: no reminder any more
