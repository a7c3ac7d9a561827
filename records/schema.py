"""The case record's tables, as SQLAlchemy 2 typed declarative classes.

``case_events``: every timeline entry of every case, keyed by (case id, stream, position), so
writing the same event twice is a no-op. ``case_summaries``: one row per case, the case as it
stands, with an ordering stamp (stream rank, last position) so that an older batch arriving
late never rolls a newer summary back. ``outbox_sent``: the idempotency keys the SMTP server
has accepted, shared by every worker on the database.

Every timestamp is stored in UTC and read back timezone-aware, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.case_record import Stream

# The summary of a later stream outranks any summary of an earlier one.
STREAM_RANK: dict[Stream, int] = {Stream.CASE: 0, Stream.PLAN: 1}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the case record stores aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite keeps text without an offset: all-UTC text sorts in time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class CaseEventRow(Base):
    __tablename__ = "case_events"

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    stream: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    event: Mapped[str] = mapped_column(String(100))
    by_user: Mapped[str | None] = mapped_column(String(200))
    by_role: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseSummaryRow(Base):
    __tablename__ = "case_summaries"

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_reference: Mapped[str] = mapped_column(String(200))
    family_reference: Mapped[str] = mapped_column(String(200))
    procedure_id: Mapped[str] = mapped_column(String(100))
    stream: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(100))
    is_open: Mapped[bool] = mapped_column(Boolean)
    strategy_discussion: Mapped[datetime] = mapped_column(UtcDateTime)
    icpc_deadline: Mapped[datetime] = mapped_column(UtcDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_due: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_milestone: Mapped[str | None] = mapped_column(String(100))
    awaiting_role: Mapped[str | None] = mapped_column(String(100))
    out_of_timescale: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    icpc_held_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(200))
    # The ordering stamp: the batch that wrote this row (STREAM_RANK, its last position).
    stamp_rank: Mapped[int] = mapped_column(Integer)
    stamp_position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # Lists: open or closed, soonest deadline first, then case id.
        Index("ix_case_summaries_open_deadline", "is_open", "deadline", "case_id"),
        Index("ix_case_summaries_reference", "case_reference"),
        Index("ix_case_summaries_procedure", "procedure_id", "deadline"),
        Index("ix_case_summaries_stage", "stage", "deadline"),
        Index("ix_case_summaries_team", "team", "deadline"),
        Index("ix_case_summaries_strategy", "strategy_discussion"),
        Index("ix_case_summaries_outcome", "outcome"),
    )


class OutboxSentRow(Base):
    __tablename__ = "outbox_sent"

    idempotency_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
