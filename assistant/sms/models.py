"""SQLAlchemy tables of the SMS state store (schema changes go through Alembic)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assistant.store.models import Base


class SmsNumberRow(Base):
    """One phone number's SMS state."""

    __tablename__ = "sms_numbers"

    phone: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    restart_hint_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    opted_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    pages: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    # Bumped on every change of ``pages``: taking a page is a compare-and-set on it.
    pages_version: Mapped[int] = mapped_column(Integer, default=0)
    rate_window: Mapped[int] = mapped_column(Integer, default=0)
    rate_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SmsMessageRow(Base):
    """One incoming message's idempotency record, keyed by Twilio's MessageSid."""

    __tablename__ = "sms_messages"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    messages: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_sms_messages_claimed_at", "claimed_at"),)
