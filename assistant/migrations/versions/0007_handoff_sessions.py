"""Handoff sessions: who wrote a message, scheduled call-backs, what the citizen was told.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        # NULL: the citizen or the bot; "person:<username>": an interpreter or staff member.
        batch.add_column(sa.Column("author", sa.String(80), nullable=True))
    with op.batch_alter_table("handoff_requests") as batch:
        # A call-back or video appointment when nobody is available (after hours).
        batch.add_column(sa.Column("contact", sa.String(16), nullable=True))
        batch.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
        # The staff member who asked on a walk-in citizen's behalf.
        batch.add_column(sa.Column("requested_by", sa.String(64), nullable=True))
        # The place and wait the citizen was last told (SMS updates only on real change).
        batch.add_column(sa.Column("told_position", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("told_wait_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        for name in ("told_wait_minutes", "told_position", "requested_by", "scheduled_for"):
            batch.drop_column(name)
        batch.drop_column("contact")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("author")
