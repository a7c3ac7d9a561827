"""The case record's tables, as SQLAlchemy 2 typed declarative classes.

``case_events``: every timeline entry of every case, keyed by (case id, stream, position), so
writing the same event twice is a no-op. ``case_summaries``: one row per case, the case as it
stands, with an ordering stamp (stream rank, last position) so that an older batch arriving
late never rolls a newer summary back. ``outbox_sent``: the idempotency keys the SMTP server
has accepted, shared by every worker on the database. ``case_allocations``: the people a case
is allocated to now (its social worker, its team manager), for scoping; ``ended_allocations``:
those ended by removing the person, never given back to a new account with the same id.

People and sign-in: ``people`` (one row a person, one sign-in), ``person_roles`` (several roles),
``person_units`` (the teams and areas they belong to, or the whole service), ``web_sessions``
(server-side sessions: the cookie holds only an opaque id, stored here hashed),
``signin_failures`` (failed sign-ins per account and per client address, shared by every web
process), ``person_tokens`` (hashed tokens the command line acts as a person with) and
``audit_events`` (who did or saw what, when, from where; each row chained to the one before by
a hash, see :mod:`records.audit`).

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
# The review stream never carries a summary (RecordStore.append_review_event); its rank only
# orders the timeline.
STREAM_RANK: dict[Stream, int] = {Stream.CASE: 0, Stream.PLAN: 1, Stream.REVIEW: 2}


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
    email_failing: Mapped[bool] = mapped_column(Boolean, default=False)
    icpc_held_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(200))
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
        Index("ix_case_summaries_area", "area", "deadline"),
        Index("ix_case_summaries_strategy", "strategy_discussion"),
        Index("ix_case_summaries_outcome", "outcome"),
    )


class OutboxSentRow(Base):
    __tablename__ = "outbox_sent"

    idempotency_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseAllocationRow(Base):
    __tablename__ = "case_allocations"

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(100), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_case_allocations_person", "person_id"),)


class EndedAllocationRow(Base):
    """An allocation ended by removing its person: the case's batches still name their id (a
    workflow's contacts), and must not give the case to a new account with the same id. Kept
    until the role goes to someone else or is reassigned to that id afresh."""

    __tablename__ = "ended_allocations"

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(100), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PersonRow(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(500))
    # Set by someone else (an administrator, the bootstrap): changed at the first sign-in.
    password_must_change: Mapped[bool] = mapped_column(Boolean, default=False)
    oidc_subject: Mapped[str | None] = mapped_column(String(500), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PersonRoleRow(Base):
    __tablename__ = "person_roles"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(100), primary_key=True)


class PersonUnitRow(Base):
    __tablename__ = "person_units"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # team, area or service
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_person_units_unit", "kind", "unit"),)


class WebSessionRow(Base):
    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie
    person_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the absolute lifetime
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # CSRF token, a message

    __table_args__ = (Index("ix_web_sessions_person", "person_id"),)


class SigninFailureRow(Base):
    __tablename__ = "signin_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)  # "user:ID" or "ip:ADDRESS"
    failures: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PersonTokenRow(Base):
    __tablename__ = "person_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_person_tokens_person", "person_id"),)


class AuditEventRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str | None] = mapped_column(String(200))  # a person id, or the typed sign-in id
    actor_role: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    outcome: Mapped[str] = mapped_column(String(16))  # ok, refused, unknown
    channel: Mapped[str] = mapped_column(String(16))  # web, cli, codec
    case_id: Mapped[str | None] = mapped_column(String(200))
    target: Mapped[str | None] = mapped_column(String(200))  # the person an account change is about
    address: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")
    # The hash chain (records.audit): the row's place in it, the hash of the row before it (or
    # GENESIS_HASH), and the hash over the row's columns and previous_hash.
    seq: Mapped[int] = mapped_column(Integer)
    previous_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_case", "case_id", "at"),
        Index("ix_audit_events_actor", "actor", "at"),
        Index("ix_audit_events_at", "at"),
        # Two writers that read the same head cannot both append: one of them fails here.
        Index("uq_audit_events_seq", "seq", unique=True),
    )
