"""Closing the loop: the citizen asked whether a session helped, and their answer.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("feedback_asked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("helpful", sa.Boolean, nullable=True))
        batch.add_column(sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_column("feedback_at")
        batch.drop_column("helpful")
        batch.drop_column("feedback_asked_at")
