"""The record's side of the reports, on SQLite and PostgreSQL: the histories its two queries
load give the same reports as the cases themselves, and an audit review is recorded once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta

import pytest

from domain.calendar import london_instant
from domain.case_record import CaseSummary, RecordBatch, RecordedEvent, Stream
from domain.decisions import Decider
from domain.reports import (
    CaseHistory,
    Period,
    audit_sample,
    capacity_forecast,
    census_extract,
    out_of_timescale,
    timeliness,
)
from procedures import load_all
from records import reports_query as reports
from records.database import upgrade
from records.store import RecordStore
from simulation.year import Simulation, simulate

PROCEDURES = load_all()
AS_OF = london_instant(date(2026, 11, 25), time(18))
TODAY = AS_OF.date()


@pytest.fixture(scope="module")
def small_year() -> Simulation:
    """A smaller year over two procedures, so the whole loads in a moment on both databases."""
    procedures = [PROCEDURES["bct-management-note"], PROCEDURES["man13-qarss"]]
    return simulate(240, 2026, 3, procedures, AS_OF)


@pytest.fixture
def store(database_url: str, small_year: Simulation) -> Iterator[RecordStore]:
    upgrade(database_url)
    with RecordStore(database_url) as opened:
        assert opened.append_many(small_year.batches) == sum(
            len(b.events) for b in small_year.batches
        )
        yield opened


def in_memory(simulation: Simulation) -> list[CaseHistory]:
    """The cases as the simulation made them, every event of every stream, no database."""
    histories = []
    for case in simulation.cases:
        summary: CaseSummary | None = None
        streams: dict[Stream, list[RecordedEvent]] = {s: [] for s in Stream}
        for batch in case.batches:
            streams[batch.stream] += batch.events
            summary = batch.summary or summary
        assert summary is not None
        histories.append(CaseHistory.from_summary(summary, streams))
    return histories


def test_every_report_from_the_record_equals_the_report_from_the_cases(
    store: RecordStore, small_year: Simulation
) -> None:
    cases = in_memory(small_year)
    for month in ("2026-02", "2026-06", "2026-10", "2026-11"):
        period = Period.month(month)
        assert reports.timeliness_report(store, period, PROCEDURES) == timeliness(
            cases, period, PROCEDURES
        )
        assert reports.out_of_timescale_report(
            store, period, PROCEDURES, TODAY
        ) == out_of_timescale(cases, period, PROCEDURES, TODAY)
    year = Period.between(date(2026, 1, 1), TODAY)
    from_record = reports.timeliness_report(store, year, PROCEDURES)
    assert from_record == timeliness(cases, year, PROCEDURES)
    assert from_record.icpc.held > 100
    assert set(from_record.icpc_by["procedure"]) == {"bct-management-note", "man13-qarss"}
    assert reports.capacity_report(store, PROCEDURES, TODAY) == capacity_forecast(
        cases, PROCEDURES, TODAY
    )
    window = Period.between(date(2026, 9, 1), date(2026, 10, 31))
    assert reports.audit_sample_report(store, window, size=5) == audit_sample(cases, window, 5)
    census = Period.year_to_march(2027)
    assert reports.census_report(store, census) == census_extract(cases, census)


def test_a_procedure_or_an_area_narrows_what_is_loaded(store: RecordStore) -> None:
    period = Period.between(date(2026, 1, 1), TODAY)
    everything = reports.timeliness_report(store, period, PROCEDURES)
    one = reports.timeliness_report(store, period, PROCEDURES, procedure_id="man13-qarss")
    assert one.icpc == everything.icpc_by["procedure"]["man13-qarss"]
    north = reports.timeliness_report(store, period, PROCEDURES, area="north")
    assert north.icpc == everything.icpc_by["area"]["north"]


def test_the_loader_reads_the_events_reports_read_as_recorded(
    store: RecordStore, small_year: Simulation
) -> None:
    loaded = {h.case_id: h for h in reports.load_histories(store, date(2026, 1, 1), TODAY)}
    assert len(loaded) == len(small_year.cases)
    for case in small_year.cases:
        history = loaded[case.case_id]
        assert history.strategy_day == case.strategy_day
        assert history.likelihood == case.script.likelihood.value
        assert (history.area, history.team) == (case.script.area, case.script.team)
        for stream, got in ((Stream.CASE, history.events), (Stream.PLAN, history.plan_events)):
            recorded = [
                e
                for b in case.batches
                if b.stream == stream
                for e in b.events
                if e.event in reports.READ_ALL
            ]
            assert [(e.at, e.event, e.summary, e.reason) for e in got] == [
                (e.at, e.event, e.summary, e.reason) for e in recorded
            ]
            assert [(e.by.user, e.by.role) if e.by else None for e in got] == [
                (e.by.user, e.by.role) if e.by else None for e in recorded
            ]


def test_an_audit_review_is_recorded_once_in_its_own_stream(
    store: RecordStore, small_year: Simulation
) -> None:
    case_id = small_year.cases[0].case_id
    reviewer = Decider(user="hos-north", role="area_head_of_service")
    now = london_instant(TODAY, time(12))
    first = reports.record_audit_review(store, case_id, reviewer, TODAY, "Right call.", now)
    again = reports.record_audit_review(
        store, case_id, reviewer, TODAY, "Right call.", now + timedelta(hours=1)
    )
    other = reports.record_audit_review(store, case_id, reviewer, TODAY, "Second look.", now)
    assert (first, again, other) == (True, False, True)
    reviews = [(s, e) for s, e in store.timeline(case_id) if s == Stream.REVIEW]
    assert [(e.position, e.event, e.reason, e.by) for _, e in reviews] == [
        (0, "audit_review", "Right call.", reviewer),
        (1, "audit_review", "Second look.", reviewer),
    ]
    # The case's own streams are untouched, and the review stream comes last.
    assert [s for s, _ in store.timeline(case_id)][-2:] == [Stream.REVIEW, Stream.REVIEW]
    history = reports.history_of(store, case_id)
    assert history is not None and len(history.review_events) == 2
    with pytest.raises(LookupError, match="no case 'icpc-nowhere'"):
        reports.record_audit_review(store, "icpc-nowhere", reviewer, TODAY, "x", now)
    # A review entry never rewrites the case's summary.
    summary = store.summary(case_id)
    assert summary is not None
    with pytest.raises(ValueError, match="a review entry carries no summary"):
        store.append(RecordBatch(case_id=case_id, stream=Stream.REVIEW, summary=summary))


def test_earlier_plans_are_found_by_case_reference(
    store: RecordStore, small_year: Simulation
) -> None:
    # A child whose plan of this year is their second: the first, in 2024, is in the record.
    child = next(
        c
        for c in small_year.cases
        if c.script.plan and c.held_day and c.held_day >= date(2026, 4, 1)
    ).script.reference
    earlier = london_instant(date(2024, 5, 1), time(10))
    summary = CaseSummary(
        case_id=f"icpc-bct-management-note-{child}-20240410",
        case_reference=child,
        family_reference="SIMF-00001",
        procedure_id="bct-management-note",
        stream=Stream.PLAN,
        stage="ended",
        is_open=False,
        strategy_discussion=earlier - timedelta(days=21),
        icpc_deadline=earlier,
        icpc_held_at=earlier,
        outcome="child_protection_plan",
        closed_at=earlier + timedelta(days=200),
    )
    store.append(RecordBatch(case_id=summary.case_id, stream=Stream.PLAN, summary=summary))
    year = Period.year_to_march(2027)
    found = reports.earlier_plan_starts(store, year)
    # The old plan, and every plan of the year's references that started before the year
    # (the census counts them by case, each once).
    assert found[child] == [(summary.case_id, date(2024, 5, 1))]
    assert all(day < year.start for starts in found.values() for _, day in starts)
    extract = reports.census_report(store, year)
    (row,) = [r for r in extract.rows if r.case_reference == child and r.plan_in_year]
    assert row.NumberOfPreviousCPP == 1
