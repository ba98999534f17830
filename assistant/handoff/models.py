"""Tables of the handoff queue (schema changes go through Alembic: 0006_handoff_queue.py).

The queue is the ``handoff_requests`` table the conversation store already writes
(``HandoffRequestRow``): migration 0006 adds the queue's columns to it, and this module
adds them to that same ``Table`` object, so the conversation store's ORM inserts go on
unchanged (the new columns are all nullable) and the queue works on the table with
SQLAlchemy Core.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from assistant.store.models import Base, HandoffRequestRow

# The conversation store's table, extended with the queue's columns (all nullable: the
# conversation store inserts rows without them).
handoff_requests: Table = Table(
    HandoffRequestRow.__tablename__,
    Base.metadata,
    Column("region", String(64), nullable=True),
    # "ksl" (Korean Sign Language) or "person"; NULL means derived from ``reason``.
    Column("skill", String(32), nullable=True),
    Column("offered_to", String(64), nullable=True),
    Column("accepted_by", String(64), nullable=True),
    Column("offered_at", DateTime(timezone=True), nullable=True),
    Column("accepted_at", DateTime(timezone=True), nullable=True),
    Column("session_started_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("notes", Text, nullable=True),
    # Migration 0007: call-backs/appointments, walk-ins, what the citizen was told.
    Column("contact", String(16), nullable=True),  # "callback" | "text" | "video"
    Column("scheduled_for", DateTime(timezone=True), nullable=True),
    Column("requested_by", String(64), nullable=True),
    Column("told_position", Integer, nullable=True),
    Column("told_wait_minutes", Integer, nullable=True),
    # Migration 0010: where the request came from, as a keyed hash (never the address
    # or number itself), for the limits per source.
    Column("origin_ref", String(32), nullable=True),
    # Migration 0013: the number a person calls the citizen back on (E.164), where
    # asking for it stands, and when the citizen agreed to it being kept.
    Column("callback_number", String(20), nullable=True),
    Column("callback_state", String(16), nullable=True),
    Column("callback_consent_at", DateTime(timezone=True), nullable=True),
    # Migration 0014: whether the session helped, asked when a person closed it.
    Column("feedback_asked_at", DateTime(timezone=True), nullable=True),
    Column("helpful", Boolean, nullable=True),
    Column("feedback_at", DateTime(timezone=True), nullable=True),
    # Migration 0015: appointments — the person a slot is booked with, and when each
    # reminder went out (set once, by whichever process claims it first).
    Column("booked_with", String(64), nullable=True),
    Column("reminded_day_at", DateTime(timezone=True), nullable=True),
    Column("reminded_soon_at", DateTime(timezone=True), nullable=True),
    Index("ix_handoff_requests_status_created_at", "status", "created_at"),
    Index("ix_handoff_requests_accepted_by", "accepted_by"),
    Index("ix_handoff_requests_origin_ref_created_at", "origin_ref", "created_at"),
    Index("ix_handoff_requests_scheduled_for", "scheduled_for"),
    extend_existing=True,
)


class HandoffRefusalRow(Base):
    """A request for a person that was not queued: past a limit (migration 0010).

    Kept for staff to see floods and where they come from; no content, the source
    only as the same keyed hash as ``origin_ref``."""

    __tablename__ = "handoff_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    origin_ref: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (Index("ix_handoff_refusals_at", "at"),)


class InterpreterRow(Base):
    """A sign-language interpreter or a community-centre staff member who takes sessions."""

    __tablename__ = "interpreters"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    centre: Mapped[str | None] = mapped_column(String(128), nullable=True)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    # Minutes of the day in Asia/Seoul; NULL = no fixed hours. end < start wraps midnight.
    work_start: Mapped[int | None] = mapped_column(Integer, nullable=True)
    work_end: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Their own phone (E.164), rung first by a call-back (migration 0013).
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)


class CallbackAttemptRow(Base):
    """One try at calling a citizen back: the person's phone rung, then the citizen's
    (migration 0013). ``outcome`` is set once, from Twilio's callbacks."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(Integer)
    person: Mapped[str] = mapped_column(String(64))
    call_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    retry_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_callback_attempts_request_id", "request_id"),)
