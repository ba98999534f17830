"""Appointments: the person a slot is booked with, and when each reminder went out.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("booked_with", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reminded_day_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reminded_soon_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_handoff_requests_scheduled_for", ["scheduled_for"])


def downgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_index("ix_handoff_requests_scheduled_for")
        batch.drop_column("reminded_soon_at")
        batch.drop_column("reminded_day_at")
        batch.drop_column("booked_with")
