"""Phone call records (voice channel, issue 5).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_sid", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(64), nullable=True),
        sa.Column("called", sa.String(64), nullable=True),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("handoff", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # FORGET deletes a number's calls; the voice channel looks up a caller's last call.
    op.create_index("ix_calls_caller", "calls", ["caller"])
    op.create_index("ix_calls_called", "calls", ["called"])


def downgrade() -> None:
    op.drop_table("calls")
