"""Alembic environment: runs migrations with the synchronous twin of the store URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import assistant.calls.models  # registers the call records table on Base.metadata
import assistant.handoff.models  # registers the handoff queue's columns and interpreters table
import assistant.outbox.models  # registers the outbox table on Base.metadata
import assistant.profiles.models  # registers the citizen profile table on Base.metadata
import assistant.reminders.models  # registers the reminder tables on Base.metadata
import assistant.sms.models  # noqa: F401  (registers the SMS state tables on Base.metadata)
from assistant.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        # Batch mode lets SQLite alter tables the way PostgreSQL can.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
