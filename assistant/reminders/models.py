"""SQLAlchemy tables of reminders and reminder set-up drafts (changes go through Alembic)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assistant.store.models import Base


class ReminderRow(Base):
    """One reminder SMS to send about one service's deadline."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(64))
    service_id: Mapped[str] = mapped_column(String(64))
    event_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    send_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_reminders_status_send_at", "status", "send_at"),
        Index("ix_reminders_phone_service", "phone", "service_id"),
        # Ids go into the outbox's dedupe key ("reminder:<id>"): SQLite must never reuse
        # the id of a deleted row, or a new reminder would be taken for one already sent.
        {"sqlite_autoincrement": True},
    )


class ReminderDraftRow(Base):
    """A reminder set-up in progress over SMS, one per phone number."""

    __tablename__ = "reminder_drafts"

    phone: Mapped[str] = mapped_column(String(64), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    service_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
