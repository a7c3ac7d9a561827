"""The outbox ledger moves into the record, so every worker shares one.

Revision ID: r0002
Revises: r0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_sent",
        sa.Column("idempotency_key", sa.String(500), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(500), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_outbox_sent"),
    )


def downgrade() -> None:
    op.drop_table("outbox_sent")
