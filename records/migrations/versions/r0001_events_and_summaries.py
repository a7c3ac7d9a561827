"""The case record: every event of every case's streams, and one summary per case.

Revision ID: r0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "case_events",
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _when("at", nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("by_user", sa.String(200), nullable=True),
        sa.Column("by_role", sa.String(100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "stream", "position", name="pk_case_events"),
    )
    op.create_table(
        "case_summaries",
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("case_reference", sa.String(200), nullable=False),
        sa.Column("family_reference", sa.String(200), nullable=False),
        sa.Column("procedure_id", sa.String(100), nullable=False),
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        _when("strategy_discussion", nullable=False),
        _when("icpc_deadline", nullable=False),
        _when("deadline"),
        _when("next_due"),
        sa.Column("next_milestone", sa.String(100), nullable=True),
        sa.Column("awaiting_role", sa.String(100), nullable=True),
        sa.Column("out_of_timescale", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        _when("icpc_held_at"),
        sa.Column("outcome", sa.String(100), nullable=True),
        _when("closed_at"),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("stamp_rank", sa.Integer(), nullable=False),
        sa.Column("stamp_position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_summaries"),
    )
    for name, columns in [
        ("ix_case_summaries_open_deadline", ["is_open", "deadline", "case_id"]),
        ("ix_case_summaries_reference", ["case_reference"]),
        ("ix_case_summaries_procedure", ["procedure_id", "deadline"]),
        ("ix_case_summaries_stage", ["stage", "deadline"]),
        ("ix_case_summaries_team", ["team", "deadline"]),
        ("ix_case_summaries_strategy", ["strategy_discussion"]),
        ("ix_case_summaries_outcome", ["outcome"]),
    ]:
        op.create_index(name, "case_summaries", columns)


def downgrade() -> None:
    op.drop_table("case_summaries")
    op.drop_table("case_events")
