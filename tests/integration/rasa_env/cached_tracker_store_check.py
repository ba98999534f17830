"""Run by tests/integration/test_cached_tracker_store.py in Rasa's Python 3.10 environment,
from nlu/: ``CachedSQLTrackerStore`` hands out exactly what Rasa's own SQL store would
read back, on the database given as the first argument (a SQLAlchemy URL), and reuses
a kept tracker only when nothing else happened.

Prints "ok <hits> <misses>" on success; any difference is an AssertionError.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import sqlalchemy as sa
from cached_tracker_store import CachedSQLTrackerStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    AgentUttered,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity


def stores(url: str, domain: Domain, capacity: int = 200) -> tuple[Any, SQLTrackerStore]:
    """The store under test and Rasa's own on the same database."""
    options = sa.engine.make_url(url)
    keys = {
        "dialect": options.drivername,
        "host": url,  # Rasa passes a full URL on unchanged
        "db": options.database,
    }
    return (
        CachedSQLTrackerStore(domain=domain, cached_trackers=capacity, **keys),
        SQLTrackerStore(domain=domain, **keys),
    )


class Broker:
    """An event broker that keeps what is published."""

    def __init__(self, heard: list[dict[str, Any]]) -> None:
        self.heard = heard

    def publish(self, event: dict[str, Any]) -> None:
        self.heard.append(event)


def state(tracker: DialogueStateTracker | None) -> Any:
    return None if tracker is None else tracker.current_state(EventVerbosity.ALL)


def new_session(sender: str, domain: Domain) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender,
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
        domain.slots,
    )


def turn(tracker: DialogueStateTracker, text: str, language: str) -> None:
    """What Rasa appends for one message and its answer."""
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    tracker.update(SlotSet("language", language))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered(f"answer to {text}"))
    tracker.update(ActionExecuted("action_listen"))


async def race(store: Any, rasa: SQLTrackerStore, domain: Domain) -> list[tuple[str, Any]]:
    """A turn saved by ``store`` after another server's turn it did not read."""
    sender = uuid.uuid4().hex
    await store.save(new_session(sender, domain))
    mine = await store.retrieve(sender)
    mine = await store.retrieve(sender)  # (kept, for the store that keeps)
    other = await rasa.retrieve(sender)
    turn(other, "the other server's", "en")
    await rasa.save(other)
    turn(mine, "mine", "ko")
    await store.save(mine)
    stored = await rasa.retrieve(sender)
    return [(e.type_name, getattr(e, "text", None)) for e in stored.events]


async def check(url: str) -> tuple[int, int]:
    domain = Domain.load("domain")
    cached, rasa = stores(url, domain)
    sender = uuid.uuid4().hex

    # Unknown conversation: nothing, as Rasa says.
    assert await cached.retrieve(sender) is None

    # A new conversation saved (not a tracker the store handed out) and read back.
    await cached.save(new_session(sender, domain))
    first = await cached.retrieve(sender)
    assert state(first) == state(await rasa.retrieve(sender))
    misses = cached.misses

    # Ten turns, each on the kept tracker: handed out again, saved without a recount.
    for number in range(10):
        tracker = await cached.retrieve(sender)
        assert tracker is first, "the kept tracker is handed out while the database agrees"
        turn(tracker, f"message {number}", "en" if number % 2 else "ko")
        await cached.save(tracker)
        assert state(await rasa.retrieve(sender)) == state(tracker)
    assert cached.misses == misses, "no read-back while nothing else happened"
    with rasa.session_scope() as session:  # the session's events, counted Rasa's way
        stored = rasa._event_query(session, sender, fetch_events_from_all_sessions=False)
        assert stored.count() == len(first.events), "an event stored twice or not at all"

    # A turn that failed before saving left events on the kept tracker: read back.
    half_done = await cached.retrieve(sender)
    half_done.update(UserUttered("never answered", {"name": "greet", "confidence": 1.0}))
    fresh = await cached.retrieve(sender)
    assert fresh is not half_done and state(fresh) == state(await rasa.retrieve(sender))
    # The half-done tracker saved late (its turn finished after all) goes Rasa's way.
    await cached.save(half_done)
    assert state(await rasa.retrieve(sender)) == state(half_done)
    assert state(await cached.retrieve(sender)) == state(half_done)

    # Another Rasa server (Rasa's own store on the same database) takes a turn.
    other = await rasa.retrieve(sender)
    turn(other, "to the other server", "en")
    await rasa.save(other)
    assert state(await cached.retrieve(sender)) == state(other)

    # An event appended by another route with its own tracker object (as
    # POST …/tracker/events does on another server).
    appended = await rasa.retrieve(sender)
    appended.update(AgentUttered(data={"check": 1}))
    await rasa.save(appended)
    assert state(await cached.retrieve(sender)) == state(appended)

    # Another server wrote between this store's read and its save (Rasa's lock store
    # prevents it; without one): the store saves as Rasa's own would.
    assert await race(cached, rasa, domain) == await race(rasa, rasa, domain)

    # A new session: the kept tracker is dropped; what is read back is the new session
    # alone, as Rasa's store reads it.
    tracker = await cached.retrieve(sender)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(SlotSet("language", "en"))
    tracker.update(ActionExecuted("action_listen"))
    await cached.save(tracker)
    after = await cached.retrieve(sender)
    assert after is not tracker
    assert state(after) == state(await rasa.retrieve(sender))
    # (Rasa reads a session from its session_started event on.)
    assert [e.type_name for e in after.events] == ["session_started", "slot", "action"]

    # The gateway erases the conversation (assistant/trackers.py deletes its rows):
    # nothing kept is handed out.
    assert await cached.retrieve(sender) is after
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text("delete from events where sender_id = :s"), {"s": sender})
    assert await cached.retrieve(sender) is None

    # Interleaved turns of several conversations save each its own events.
    senders = [uuid.uuid4().hex for _ in range(6)]
    for each in senders:
        await cached.save(new_session(each, domain))

    async def converse(each: str) -> None:
        for number in range(5):
            tracker = await cached.retrieve(each)
            turn(tracker, f"{each} {number}", "ko")
            await asyncio.sleep(0)
            await cached.save(tracker)

    await asyncio.gather(*(converse(each) for each in senders))
    for each in senders:
        assert state(await cached.retrieve(each)) == state(await rasa.retrieve(each))
        assert len((await rasa.retrieve(each)).events) == 2 + 5 * 5

    # Bounded: with room for two, the least recently used conversation is read back.
    small, _ = stores(url, domain, capacity=2)
    for each in senders[:3]:
        await small.retrieve(each)
    before = small.misses
    assert await small.retrieve(senders[2]) is not None and small.misses == before
    await small.retrieve(senders[0])
    assert small.misses == before + 1

    # An event broker hears each turn's new events once, as from Rasa's own store.
    heard: list[dict[str, Any]] = []
    cached.event_broker = Broker(heard)
    tracker = await cached.retrieve(senders[1])
    turn(tracker, "with a broker", "en")
    await cached.save(tracker)
    assert [body["event"] for body in heard] == ["user", "slot", "action", "bot", "action"]
    assert heard[0]["text"] == "with a broker" and heard[0]["sender_id"] == senders[1]
    cached.event_broker = None

    # A new model (Rasa sets the domain) forgets every kept tracker.
    kept = await cached.retrieve(senders[0])
    cached.domain = domain
    assert await cached.retrieve(senders[0]) is not kept
    return cached.hits, cached.misses


if __name__ == "__main__":
    hits, misses = asyncio.run(check(sys.argv[1]))
    print("ok", hits, misses)
