"""The audit trail: who saw or did what to which case or account, when, and from where.

Every row is also one structured log line (``icpc.audit``) for the council's log system. The
log line carries ids, the action and its outcome only; the ``detail`` text (a break-glass
reason, a refusal's reason) stays in the database, which is the protected place for it.

The rows form a hash chain, so that editing, removing or inserting one afterwards shows: each
row has a sequence number (1, 2, 3, ... with no gap), the hash of the row before it
(``previous_hash``, :data:`GENESIS_HASH` for the first) and its own ``row_hash``, SHA-256 over
the canonical text of every column but the id (:func:`row_hash`). Writers append one at a time
(:meth:`AuditLog.write`); :func:`verify_chain` walks the rows and names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from records.schema import AuditEventRow

_LOG = structlog.get_logger("icpc.audit")

GENESIS_HASH = "0" * 64  # the previous_hash of the first row
# The PostgreSQL transaction lock every writer takes before reading the chain's head ("icpcaudt"
# in ASCII), so that two writers never append after the same row.
CHAIN_LOCK = 0x6963706361756474
# What row_hash covers: every column but the id (a surrogate the database assigns on insert).
HASHED_COLUMNS = (
    "seq",
    "at",
    "actor",
    "actor_role",
    "action",
    "outcome",
    "channel",
    "case_id",
    "target",
    "address",
    "detail",
    "previous_hash",
)
# A row of audit_events by column name (a SQLAlchemy RowMapping, or a plain dict).
ColumnValues = Mapping[Any, Any]


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
    LIST_CASES = "list_cases"  # a list or search of cases: the filters, never a child's name
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
    API = "api"  # the JSON API (web.api): the command line, a council's case system


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
        """Append one row to the chain. One writer at a time: on PostgreSQL the transaction
        lock :data:`CHAIN_LOCK`, on SQLite the write lock BEGIN IMMEDIATE takes up front."""
        values: dict[str, Any] = {
            "at": entry.at,
            "actor": entry.actor,
            "actor_role": entry.actor_role,
            "action": entry.action.value,
            "outcome": entry.outcome.value,
            "channel": entry.channel.value,
            "case_id": entry.case_id,
            "target": entry.target,
            "address": entry.address,
            "detail": entry.detail[:4000],
        }
        with (
            self._engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection,
            connection.begin(),
        ):
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))
            # Read after the lock: under READ COMMITTED this sees the last writer's row.
            head = connection.execute(
                select(AuditEventRow.seq, AuditEventRow.row_hash)
                .order_by(AuditEventRow.seq.desc())
                .limit(1)
            ).first()
            values["seq"] = head.seq + 1 if head else 1
            values["previous_hash"] = head.row_hash if head else GENESIS_HASH
            values["row_hash"] = row_hash(values)
            connection.execute(insert(AuditEventRow).values(**values))
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

    def verify(self, noted_hash: str | None = None) -> ChainReport:
        """:func:`verify_chain` over every row, in chain order, read a thousand at a time."""
        query = select(AuditEventRow).order_by(AuditEventRow.seq)
        with self._engine.connect() as connection:
            result = connection.execution_options(yield_per=1000).execute(query)
            return verify_chain(result.mappings(), noted_hash=noted_hash)


# --- the hash chain ---------------------------------------------------------------------------


def _timestamp(at: datetime) -> str:
    # One fixed form, UTC to the microsecond: what both databases store and give back.
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(row: ColumnValues) -> str:
    """SHA-256 (hex) of the row's :data:`HASHED_COLUMNS` as JSON: sorted keys, no spaces,
    ASCII only, the time in :func:`_timestamp`'s form, null for what is not known."""
    document = {name: row[name] for name in HASHED_COLUMNS}
    document["at"] = _timestamp(row["at"])
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class Fault(StrEnum):
    EDITED = "hash mismatch"  # the row's columns no longer give its row_hash
    LINK = "previous_hash mismatch"  # it does not follow the row before: removed or inserted
    NOTED_HASH_MISSING = "noted hash missing"  # the chain no longer holds a head noted earlier


@dataclass(frozen=True)
class ChainLink:
    """One row of the chain, as a report names it."""

    id: int
    seq: int
    at: datetime
    row_hash: str


@dataclass(frozen=True)
class ChainBreak:
    row: ChainLink | None  # None when no one row is at fault (a noted hash missing)
    fault: Fault
    explanation: str


@dataclass(frozen=True)
class ChainReport:
    rows: int  # rows found intact, in order, before the break (every row if none)
    head: ChainLink | None  # the last intact row
    broken: ChainBreak | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _link(row: ColumnValues) -> ChainLink:
    return ChainLink(id=row["id"], seq=row["seq"], at=row["at"], row_hash=row["row_hash"])


def verify_chain(rows: Iterable[ColumnValues], *, noted_hash: str | None = None) -> ChainReport:
    """Walk ``rows`` in sequence order and report the first broken link, if any.

    A row whose columns do not give its ``row_hash`` was edited; a row whose sequence or
    ``previous_hash`` does not follow the row before it means rows were removed before it, or
    it was inserted. ``noted_hash``: a head hash noted earlier (``icpc audit verify`` prints
    it), which must still be in the chain; without it, rows removed from the end of the chain
    cannot be told from rows never written."""
    count = 0
    head: ChainLink | None = None
    noted_found = noted_hash is None
    for row in rows:
        if row_hash(row) != row["row_hash"]:
            why = "the row was changed after it was written: its columns no longer give its hash"
            return ChainReport(count, head, ChainBreak(_link(row), Fault.EDITED, why))
        due, previous = (head.seq + 1, head.row_hash) if head else (1, GENESIS_HASH)
        if row["seq"] != due or row["previous_hash"] != previous:
            if row["seq"] > due:
                gap = row["seq"] - due
                why = f"{gap} row(s) removed before it (sequence {row['seq']}, {due} was due)"
            else:
                why = "a row before it was removed or rewritten, or this row was inserted"
            where = f"seq {head.seq}, hash {head.row_hash}" if head else "none, it is the first"
            why = f"{why}; the row before it: {where}"
            return ChainReport(count, head, ChainBreak(_link(row), Fault.LINK, why))
        count += 1
        head = _link(row)
        noted_found = noted_found or head.row_hash == noted_hash
    if not noted_found:
        why = (
            f"no row has the noted hash {noted_hash}: rows were removed from the end of the"
            " chain, or the chain was rewritten"
        )
        return ChainReport(count, head, ChainBreak(None, Fault.NOTED_HASH_MISSING, why))
    return ChainReport(count, head)
