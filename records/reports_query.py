"""The case record, read for the management information reports: two queries, not one per case.

:func:`load_histories` loads every case whose life overlaps a window (its strategy discussion
on or before the window's last day, and still open, or closed on or after its first day) as
:class:`domain.reports.CaseHistory`: one query for their summaries, one for their events (a
join on the same conditions, so no list of ids travels to the database). Only the events the
reports read are loaded (the decisions and the starts, not reminders or notices).

The ``*_report`` functions are what the faces call (the command line, the monthly schedule, the
web form's Reports page): each loads the window its report needs and computes it with the pure
functions of :mod:`domain.reports`. :func:`record_audit_review` records a Head of Service's
review of a decision (000 action 16) in the case's review stream.

Blocking (SQLAlchemy, synchronous): call from a thread in async code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, and_, null, or_, select, type_coerce
from sqlalchemy import case as when_then
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select

from domain.calendar import LONDON
from domain.case_record import RecordedEvent, Stream
from domain.decisions import Decider
from domain.people import Person
from domain.procedure import Procedure
from domain.reports import (
    AuditSample,
    CapacityForecast,
    CaseHistory,
    CensusExtract,
    OutOfTimescaleReport,
    Period,
    TimelinessReport,
    audit_review,
    audit_sample,
    capacity_forecast,
    census_extract,
    out_of_timescale,
    timeliness,
)
from domain.reports.audit import DEFAULT_SAMPLE_SIZE
from domain.reports.audit import READS as AUDIT
from domain.reports.capacity import READS as CAPACITY
from domain.reports.capacity import SETTLED_WITHIN, WEEKS
from domain.reports.census import READS as CENSUS
from domain.reports.facts import CASE_EVENTS, DATED_EVENTS, PLAN_EVENTS
from domain.reports.history import ReportEvent
from domain.reports.out_of_timescale import READS as OUT_OF_TIMESCALE
from domain.reports.timeliness import READS as TIMELINESS
from records.schema import CaseEventRow, CaseSummaryRow
from records.store import RecordStore, scope_condition

READ_ALL = frozenset(CASE_EVENTS | PLAN_EVENTS)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=LONDON)


def _window(
    start: date,
    end: date,
    procedure_id: str | None,
    area: str | None,
    visible_to: Person | None = None,
) -> list[ColumnElement[bool]]:
    table = CaseSummaryRow
    conditions = [
        table.strategy_discussion < _midnight(end + timedelta(days=1)),
        or_(table.closed_at.is_(None), table.closed_at >= _midnight(start)),
    ]
    if procedure_id is not None:
        conditions.append(table.procedure_id == procedure_id)
    if area is not None:
        conditions.append(table.area == area)
    if visible_to is not None:  # only the cases this person may see (domain.scoping.may_see)
        conditions.append(scope_condition(visible_to))
    return conditions


def _raw_instants(store: RecordStore) -> bool:
    """SQLite keeps instants as text (UTC); parsing it here is several times faster than the
    generic datetime type's pattern, which costs more than the reports at 15,000 cases."""
    return store.engine.dialect.name == "sqlite"


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value + "+00:00")  # UTC text; far faster than .replace()


def _maybe(value: Any) -> datetime | None:
    return None if value is None else _instant(value)


