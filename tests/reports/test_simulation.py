"""A simulated year, whole: about 1,500 strategy discussions of 2026 driven through the
decision rules into a case record (not through Temporal: ``icpc simulate``), and every report,
read from the record, checked against a count made here from what the simulation did.

The counts here use the simulation's own outcome per case (the days it held conferences on,
withdrew, approved delays, held reviews) and the authority's calendar directly; the reports
read the recorded events through the record's query and the reports' own working-day index.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.reports import CaseHistory, Period
from domain.reports.capacity import DEFAULT_WEIGHTS, MIN_SETTLED
from domain.reports.facts import DATED_EVENTS
from domain.reports.history import london_day
from procedures import load_all
from records import reports_query as reports
from records.database import upgrade
from records.store import RecordStore
from simulation.year import SimulatedCase, Simulation
from tests.reports.conftest import AS_OF
from tests.reports.test_facts import snapshot

PROCEDURES = load_all()
CALENDAR = PROCEDURES["bct-management-note"].calendar
TODAY = AS_OF.date()
MONTHS = [f"2026-{m:02d}" for m in range(1, 12)]


@pytest.fixture(scope="module")
def store(
    simulated_year: Simulation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RecordStore]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('simulated')) / 'records.sqlite3'}"
    upgrade(url)
    with RecordStore(url) as opened:
        batches = simulated_year.batches
        for chunk in range(0, len(batches), 1000):
            opened.append_many(batches[chunk : chunk + 1000])
        yield opened


def within(day: date | None, period: Period) -> bool:
    return day is not None and period.start <= day <= period.end


def wd(start: date, end: date) -> int:
    return CALENDAR.working_days_between(start, end)


def test_the_year_has_a_realistic_mix(simulated_year: Simulation) -> None:
    cases = simulated_year.cases
    assert len(cases) == 1500
    held = [c for c in cases if c.held_day]
    withdrawn = [c for c in cases if c.withdrawn_day]
    late = [c for c in held if c.held_day and c.held_day > c.deadline_day]
    assert 800 < len(held) < 1100 and 350 < len(withdrawn) < 650
    assert 0.08 < len(late) / len(held) < 0.3  # about one ICPC in six late, as nationally
    assert sum(len(c.review_days) for c in cases) > 300
    assert any(c.script.stand_down for c in held) and any(c.script.registered_late for c in held)


@pytest.mark.parametrize("month", MONTHS)
def test_timeliness_each_month_matches_the_count(
    store: RecordStore, simulated_year: Simulation, month: str
) -> None:
    period = Period.month(month)
    report = reports.timeliness_report(store, period, PROCEDURES)
    held = [c for c in simulated_year.cases if within(c.held_day, period)]
    days = [wd(c.strategy_day, c.held_day) for c in held if c.held_day]
    assert report.icpc.held == len(held) > 0
    assert report.icpc.within_15 == sum(d <= 15 for d in days)
    assert report.icpc.bands == {
        "0-10": sum(d <= 10 for d in days),
        "11-15": sum(11 <= d <= 15 for d in days),
        "16-20": sum(16 <= d <= 20 for d in days),
        "21+": sum(d >= 21 for d in days),
    }
    assert report.icpc.median_working_days == statistics.median(days)
    late = [c for c, d in zip(held, days, strict=True) if d > 15]
    assert report.icpc.late_with_approved_delay == sum(c.delay_approved for c in late)
    assert report.icpc.late_without_approval == 0  # the rules refuse holding late without one
    assert report.withdrawn == sum(within(c.withdrawn_day, period) for c in simulated_year.cases)
    by_area = Counter(c.script.area for c in held)
    assert {a: f.held for a, f in report.icpc_by["area"].items()} == by_area
    reviews = [
        (n, due, on)
        for c in simulated_year.cases
        for n, due, on in c.review_days
        if within(on, period)
    ]
    assert report.reviews.held == len(reviews)
    assert report.reviews.within_timescale == sum(on <= due for _, due, on in reviews)
    assert report.reviews.first_held == sum(n == 1 for n, _, _ in reviews)
    assert report.unplaced == []


def test_the_year_so_far_adds_the_months_up(store: RecordStore, simulated_year: Simulation) -> None:
    period = Period.between(date(2026, 1, 1), TODAY)
    report = reports.timeliness_report(store, period, PROCEDURES)
    assert report.icpc.held == sum(1 for c in simulated_year.cases if c.held_day)
    assert sum(m.held for m in report.icpc_by_month) == report.icpc.held
    assert 70 < (report.icpc.percent_within_15 or 0) < 95


def late_icpcs(cases: list[SimulatedCase], month: Period, as_of: date) -> set[tuple[str, str]]:
    found = set()
    for c in cases:
        held = c.held_day if c.held_day and c.held_day <= as_of else None
        if held is not None and within(held, month) and held > c.deadline_day:
            found.add((c.script.reference, "held late"))
        gone = c.withdrawn_day is not None and c.withdrawn_day <= as_of
        if held is None and not gone and c.strategy_day <= as_of and as_of > c.deadline_day:
            found.add((c.script.reference, "not held"))
    return found


def late_reviews(
    cases: list[SimulatedCase], month: Period, as_of: date
) -> set[tuple[str, int, str]]:
    found = set()
    for c in cases:
        held = {n: on for n, _, on in c.review_days if on <= as_of}
        ended = c.plan_ended_day is not None and c.plan_ended_day <= as_of
        for n, due in c.review_dues.items():
            if n in held:
                if within(held[n], month) and held[n] > due:
                    found.add((c.script.reference, n, "held late"))
            elif not ended and as_of > due:
                found.add((c.script.reference, n, "not held"))
    return found


@pytest.mark.parametrize("month", ["2026-03", "2026-07", "2026-10", "2026-11"])
def test_the_monthly_lists_match_the_count(
    store: RecordStore, simulated_year: Simulation, month: str
) -> None:
    period = Period.month(month)
    report = reports.out_of_timescale_report(store, period, PROCEDURES, TODAY)
    as_of = min(period.end, TODAY)
    assert report.as_of == as_of
    got = {(r.case_reference, r.status) for r in report.icpc}
    assert got == late_icpcs(simulated_year.cases, period, as_of)
    assert {(r.case_reference, r.review_number, r.status) for r in report.rcpc} == late_reviews(
        simulated_year.cases, period, as_of
    )
    for row in report.icpc:
        if row.status == "held late":  # every late conference needed an approved delay
            assert row.approval == "approved" and row.reason and row.approver
            assert row.working_days_late == wd(row.due, row.held or as_of)
    for row in report.rcpc:
        if row.status == "held late":
            assert row.approval == "approved" and row.reason
    assert report.unplaced == []


def test_the_capacity_forecast_matches_the_count(
    store: RecordStore, simulated_year: Simulation
) -> None:
    forecast = reports.capacity_report(store, PROCEDURES, TODAY)
    first = TODAY - timedelta(days=TODAY.weekday())
    # The weights: of the cases settled in the last 182 days, the share that went to an ICPC.
    settled: dict[str, list[bool]] = {k: [] for k in DEFAULT_WEIGHTS}
    lookback = TODAY - timedelta(days=182)
    for c in simulated_year.cases:
        closed = c.held_day or c.withdrawn_day
        if closed is not None and closed >= lookback:
            settled[c.script.likelihood.value].append(c.held_day is not None)
    weights = {
        k: round(sum(v) / len(v), 3) if len(v) >= MIN_SETTLED else DEFAULT_WEIGHTS[k]
        for k, v in settled.items()
    }
    assert {w.likelihood: w.weight for w in forecast.weights} == weights
    for n, week in enumerate(forecast.total):
        start, end = first + timedelta(weeks=n), first + timedelta(weeks=n, days=6)
        assert week.week_start == start
        booked = sum(
            1
            for c in simulated_year.cases
            if c.held_day is None
            and c.withdrawn_day is None
            and c.booked_day
            and max(start, TODAY) <= c.booked_day <= end
        )
        assert week.icpc_booked == booked
        reviews = sum(
            1
            for c in simulated_year.cases
            if c.review_booked_day and max(start, TODAY) <= c.review_booked_day <= end
        )
        assert week.reviews_booked == reviews
        expected = 0.0
        for c in simulated_year.cases:
            if c.held_day or c.withdrawn_day or c.booked_day or c.strategy_day > TODAY:
                continue
            if max(c.deadline_day, TODAY) <= end and max(c.deadline_day, TODAY) >= start:
                confirmed = c.decided_day is not None
                expected += 1.0 if confirmed else weights[c.script.likelihood.value]
        assert week.icpc_expected == pytest.approx(expected, abs=0.01)
    assert forecast.unplaced == []


def test_the_audit_sample_draws_from_each_areas_decisions(
    store: RecordStore, simulated_year: Simulation
) -> None:
    window = Period.between(date(2026, 9, 1), date(2026, 10, 31))
    sample = reports.audit_sample_report(store, window, size=12)
    population = Counter(
        c.script.area for c in simulated_year.cases if within(c.decided_day, window)
    )
    assert sample.population == population
    assert {a: len(v) for a, v in sample.by_area.items()} == {a: 12 for a in population}
    assert sample == reports.audit_sample_report(store, window, size=12)


def test_the_census_extract_matches_the_count(
    store: RecordStore, simulated_year: Simulation
) -> None:
    year = Period.year_to_march(2027)
    extract = reports.census_report(store, year)
    cases = simulated_year.cases
    held = {c.script.reference for c in cases if within(c.held_day, year)}
    assert {r.case_reference for r in extract.rows if r.DateOfInitialCPC} == held
    not_required = {c.script.reference for c in cases if within(c.withdrawn_day, year)}
    assert {r.case_reference for r in extract.rows if r.ICPCnotRequired} == not_required
    plans = {
        c.script.reference
        for c in cases
        if c.held_day
        and c.script.plan
        and c.held_day <= year.end
        and (c.plan_ended_day is None or c.plan_ended_day >= year.start)
    }
    assert {r.case_reference for r in extract.rows if r.plan_in_year} == plans
    reviews = sum(1 for c in cases for _, _, on in c.review_days if within(on, year))
    assert sum(len(r.CPPreviewDate) for r in extract.rows) == reviews
    assert extract.unplaced == []


def test_the_rules_keep_the_dates_the_facts_read_in_each_decisions_data(store: RecordStore) -> None:
    """The facts read the same from the record's data alone (every dated summary blanked) as
    from the wording alone (the data left out, as on events recorded before the decisions kept
    their dates there): the rules' data and their wording agree, and the data is what is read."""
    histories = reports.load_histories(store, date(2026, 1, 1), TODAY)

    def only(history: CaseHistory, **update: Any) -> CaseHistory:
        def events(stream: Sequence[Any]) -> list[Any]:
            return [e._replace(**update) if e.event in DATED_EVENTS else e for e in stream]

        return dataclasses.replace(
            history,
            icpc_held_at=None,  # the hold_conference decision alone says when
            events=events(history.events),
            plan_events=events(history.plan_events),
        )

    kept = Counter[str]()
    for history in histories:
        data, wording = only(history, summary=""), only(history, raw_data=None)
        assert snapshot(data) == snapshot(wording), history.case_id
        assert snapshot(data)[3] == (
            london_day(history.icpc_held_at) if history.icpc_held_at else None
        )
        kept.update(e.event for e in [*history.events, *history.plan_events] if e.data)
    for kind in ("book_conference", "request_delay", "hold_conference", "withdraw_icpc"):
        assert kept[kind] > 10, kind
    for kind in ("review_cycle", "book_review", "hold_review", "request_review_move"):
        assert kept[kind] > 0, kind
