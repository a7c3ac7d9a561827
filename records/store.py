"""The case record store: append batches of events exactly once, read timelines and lists.

``append`` writes a batch's new events and its summary in one transaction (and, with a summary
that wins, the people the case is allocated to now: ``case_allocations``, replaced whole).
Events are keyed by (case id, stream, position) and inserted with ON CONFLICT DO NOTHING, so a
retried activity, a replayed workflow or overlapping batches never write an event twice. The
summary is upserted only if the batch's ordering stamp is at least the stored one: a plan batch
outranks a case batch, and within a stream the batch with the higher last position wins. A
batch without events is stamped with the highest position already recorded for its stream.

Blocking (SQLAlchemy, synchronous): call it from a thread when in async code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SQLAlchemyError

from domain.case_record import CaseSummary, RecordBatch, RecordedEvent, Stream
from domain.decisions import Decider
from domain.people import Person
from domain.scoping import CaseScope, scope_of, unit_roles
from domain.shared_rules import REASSIGNED
from domain.vocabulary import DecisionKind
from records.database import RecordStoreError, describe, insert_into, make_engine
from records.schema import (
    STREAM_RANK,
    CaseAllocationRow,
    CaseEventRow,
    CaseSummaryRow,
    EndedAllocationRow,
)

LONDON = ZoneInfo("Europe/London")
# The summary's columns: every field but the allocations, kept in their own table.
SUMMARY_FIELDS: tuple[str, ...] = tuple(f for f in CaseSummary.model_fields if f != "allocated")


class CaseFilter(BaseModel):
    """What to list; every field left None matches all cases."""

    model_config = ConfigDict(frozen=True)

    is_open: bool | None = None
    stage: str | None = None
    procedure_id: str | None = None
    team: str | None = None
    area: str | None = None
    # Only the cases this person may see (domain.scoping.may_see, as SQL: scope_condition).
    visible_to: Person | None = None
    reference: str | None = None  # the case reference
    reference_match: Literal["exact", "prefix"] = "prefix"  # prefix: case-insensitive
    strategy_month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    outcome: str | None = None
    awaiting_role: str | None = None  # whose decision the case waits for (open cases)
    awaiting_roles: frozenset[str] | None = None  # any of these (a person with several roles)

    @field_validator("reference")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseSummary]
    total: int  # cases matching the filter, over all pages
    page: int  # 1-based
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, by the clock in England."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=LONDON)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=LONDON)
    return start, end


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _event_row(case_id: str, stream: Stream, event: RecordedEvent) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "stream": stream.value,
        "position": event.position,
        "at": event.at,
        "event": event.event,
        "by_user": event.by.user if event.by else None,
        "by_role": event.by.role if event.by else None,
        "summary": event.summary,
        "reason": event.reason,
        "data": event.data,
    }


def _recorded_event(row: Any) -> RecordedEvent:
    by = (
        Decider(user=row.by_user, role=row.by_role)
        if row.by_user is not None and row.by_role is not None
        else None
    )
    return RecordedEvent(
        position=row.position,
        at=row.at,
        event=row.event,
        by=by,
        summary=row.summary,
        reason=row.reason,
        data=row.data,
    )


class RecordStore:
    """The case record on one database. Thread-safe: each call uses its own connection."""

    def __init__(self, engine_or_url: Engine | str | URL) -> None:
        if isinstance(engine_or_url, Engine):
            self.engine = engine_or_url
            self._owns_engine = False
        else:
            self.engine = make_engine(engine_or_url)
            self._owns_engine = True
        # Built once: the same statement every call, so SQLAlchemy compiles it once too.
        events = insert_into(self.engine, CaseEventRow)
        self._insert_events_statement = events.on_conflict_do_nothing(
            index_elements=["case_id", "stream", "position"]
        ).returning(CaseEventRow.position)
        summary = insert_into(self.engine, CaseSummaryRow)
        newer_or_same = tuple_(summary.excluded.stamp_rank, summary.excluded.stamp_position) >= (
            tuple_(CaseSummaryRow.stamp_rank, CaseSummaryRow.stamp_position)
        )
        columns = [*SUMMARY_FIELDS, "stamp_rank", "stamp_position"]
        # RETURNING says whether the summary was written (not an older batch arriving late).
        self._upsert_summary_statement = summary.on_conflict_do_update(
            index_elements=["case_id"],
            set_={name: summary.excluded[name] for name in columns if name != "case_id"},
            where=newer_or_same,
        ).returning(CaseSummaryRow.case_id)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _unavailable(self, error: SQLAlchemyError) -> RecordStoreError:
        original = getattr(error, "orig", None) or error
        return RecordStoreError(
            f"case record at {describe(self.engine.url)} unavailable ({type(original).__name__})"
        )

    # --- writing ---------------------------------------------------------------------------

    def append(self, batch: RecordBatch) -> int:
        """Write the batch once, in one transaction; returns how many events were new."""
        for event_ in batch.events:
            if event_.position < 0:
                raise ValueError("event positions start at 0")
        try:
            with (
                self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection,
                connection.begin(),
            ):
                added = self._insert_events(connection, batch)
                if batch.summary is not None:
                    self._upsert_summary(connection, batch)
                return added
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error

    def append_many(self, batches: Sequence[RecordBatch]) -> int:
        """Write many batches, in order, in one transaction (an import, the year simulation):
        each as :meth:`append` writes it; returns how many events were new."""
        for batch in batches:
            if any(event_.position < 0 for event_ in batch.events):
                raise ValueError("event positions start at 0")
        try:
            with (
                self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection,
                connection.begin(),
            ):
                added = 0
                for batch in batches:
                    added += self._insert_events(connection, batch)
                    if batch.summary is not None:
                        self._upsert_summary(connection, batch)
                return added
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error

    def append_review_event(self, case_id: str, event: RecordedEvent, key: str) -> bool:
        """Record one entry about a case made outside its workflows (a review of its decisions,
        000 action 16) in the case's ``review`` stream, at its next position.

        Once per ``key``: a review entry whose data holds the same key is not written again
        (True: written now; False: it was already there). The event's own position is ignored.
        Raises LookupError for a case the record does not hold.
        """
        data = {**event.data, "key": key}
        for _attempt in range(3):  # two writers taking the same position: the loser retries
            try:
                with (
                    self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection,
                    connection.begin(),
                ):
                    known = connection.execute(
                        select(CaseSummaryRow.case_id).where(CaseSummaryRow.case_id == case_id)
                    ).first()
                    if known is None:
                        raise LookupError(f"the case record holds no case '{case_id}'")
                    recorded = connection.execute(
                        select(CaseEventRow.position, CaseEventRow.data).where(
                            CaseEventRow.case_id == case_id,
                            CaseEventRow.stream == Stream.REVIEW.value,
                        )
                    ).all()
                    if any((row.data or {}).get("key") == key for row in recorded):
                        return False
                    position = max((row.position for row in recorded), default=-1) + 1
                    entry = event.model_copy(update={"position": position, "data": data})
                    written = connection.execute(
                        self._insert_events_statement, [_event_row(case_id, Stream.REVIEW, entry)]
                    ).all()
                    if written:
                        return True
            except SQLAlchemyError as error:
                raise self._unavailable(error) from error
        raise RecordStoreError(f"could not record the review entry for {case_id}; try again")

    def _insert_events(self, connection: Connection, batch: RecordBatch) -> int:
        rows = [_event_row(batch.case_id, batch.stream, event_) for event_ in batch.events]
        if not rows:
            return 0
        # One statement, many rows: SQLAlchemy sends them in batches the database accepts.
        result = connection.execute(self._insert_events_statement, rows)
        return len(result.all())

    def _upsert_summary(self, connection: Connection, batch: RecordBatch) -> None:
        summary = batch.summary
        assert summary is not None
        if summary.case_id != batch.case_id:
            raise ValueError("the summary belongs to another case than its batch")
        if batch.stream == Stream.REVIEW:
            raise ValueError("a review entry carries no summary (append_review_event)")
        if batch.events:
            position = max(event_.position for event_ in batch.events)
        else:
            position = connection.execute(
                select(func.coalesce(func.max(CaseEventRow.position), -1)).where(
                    CaseEventRow.case_id == batch.case_id,
                    CaseEventRow.stream == batch.stream.value,
                )
            ).scalar_one()
        values = summary.model_dump(mode="python", include=set(SUMMARY_FIELDS))
        values["stream"] = summary.stream.value
        values["stamp_rank"] = STREAM_RANK[batch.stream]
        values["stamp_position"] = position
        written = connection.execute(self._upsert_summary_statement, values).first()
        if written is not None:  # this batch's view of the case is the newest: so are its people
            self._replace_allocations(connection, summary, batch.events)

    def _replace_allocations(
        self, connection: Connection, summary: CaseSummary, events: Sequence[RecordedEvent]
    ) -> None:
        """The case's people now: the summary's, but an allocation its removed person ended
        (``ended_allocations``). An ended one is forgotten once the role is someone else's,
        or is given to the id again by a reassignment in this batch (a new account's)."""
        case_id = summary.case_id
        ended = {
            (row.role, row.person_id)
            for row in connection.execute(
                select(EndedAllocationRow.role, EndedAllocationRow.person_id).where(
                    EndedAllocationRow.case_id == case_id
                )
            )
        }
        reassigned = {_reassigned(e) for e in events} - {None}
        over = {(r, p) for r, p in ended if summary.allocated.get(r) != p or (r, p) in reassigned}
        for role, person in over:
            connection.execute(
                delete(EndedAllocationRow).where(
                    EndedAllocationRow.case_id == case_id,
                    EndedAllocationRow.role == role,
                    EndedAllocationRow.person_id == person,
                )
            )
        connection.execute(delete(CaseAllocationRow).where(CaseAllocationRow.case_id == case_id))
        rows = [
            {"case_id": case_id, "role": role, "person_id": person}
            for role, person in sorted(summary.allocated.items())
            if (role, person) not in ended - over
        ]
        if rows:
            connection.execute(insert(CaseAllocationRow), rows)

    # --- reading ---------------------------------------------------------------------------

    def timeline(self, case_id: str) -> list[tuple[Stream, RecordedEvent]]:
        """Every event of the case: the case stream, then the plan stream, each by position."""
        rank = {stream.value: STREAM_RANK[stream] for stream in Stream}
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(CaseEventRow).where(CaseEventRow.case_id == case_id)
                ).all()
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error
        rows = sorted(rows, key=lambda row: (rank[row.stream], row.position))
        return [(Stream(row.stream), _recorded_event(row)) for row in rows]

    def summary(self, case_id: str) -> CaseSummary | None:
        rows = self._summaries([CaseSummaryRow.case_id == case_id])
        return rows[0] if rows else None

    def scope(self, case_id: str) -> CaseScope | None:
        """Who the case belongs to (procedure, team, area, allocated people), for the scoping
        rules; None while the record has no summary of the case."""
        summary = self.summary(case_id)
        if summary is None:
            return None
        return scope_of(summary.procedure_id, summary.team, summary.area, summary.allocated)

    def find(self, case_reference: str) -> list[CaseSummary]:
        """The cases with exactly this reference (a child may have several), newest first."""
        return self._summaries(
            [CaseSummaryRow.case_reference == case_reference.strip()],
            order=[CaseSummaryRow.strategy_discussion.desc(), CaseSummaryRow.case_id],
        )

    def plans_ended(self, case_reference: str, family_reference: str) -> list[datetime]:
        """When the child protection plans of this child (its case reference) or its family
        (its family reference) ended, as the record holds them: a path the plan holds, closed."""
        condition = and_(
            CaseSummaryRow.stream == Stream.PLAN.value,
            CaseSummaryRow.closed_at.is_not(None),
            or_(
                CaseSummaryRow.case_reference == case_reference,
                CaseSummaryRow.family_reference == family_reference,
            ),
        )
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(CaseSummaryRow.closed_at).where(condition)
                ).scalars()
                return [at for at in rows if at is not None]
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error

    def count(self, filters: CaseFilter | None = None) -> int:
        conditions = _conditions(filters or CaseFilter())
        try:
            with self.engine.connect() as connection:
                return int(
                    connection.execute(
                        select(func.count()).select_from(CaseSummaryRow).where(*conditions)
                    ).scalar_one()
                )
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error

    def count_other_families(self, prefix: str) -> int:
        """Case and plan rows whose family reference does not begin with ``prefix`` (for
        ``icpc simulate``: how many cases the record holds that no simulation wrote)."""
        condition = ~CaseSummaryRow.family_reference.startswith(prefix, autoescape=True)
        try:
            with self.engine.connect() as connection:
                return int(
                    connection.execute(
                        select(func.count()).select_from(CaseSummaryRow).where(condition)
                    ).scalar_one()
                )
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error

    def list_cases(
        self, filters: CaseFilter | None = None, *, page: int = 1, page_size: int = 50
    ) -> CasePage:
        """One page of the matching cases, soonest deadline first (none last), then case id."""
        if page < 1 or not 1 <= page_size <= 1000:
            raise ValueError("page starts at 1; page_size is 1 to 1000")
        filters = filters or CaseFilter()
        total = self.count(filters)
        rows = self._summaries(
            _conditions(filters),
            order=[
                CaseSummaryRow.deadline.is_(None),
                CaseSummaryRow.deadline,
                CaseSummaryRow.case_id,
            ],
            limit=page_size,
            offset=(page - 1) * page_size,
        )
        return CasePage(rows=rows, total=total, page=page, page_size=page_size)

    def _summaries(
        self,
        conditions: Sequence[ColumnElement[bool]],
        *,
        order: Sequence[Any] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[CaseSummary]:
        query = select(CaseSummaryRow).where(*conditions).order_by(*order).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
                allocated: dict[str, dict[str, str]] = {}
                if rows:
                    people = connection.execute(
                        select(CaseAllocationRow).where(
                            CaseAllocationRow.case_id.in_([row.case_id for row in rows])
                        )
                    ).all()
                    for person in people:
                        allocated.setdefault(person.case_id, {})[person.role] = person.person_id
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error
        return [_summary_from_row(row, allocated.get(row.case_id, {})) for row in rows]


def _reassigned(event: RecordedEvent) -> tuple[str, str] | None:
    """The (role, person id) a reassignment's timeline entry gives the case to, if it is one."""
    given = event.data.get(REASSIGNED) if event.event == DecisionKind.REASSIGN_WORKER else None
    if isinstance(given, dict) and isinstance(given.get("role"), str) and given.get("user"):
        return given["role"], str(given["user"])
    return None


def _summary_from_row(row: Any, allocated: dict[str, str]) -> CaseSummary:
    values = {name: getattr(row, name) for name in SUMMARY_FIELDS}
    return CaseSummary.model_validate({**values, "allocated": allocated})


def scope_condition(person: Person) -> ColumnElement[bool]:
    """The cases ``person`` may see, as a condition on ``case_summaries``: exactly
    :func:`domain.scoping.may_see` (allocated to them; or, through a case role other than the
    caseholder's, in one of their teams or areas, or any case when they are service-wide)."""
    table = CaseSummaryRow
    if not person.active:
        return false()
    allocated = exists().where(
        CaseAllocationRow.case_id == table.case_id, CaseAllocationRow.person_id == person.id
    )
    if not unit_roles(person):
        return allocated
    if person.service_wide:
        return true()
    units: list[ColumnElement[bool]] = [allocated]
    if person.teams:
        units.append(table.team.in_(sorted(person.teams)))
    if person.areas:
        units.append(table.area.in_(sorted(person.areas)))
    return or_(*units)


def _conditions(filters: CaseFilter) -> list[ColumnElement[bool]]:
    table = CaseSummaryRow
    conditions: list[ColumnElement[bool]] = []
    if filters.is_open is not None:
        conditions.append(table.is_open == filters.is_open)
    if filters.stage is not None:
        conditions.append(table.stage == filters.stage)
    if filters.procedure_id is not None:
        conditions.append(table.procedure_id == filters.procedure_id)
    if filters.team is not None:
        conditions.append(table.team == filters.team)
    if filters.area is not None:
        conditions.append(table.area == filters.area)
    if filters.visible_to is not None:
        conditions.append(scope_condition(filters.visible_to))
    if filters.outcome is not None:
        conditions.append(table.outcome == filters.outcome)
    if filters.awaiting_role is not None:
        conditions.append(table.awaiting_role == filters.awaiting_role)
    if filters.awaiting_roles is not None:
        conditions.append(table.awaiting_role.in_(sorted(filters.awaiting_roles)))
    if filters.reference is not None:
        if filters.reference_match == "exact":
            conditions.append(table.case_reference == filters.reference)
        else:
            pattern = _escape_like(filters.reference.lower()) + "%"
            conditions.append(func.lower(table.case_reference).like(pattern, escape="\\"))
    if filters.strategy_month is not None:
        start, end = _month_bounds(filters.strategy_month)
        conditions.append(and_(table.strategy_discussion >= start, table.strategy_discussion < end))
    return conditions