def load_histories(
    store: RecordStore,
    start: date,
    end: date,
    *,
    procedure_id: str | None = None,
    area: str | None = None,
    visible_to: Person | None = None,
    reads: Collection[str] = READ_ALL,
) -> list[CaseHistory]:
    """The cases whose life overlaps ``start`` to ``end`` (London dates, both included), with
    their events named in ``reads`` (every event a report reads, by default) and their review
    entries. ``visible_to``: only the cases that person may see (the web form's Reports page).
    """
    summary, event = CaseSummaryRow, CaseEventRow
    raw = _raw_instants(store)

    def instant(column: Any) -> Any:
        return type_coerce(column, String).label(column.key) if raw else column

    conditions = _window(start, end, procedure_id, area, visible_to)
    summaries = (
        select(
            summary.case_id,
            summary.case_reference,
            summary.procedure_id,
            instant(summary.strategy_discussion),
            instant(summary.icpc_deadline),
            summary.team,
            summary.area,
            summary.stage,
            summary.is_open,
            instant(summary.icpc_held_at),
            summary.outcome,
            instant(summary.closed_at),
        )
        .where(*conditions)
        .order_by(summary.case_id)
    )
    # The reports read no event's data but the likelihood given at the case's start, the dates
    # the decisions recorded (facts.DATED_EVENTS: a booking's, a delay's, a review's) and review
    # entries' (decoding every event's data would cost more than the reports).
    likelihood = when_then(
        (event.event == "case_started", event.data["likelihood"].as_string()), else_=null()
    )
    with_data = or_(event.stream == Stream.REVIEW.value, event.event.in_(sorted(DATED_EVENTS)))
    read_data = when_then((with_data, event.data), else_=null())
    # In ReportEvent's order: each row becomes one without a step between.
    events = (
        select(
            instant(event.at),
            event.event,
            event.by_user,
            event.by_role,
            event.summary,
            event.reason,
            likelihood.label("likelihood"),
            type_coerce(read_data, JSON).label("data"),
            event.case_id,
            event.stream,
        )
        .join(summary, summary.case_id == event.case_id)
        .where(
            *conditions,
            or_(event.event.in_(sorted(reads)), event.stream == Stream.REVIEW.value),
            # An ICPC held before the window is in no report of it: its plan may be.
            or_(
                event.stream != Stream.CASE.value,
                summary.icpc_held_at.is_(None),
                summary.icpc_held_at >= _midnight(start),
            ),
        )
        # From the summaries (a few thousand), each case's events by their key.
        .order_by(summary.case_id, event.stream, event.position)
    )
    try:
        with store.engine.connect() as connection:
            cases = _raw_rows(connection, summaries)
            rows = _raw_rows(connection, events)
    except SQLAlchemyError as error:
        raise store._unavailable(error) from error
    streams: dict[str, dict[str, list[ReportEvent]]] = {}
    make = ReportEvent._make
    for (case_id, stream), group in groupby(rows, key=itemgetter(8, 9)):
        streams.setdefault(case_id, {})[stream] = list(map(make, group))
    histories = []
    empty: dict[str, list[ReportEvent]] = {}
    for (
        case_id,
        reference,
        procedure,
        strategy,
        deadline,
        team,
        area_,
        stage,
        is_open,
        held,
        outcome,
        closed,
    ) in cases:
        recorded_streams = streams.get(case_id, empty)
        histories.append(
            CaseHistory(
                case_id=case_id,
                case_reference=reference,
                procedure_id=procedure,
                strategy_discussion=_instant(strategy),
                icpc_deadline=_maybe(deadline),
                team=team,
                area=area_,
                stage=stage,
                is_open=bool(is_open),
                icpc_held_at=_maybe(held),
                outcome=outcome,
                closed_at=_maybe(closed),
                events=recorded_streams.get(Stream.CASE.value, []),
                plan_events=recorded_streams.get(Stream.PLAN.value, []),
                review_events=recorded_streams.get(Stream.REVIEW.value, []),
            )
        )
    return histories


