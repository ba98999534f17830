"""Erasing what the dialogue remembers of a conversation: Rasa's SQL tracker store.

Rasa keeps every event of a conversation (the citizen's texts, slots, the metadata with
their needs) in its tracker store, under the conversation id as sender id. Rasa 3.6 has
no route that deletes a tracker: ``PUT /conversations/{id}/tracker/events`` only appends
to a SQL tracker store. So the gateway deletes those rows itself, in Rasa's ``events``
table (``rasa.core.tracker_store.SQLTrackerStore.SQLEvent``: ``sender_id`` is the
conversation id). Rasa reads a tracker from the table on every message, so the next
message of an erased id starts from nothing. A test against a real Rasa server checks it
(tests/integration/test_forget.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.config import to_async_url
from assistant.store.sql import create_engine, rowcount

log = structlog.get_logger(__name__)

# Only the columns the erasure needs; the table is Rasa's, never created here.
_events = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
)
_BATCH = 500  # ids per statement: well under every database's parameter limit


class TrackerEraser:
    """Deletes the dialogue trackers of erased conversations."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    def from_url(cls, url: str) -> TrackerEraser:
        """For Rasa's tracker store URL as Rasa is given it (sqlite:/// or postgresql://)."""
        return cls(create_engine(to_async_url(url)))

    async def erase(self, conversation_ids: Sequence[str]) -> int:
        """Delete every tracker event of ``conversation_ids``; how many events. Nothing
        to do (0) when Rasa has not created its table yet."""
        ids = list(conversation_ids)
        if not ids:
            return 0
        async with self._engine.begin() as conn:
            exists = await conn.run_sync(lambda sync: inspect(sync).has_table(_events.name))
            if not exists:
                return 0
            deleted = 0
            for start in range(0, len(ids), _BATCH):
                batch = ids[start : start + _BATCH]
                result = await conn.execute(delete(_events).where(_events.c.sender_id.in_(batch)))
                deleted += rowcount(result)
        log.info("trackers.erased", conversations=len(ids), events=deleted)
        return deleted

    async def close(self) -> None:
        """Release connections."""
        await self._engine.dispose()
