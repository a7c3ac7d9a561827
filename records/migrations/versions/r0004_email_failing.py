"""A case's summary says whether its email keeps failing (``icpc cases``, the web form's lists).

Revision ID: r0004
Revises: r0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0004"
down_revision = "r0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_summaries") as batch:
        # Rows already there: not failing, until their case's next batch says otherwise.
        batch.add_column(
            sa.Column("email_failing", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("case_summaries") as batch:
        batch.drop_column("email_failing")