def _raw_rows(connection: Connection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """The statement's rows as the database driver gives them: plain tuples, no per-row
    processing (the columns are chosen so none is needed), for speed."""
    result = connection.execute(statement)
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()


def earlier_plan_starts(
    store: RecordStore, year: Period, *, procedure_id: str | None = None
) -> dict[str, list[tuple[str, date]]]:
    """For the case references of the census year's cases: every plan the record holds that
    started before the year, as (case id, the ICPC's date), by reference."""
    table = CaseSummaryRow
    in_year = select(table.case_reference).where(*_window(year.start, year.end, procedure_id, None))
    query = select(table.case_reference, table.case_id, table.icpc_held_at).where(
        and_(
            table.outcome == "child_protection_plan",
            table.icpc_held_at.is_not(None),
            table.icpc_held_at < _midnight(year.start),
            table.case_reference.in_(in_year),
        )
    )
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as error:
        raise store._unavailable(error) from error
    found: dict[str, list[tuple[str, date]]] = {}
    for row in rows:
        day = row.icpc_held_at.astimezone(LONDON).date()
        found.setdefault(row.case_reference, []).append((row.case_id, day))
    return found


# --- the reports, loaded and computed -----------------------------------------------------------


def timeliness_report(
    store: RecordStore,
    period: Period,
    procedures: Mapping[str, Procedure],
    *,
    procedure_id: str | None = None,
    area: str | None = None,
    visible_to: Person | None = None,
) -> TimelinessReport:
    histories = load_histories(
        store,
        period.start,
        period.end,
        procedure_id=procedure_id,
        area=area,
        visible_to=visible_to,
        reads=TIMELINESS,
    )
    return timeliness(histories, period, procedures)


def out_of_timescale_report(
    store: RecordStore,
    month: Period,
    procedures: Mapping[str, Procedure],
    today: date,
    *,
    procedure_id: str | None = None,
    area: str | None = None,
    visible_to: Person | None = None,
) -> OutOfTimescaleReport:
    as_of = min(month.end, today)
    histories = load_histories(
        store,
        month.start,
        as_of,
        procedure_id=procedure_id,
        area=area,
        visible_to=visible_to,
        reads=OUT_OF_TIMESCALE,
    )
    return out_of_timescale(histories, month, procedures, today)


def capacity_report(
    store: RecordStore,
    procedures: Mapping[str, Procedure],
    today: date,
    *,
    procedure_id: str | None = None,
    area: str | None = None,
    visible_to: Person | None = None,
    weeks: int = WEEKS,
) -> CapacityForecast:
    histories = load_histories(
        store,
        today - SETTLED_WITHIN,
        today + timedelta(weeks=weeks),
        procedure_id=procedure_id,
        area=area,
        visible_to=visible_to,
        reads=CAPACITY,
    )
    return capacity_forecast(histories, procedures, today, weeks)


def audit_sample_report(
    store: RecordStore,
    window: Period,
    *,
    size: int = DEFAULT_SAMPLE_SIZE,
    procedure_id: str | None = None,
    area: str | None = None,
    visible_to: Person | None = None,
) -> AuditSample:
    histories = load_histories(
        store,
        window.start,
        window.end,
        procedure_id=procedure_id,
        area=area,
        visible_to=visible_to,
        reads=AUDIT,
    )
    return audit_sample(histories, window, size)


def census_report(
    store: RecordStore,
    year: Period,
    *,
    procedure_id: str | None = None,
    visible_to: Person | None = None,
) -> CensusExtract:
    histories = load_histories(
        store, year.start, year.end, procedure_id=procedure_id, visible_to=visible_to, reads=CENSUS
    )
    earlier = earlier_plan_starts(store, year, procedure_id=procedure_id)
    return census_extract(histories, year, earlier)


def record_audit_review(
    store: RecordStore,
    case_id: str,
    reviewer: Decider,
    reviewed_on: date,
    finding: str,
    now: datetime,
) -> bool:
    """Record a review of the case's strategy-to-ICPC decision; False if it was already."""
    event, key = audit_review(reviewer, reviewed_on, finding, now)
    return store.append_review_event(case_id, event, key)


def history_of(store: RecordStore, case_id: str) -> CaseHistory | None:
    """One case's history (its whole record), for a page or a test."""
    summary = store.summary(case_id)
    if summary is None:
        return None
    streams: dict[Stream, list[RecordedEvent]] = {stream: [] for stream in Stream}
    for stream, recorded in store.timeline(case_id):
        streams[stream].append(recorded)
    return CaseHistory.from_summary(summary, streams)


__all__ = [
    "audit_sample_report",
    "capacity_report",
    "census_report",
    "earlier_plan_starts",
    "history_of",
    "load_histories",
    "out_of_timescale_report",
    "record_audit_review",
    "timeliness_report",
]
