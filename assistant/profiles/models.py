"""SQLAlchemy table of citizen profiles (schema changes go through Alembic)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assistant.store.models import Base


class CitizenProfileRow(Base):
    """One citizen's consented profile, keyed by phone number (E.164)."""

    __tablename__ = "citizen_profiles"

    phone: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    accessibility: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    reminders_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    consented_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Bumped on every change: updates are a compare-and-set on it.
    version: Mapped[int] = mapped_column(Integer, default=1)
