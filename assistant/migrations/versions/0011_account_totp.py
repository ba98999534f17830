"""Optional second factor for console accounts: a TOTP enrolment and the last step used.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        # Not the secret: a random enrolment nonce; the secret is derived from it with
        # the gateway's key, so a copy of the database cannot make codes.
        batch.add_column(sa.Column("totp_nonce", sa.String(32), nullable=True))
        # The newest 30-second step a code was accepted for: a code works once.
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_nonce")
