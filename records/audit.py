"""The audit trail: who saw or did what to which case or account, when, and from where.

Every row is also one structured log line (``icpc.audit``) for the council's log system. The
log line carries ids, the action and its outcome only; the ``detail`` text (a break-glass
reason, a refusal's reason) stays in the database, which is the protected place for it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import structlog
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from records.schema import AuditEventRow

_LOG = structlog.get_logger("icpc.audit")


class Action(StrEnum):
    VIEW_CASE = "view_case"
    BREAK_GLASS = "break_glass"
    DECISION = "decision"
    START_CASE = "start_case"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    LOCKOUT = "lockout"  # failed sign-ins locked an account or a client address
    SIGN_OUT = "sign_out"
    SESSION_REFUSED = "session_refused"
    ACCOUNT_CHANGE = "account_change"
    CODEC_DECODE = "codec_decode"
    READ_AUDIT = "read_audit"
    READ_REPORT = "read_report"  # a report page, a CSV download or a report over the API
    SEND_REPORT = "send_report"  # the monthly lists sent by hand (icpc report send-monthly)
    CODEC_REASON = "codec_reason"  # a support person's reason for decoding, once a session
    SIMULATE = "simulate"  # invented cases written into the record (icpc simulate)


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    UNKNOWN = "unknown"  # sent, but Temporal went away before it answered


class Channel(StrEnum):
    WEB = "web"
    CLI = "cli"
    CODEC = "codec"
    API = "api"  # the JSON API, /api/v1 (the command line and case systems)


@dataclass(frozen=True)
class AuditEntry:
    action: Action
    outcome: Outcome
    channel: Channel
    actor: str | None = None  # a person id (or the sign-in id typed, for a failed sign-in)
    actor_role: str | None = None
    case_id: str | None = None
    target: str | None = None  # the person an account change is about
    address: str | None = None  # the client's address, as the web form sees it
    detail: str = ""  # why: a refusal's reason, a break-glass reason, what changed
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class AuditLog:
    """Writes and reads ``audit_events`` on an engine the caller owns (and disposes of)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, entry: AuditEntry) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                insert(AuditEventRow).values(
                    at=entry.at,
                    actor=entry.actor,
                    actor_role=entry.actor_role,
                    action=entry.action.value,
                    outcome=entry.outcome.value,
                    channel=entry.channel.value,
                    case_id=entry.case_id,
                    target=entry.target,
                    address=entry.address,
                    detail=entry.detail[:4000],
                )
            )
        _LOG.info(
            "audit",
            action=entry.action.value,
            outcome=entry.outcome.value,
            channel=entry.channel.value,
            actor=entry.actor,
            actor_role=entry.actor_role,
            case_id=entry.case_id,
            target=entry.target,
            address=entry.address,
        )

    def read(
        self,
        *,
        case_id: str | None = None,
        actor: str | None = None,
        limit: int = 500,
        case_ids: Collection[str] | None = None,
    ) -> Sequence[AuditEntry]:
        """Newest first, for one case (or any of ``case_ids``), one person (as actor or as the
        account changed), or all."""
        query = select(AuditEventRow)
        if case_id is not None:
            query = query.where(AuditEventRow.case_id == case_id)
        if case_ids is not None:
            query = query.where(AuditEventRow.case_id.in_(list(case_ids)))
        if actor is not None:
            query = query.where((AuditEventRow.actor == actor) | (AuditEventRow.target == actor))
        query = query.order_by(AuditEventRow.at.desc(), AuditEventRow.id.desc()).limit(limit)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            AuditEntry(
                action=Action(row.action),
                outcome=Outcome(row.outcome),
                channel=Channel(row.channel),
                actor=row.actor,
                actor_role=row.actor_role,
                case_id=row.case_id,
                target=row.target,
                address=row.address,
                detail=row.detail,
                at=row.at,
            )
            for row in rows
        ]
