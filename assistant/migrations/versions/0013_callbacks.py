"""Call-backs that happen: the number to call, the person's own phone, each attempt.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        # E.164; the caller ID confirmed, or a number the citizen typed with consent.
        batch.add_column(sa.Column("callback_number", sa.String(20), nullable=True))
        # "asking" (for a number) | "confirming" (a number proposed) | "confirmed"
        batch.add_column(sa.Column("callback_state", sa.String(16), nullable=True))
        batch.add_column(
            sa.Column("callback_consent_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("interpreters") as batch:
        # The person's own phone: a call-back rings it first, then dials the citizen.
        batch.add_column(sa.Column("phone", sa.String(20), nullable=True))
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_callback_attempts_request_id", "callback_attempts", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_callback_attempts_request_id", table_name="callback_attempts")
    op.drop_table("callback_attempts")
    with op.batch_alter_table("interpreters") as batch:
        batch.drop_column("phone")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_column("callback_consent_at")
        batch.drop_column("callback_state")
        batch.drop_column("callback_number")
