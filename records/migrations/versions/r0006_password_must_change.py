"""A person's password may be a temporary one, set by someone else, to be changed at their
first sign-in (``people.password_must_change``).

Revision ID: r0006
Revises: r0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0006"
down_revision = "r0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        # People already there keep the password they have: nobody is made to change it.
        batch.add_column(
            sa.Column(
                "password_must_change", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("password_must_change")
