"""The calls table (schema changes go through Alembic: migrations/versions/0005_calls.py,
0012_call_stream_started.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assistant.store.models import Base


class CallRow(Base):
    """One phone call, keyed by Twilio's CallSid."""

    __tablename__ = "calls"

    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    caller: Mapped[str | None] = mapped_column(String(64), nullable=True)
    called: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # No foreign key: a status callback may create the row before the conversation exists.
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set once, by the call's one media stream ``start`` (migration 0012).
    stream_started_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_calls_caller", "caller"),
        Index("ix_calls_called", "called"),
    )
