"""The handoff queue: queue columns on handoff_requests, and the interpreters table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TIMES = ("offered_at", "accepted_at", "session_started_at", "ended_at", "updated_at")


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table; PostgreSQL alters it in place.
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("region", sa.String(64), nullable=True))
        batch.add_column(sa.Column("skill", sa.String(32), nullable=True))
        batch.add_column(sa.Column("offered_to", sa.String(64), nullable=True))
        batch.add_column(sa.Column("accepted_by", sa.String(64), nullable=True))
        for name in _TIMES:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(32), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text(), nullable=True))
        # The queue reads waiting requests oldest first; an interpreter's load by holder.
        batch.create_index("ix_handoff_requests_status_created_at", ["status", "created_at"])
        batch.create_index("ix_handoff_requests_accepted_by", ["accepted_by"])
    # One name for the first state of the queue (the conversation store wrote "requested").
    op.execute("UPDATE handoff_requests SET status = 'waiting' WHERE status = 'requested'")
    op.create_table(
        "interpreters",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("centre", sa.String(128), nullable=True),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("work_start", sa.Integer(), nullable=True),
        sa.Column("work_end", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.execute("UPDATE handoff_requests SET status = 'requested' WHERE status = 'waiting'")
    op.drop_table("interpreters")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_index("ix_handoff_requests_accepted_by")
        batch.drop_index("ix_handoff_requests_status_created_at")
        for name in ("notes", "outcome", *reversed(_TIMES), "accepted_by", "offered_to"):
            batch.drop_column(name)
        batch.drop_column("skill")
        batch.drop_column("region")
