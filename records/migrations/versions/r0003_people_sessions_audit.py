"""People, their roles and teams, server-side sessions, sign-in protection, per-person command
line tokens, the audit trail, and each case's team, area and allocated people.

Revision ID: r0003
Revises: r0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("password_hash", sa.String(500), nullable=True),
        sa.Column("oidc_subject", sa.String(500), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("oidc_subject", name="uq_people_oidc_subject"),
    )
    op.create_table(
        "person_roles",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "role", name="pk_person_roles"),
    )
    op.create_table(
        "person_units",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "kind", "unit", name="pk_person_units"),
    )
    op.create_index("ix_person_units_unit", "person_units", ["kind", "unit"])
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("last_seen_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("ended_at", _AT, nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_person", "web_sessions", ["person_id"])
    op.create_table(
        "signin_failures",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", _AT, nullable=False),
        sa.Column("last_at", _AT, nullable=False),
        sa.Column("locked_until", _AT, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_signin_failures"),
    )
    op.create_table(
        "person_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("revoked_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_person_tokens"),
    )
    op.create_index("ix_person_tokens_person", "person_tokens", ["person_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("actor_role", sa.String(100), nullable=True),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=True),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("address", sa.String(100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_case", "audit_events", ["case_id", "at"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor", "at"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_table(
        "case_allocations",
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "role", "person_id", name="pk_case_allocations"),
    )
    op.create_index("ix_case_allocations_person", "case_allocations", ["person_id"])
    with op.batch_alter_table("case_summaries") as batch:
        batch.add_column(sa.Column("area", sa.String(200), nullable=True))
        batch.create_index("ix_case_summaries_area", ["area", "deadline"])


def downgrade() -> None:
    with op.batch_alter_table("case_summaries") as batch:
        batch.drop_index("ix_case_summaries_area")
        batch.drop_column("area")
    op.drop_table("case_allocations")
    op.drop_table("audit_events")
    op.drop_table("person_tokens")
    op.drop_table("signin_failures")
    op.drop_table("web_sessions")
    op.drop_table("person_units")
    op.drop_table("person_roles")
    op.drop_table("people")
