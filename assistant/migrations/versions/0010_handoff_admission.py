"""Limits on requests for a person: each request's source (a keyed hash), and refusals.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("origin_ref", sa.String(32), nullable=True))
    op.create_index(
        "ix_handoff_requests_origin_ref_created_at",
        "handoff_requests",
        ["origin_ref", "created_at"],
    )
    op.create_table(
        "handoff_refusals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("origin_ref", sa.String(32), nullable=True),
    )
    op.create_index("ix_handoff_refusals_at", "handoff_refusals", ["at"])


def downgrade() -> None:
    op.drop_index("ix_handoff_refusals_at", table_name="handoff_refusals")
    op.drop_table("handoff_refusals")
    op.drop_index("ix_handoff_requests_origin_ref_created_at", table_name="handoff_requests")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_column("origin_ref")
