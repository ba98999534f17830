"""Tables of console accounts, web sessions and the audit log (schema changes go through
Alembic: 0008_accounts.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assistant.store.models import Base


class AccountRow(Base):
    """A person who signs in to a console; the password only as an argon2id hash."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    centre: Mapped[str | None] = mapped_column(String(128), nullable=True)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Second factor (optional): an enrolment nonce, never the secret (accounts/totp.py).
    totp_nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_accounts_username", "username", unique=True),)


class ConsoleSessionRow(Base):
    """A signed-in browser. The key is the SHA-256 of the cookie's token, never the token."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_console_sessions_account_id", "account_id"),
        Index("ix_console_sessions_expires_at", "expires_at"),
    )


class AuditRow(Base):
    """Who did what with which conversation. The actor's username and role are copied so
    an entry reads the same after the account changes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_audit_log_conversation_id", "conversation_id", "id"),
        Index("ix_audit_log_actor_id", "actor_id", "id"),
        Index("ix_audit_log_action", "action", "id"),
    )
