"""Continuation links: a texted link opens a new web chat that carries a conversation on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "continuations",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("continued_as", sa.String(32), nullable=True),
    )
    op.create_index("ix_continuations_conversation_id", "continuations", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_continuations_conversation_id", table_name="continuations")
    op.drop_table("continuations")
