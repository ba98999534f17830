"""SQLAlchemy 2 table definitions (schema changes go through Alembic migrations)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the gateway's tables."""


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8))
    accessibility: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_conversations_channel_address", "channel", "address"),)


class ContinuationRow(Base):
    """A link texted to a citizen that continues their conversation on the web chat."""

    __tablename__ = "continuations"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The web chat conversation the link opened (not a foreign key: either may be
    # erased first).
    continued_as: Mapped[str | None] = mapped_column(String(32), nullable=True)


class TurnRow(Base):
    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    client_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reply_to: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("turns.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # NULL: the citizen (inbound) or the bot; "person:<username>": a person wrote it.
    author: Mapped[str | None] = mapped_column(String(80), nullable=True)

    __table_args__ = (
        UniqueConstraint("conversation_id", "client_message_id", name="uq_turns_client_message"),
        Index("ix_turns_conversation_id", "conversation_id", "id"),
        Index("ix_turns_status", "status"),
        Index("ix_turns_reply_to", "reply_to"),
    )


class HandoffRequestRow(Base):
    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(Text)
    service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    accessibility: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_handoff_requests_conversation_id", "conversation_id"),)
