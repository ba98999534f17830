"""Rasa's SQL tracker store, keeping recent conversations' trackers in memory (issue 19).

Rasa's ``SQLTrackerStore`` rebuilds a conversation's tracker on every turn: it reads
every event of the current session, decodes each from JSON, and replays them all; when
it saves, it counts the session's events again to know which are new. A session ends
only after an hour of silence, so a long conversation cost more on every turn (the
100th turn about twice the first; with this store alone, 1.8 times).

This store keeps the tracker it built (and saved) for the most recent conversations.
Before it hands one out it asks the database for the conversation's newest event id,
one indexed lookup, and uses the kept tracker only if nothing was written, erased or
half-done meanwhile:

- the newest id differs (another Rasa server of a scaled set-up took a turn, the
  gateway erased the conversation, or an event was appended by another route): the
  tracker is read from the database again;
- the kept tracker holds events it never saved (a turn still running, or one that
  failed before saving): read again, and that turn's later save goes the slow way;
- a save of any other tracker object (a replaced event list, a full-history tracker)
  goes Rasa's way and forgets the kept one; so does a save that starts a new session,
  so the kept tracker never holds more than the current session, as Rasa's would.

Rasa takes a conversation's turns one at a time (its lock store), so the tracker handed
to a turn is not handed to another turn of the same conversation while it runs.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

# Trackers kept: the conversations of the last few minutes of a busy line. Each holds
# its session's events (and the states nlu/incremental_states.py built from them), so
# the number, not the size, is what bounds the memory; Rasa's peak at 30 calls was
# 567 MB with it (README, "Benchmarks").
DEFAULT_CACHED_TRACKERS = 200


@dataclass
class _Kept:
    tracker: DialogueStateTracker
    saved_events: int  # how many of tracker.events are in the database
    newest_id: int | None  # the database's newest event id for the conversation then


class CachedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that reuses a conversation's tracker while the database agrees.

    Configured in ``nlu/endpoints.yml`` as ``type: cached_tracker_store.CachedSQLTrackerStore``
    with the same keys as Rasa's ``SQL`` store, plus ``cached_trackers`` (how many).
    """

    def __init__(
        self, *args: Any, cached_trackers: int = DEFAULT_CACHED_TRACKERS, **kwargs: Any
    ) -> None:
        self._capacity = int(cached_trackers)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self.hits = 0  # reuses and reads, for the tests
        self.misses = 0
        super().__init__(*args, **kwargs)
        logger.info("Tracker store: Rasa's SQL store, keeping %d recent trackers", self._capacity)

    @property
    def domain(self) -> Any:
        """The domain the trackers' slots come from (Rasa sets it when a model loads)."""
        return self._domain

    @domain.setter
    def domain(self, domain: Any) -> None:
        # Kept trackers carry the old domain's slots: a new model starts afresh.
        self._domain = domain
        self._kept.clear()

    # ---- reading ------------------------------------------------------------------
    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session's tracker: the kept one if the database has not moved."""
        newest = self._newest_event_id(sender_id)
        kept = self._kept.pop(sender_id, None)
        if (
            kept is not None
            and kept.newest_id == newest
            and len(kept.tracker.events) == kept.saved_events
        ):
            self._kept[sender_id] = kept  # most recently used last
            self.hits += 1
            return kept.tracker
        self.misses += 1
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            self._keep(sender_id, _Kept(tracker, len(tracker.events), newest))
        return tracker

    # ---- writing ------------------------------------------------------------------
    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events; keep it if it is the one handed out.

        For the kept tracker the new events are those past what it saved, inserted in
        one transaction after checking that nothing else was written meanwhile, and the
        rows' ids say what the newest is: no count of the session's events, no read
        after the write. Any other tracker is saved Rasa's way and nothing is kept."""
        sender_id = tracker.sender_id
        kept = self._kept.pop(sender_id, None)
        if kept is None or kept.tracker is not tracker:
            await super().save(tracker)
            return
        new_events = list(itertools.islice(tracker.events, kept.saved_events, None))
        newest = kept.newest_id
        with self.session_scope() as session:
            agreed = self._newest_in(session, sender_id) == kept.newest_id
            if agreed:
                rows = [self._row(sender_id, event) for event in new_events]
                session.add_all(rows)
                session.flush()  # gives the rows their ids
                if rows:
                    newest = rows[-1].id
                session.commit()
        if not agreed:
            await super().save(tracker)  # Rasa counts what the session has stored
            return
        if self.event_broker is not None:
            # Rasa's own save streams what a read-back lacks; that would be this tracker.
            await self._stream_new_events(self.event_broker, new_events, sender_id)
        if any(isinstance(event, SessionStarted) for event in new_events):
            return  # a new session: Rasa would read back only that; so will we
        kept.saved_events = len(tracker.events)
        kept.newest_id = newest
        self._keep(sender_id, kept)

    def _row(self, sender_id: str, event: Any) -> Any:
        """The events table's row for an event, as Rasa's ``SQLTrackerStore.save``
        writes it."""
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    # ---- helpers ------------------------------------------------------------------
    def _keep(self, sender_id: str, kept: _Kept) -> None:
        if self._capacity <= 0:
            return
        self._kept[sender_id] = kept
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)

    def _newest_event_id(self, sender_id: str) -> int | None:
        with self.session_scope() as session:
            return self._newest_in(session, sender_id)

    def _newest_in(self, session: Any, sender_id: str) -> int | None:
        query = sa.select(sa.func.max(self.SQLEvent.id)).where(self.SQLEvent.sender_id == sender_id)
        return session.execute(query).scalar()
