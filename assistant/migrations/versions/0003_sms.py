"""Per-number SMS state (opt-out, MORE pages, rate counter) and MessageSid idempotency.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_numbers",
        sa.Column("phone", sa.String(64), primary_key=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("provider_blocked", sa.Boolean(), nullable=False),
        sa.Column("restart_hint_sent", sa.Boolean(), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opted_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pages", sa.JSON(), nullable=False),
        sa.Column("pages_version", sa.Integer(), nullable=False),
        sa.Column("rate_window", sa.Integer(), nullable=False),
        sa.Column("rate_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sms_messages",
        sa.Column("message_sid", sa.String(64), primary_key=True),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sms_messages_claimed_at", "sms_messages", ["claimed_at"])


def downgrade() -> None:
    op.drop_table("sms_messages")
    op.drop_table("sms_numbers")
