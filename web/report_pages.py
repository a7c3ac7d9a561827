"""The Reports section, for managers: ``/reports`` and its CSV downloads.

Who may read it (:func:`report_roles`): anyone holding a team manager's role, a senior role
(:data:`domain.scoping.BREAK_GLASS_ROLES`), or a role an installed procedure names for delays
(``approve_delay``, ``reject_delay``, ``delays.request_copy_to``, ``delays.decision_copy_to``).
Every figure is of the cases the reader may see (``visible_to=person``: a team manager sees
their team's, an area's head of service their area's, service-wide people all).

One period drives the page, as on the command line (``--month``, ``--quarter``, ``--year`` or
``--from``/``--to``; by default the twelve months to the end of last month): the KPI by month
in it (chart, table, CSV), the out-of-timescale lists of its last month, the audit sample of
that month and the one before, and the census extract of the census year it ends in; the
capacity forecast is always the next four weeks. Bad input is refused in the command line's
words (:class:`domain.reports.PeriodError`). Each report's build is timed
(``icpc_report_seconds``); the charts are :mod:`web.report_charts`.

Every read is audited (``read_report``, naming the report and what was asked): the page, each
CSV download, and each report over the API (:mod:`web.api_reports`, which reads through
:func:`check_reader`, :func:`choose` and :func:`build_report` here), and so is a refusal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

from domain.calendar import LONDON
from domain.people import Person
from domain.procedure import Procedure
from domain.reports import (
    NATIONAL_PERCENT_WITHIN_15,
    CapacityForecast,
    Period,
    PeriodError,
    TimelinessReport,
    check_period,
)
from domain.reports.audit import DEFAULT_SAMPLE_SIZE
from domain.reports.capacity import WEEKS
from domain.reports.out_of_timescale import ICPC_COLUMNS, RCPC_COLUMNS
from domain.reports.tables import csv_text
from domain.scoping import BREAK_GLASS_ROLES, TEAM_MANAGER
from domain.vocabulary import DecisionKind
from records import reports_query as reports
from records.audit import Action, AuditEntry, Channel, Outcome
from records.store import RecordStore
from web.dependencies import address, render, require_user, services
from web.metrics import observe_report
from web.problems import Problem
from web.report_charts import Bar, bar_chart

router = APIRouter()
T = TypeVar("T")

FIELD_IDS = {
    "period": "f-month",
    "month": "f-month",
    "quarter": "f-quarter",
    "year": "f-year",
    "from": "f-from",
    "to": "f-to",
    "procedure": "f-procedure",
}
DOWNLOADS = (
    "kpi-by-month",
    "timeliness",
    "capacity",
    "out-of-timescale-icpc",
    "out-of-timescale-rcpc",
    "audit-sample",
    "census",
)
KPI_COLUMNS = ["month", "label", "held", "within_15", "percent_within_15"]


def report_roles(procedures: Mapping[str, Procedure]) -> frozenset[str]:
    """The roles that open the Reports section (see the module's docstring)."""
    roles = {TEAM_MANAGER, *BREAK_GLASS_ROLES}
    for procedure in procedures.values():
        roles.update(procedure.roles_for(DecisionKind.APPROVE_DELAY))
        roles.update(procedure.roles_for(DecisionKind.REJECT_DELAY))
        roles.update(procedure.delays.request_copy_to)
        roles.update(procedure.delays.decision_copy_to)
    return frozenset(roles)


def reads_reports(user: Person | None, roles: frozenset[str]) -> bool:
    return user is not None and user.active and bool(user.roles & roles)


def install(app: FastAPI) -> None:
    """The router, and ``reads_reports(user)`` for the navigation."""
    web = app.state.web
    roles = report_roles(web.procedures)
    app.state.report_roles = roles
    web.renderer.templates.env.globals["reads_reports"] = lambda user: reads_reports(user, roles)
    app.include_router(router)


def reader_role(request: Request, person: Person) -> str | None:
    """The role the person reads the reports in (the first they hold that opens them)."""
    held = sorted(person.roles & request.app.state.report_roles)
    return held[0] if held else None


async def audit_read(
    request: Request,
    person: Person,
    report: str,
    asked: Mapping[str, object],
    *,
    channel: Channel = Channel.WEB,
    refused: str = "",
) -> None:
    """The audit row of one read of a report (or its refusal): which report, and what was
    asked of it (the query's parameters, never a figure of it)."""
    given = " ".join(f"{k}={v}" for k, v in sorted(asked.items()) if v not in (None, ""))
    entry = AuditEntry(
        action=Action.READ_REPORT,
        outcome=Outcome.REFUSED if refused else Outcome.OK,
        channel=channel,
        actor=person.id,
        actor_role=reader_role(request, person),
        address=address(request),
        detail=" ".join(filter(None, [report, given])) + (f": {refused}" if refused else ""),
    )
    await services(request).accounts.run(lambda accounts: accounts.audit(entry))


async def check_reader(
    request: Request, person: Person, report: str, channel: Channel = Channel.WEB
) -> Person:
    """The person, if they may read the reports; else a 403, audited."""
    if not reads_reports(person, request.app.state.report_roles):
        await audit_read(
            request, person, report, {}, channel=channel, refused="no role that reads reports"
        )
        raise Problem(
            403,
            "You cannot read the reports",
            "The reports are for managers: team managers, heads of service and the managers"
            " who approve delays.",
        )
    return person


async def require_manager(request: Request) -> Person:
    return await check_reader(request, require_user(request), request.url.path)


Manager = Annotated[Person, Depends(require_manager)]


def today() -> date:
    return datetime.now(LONDON).date()


def last_month(day: date) -> Period:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return Period.month(f"{year:04d}-{month:02d}")


def months_back(month: Period, count: int) -> Period:
    start = month.start
    for _ in range(count - 1):
        start = last_month(start).start
    return Period.between(start, month.end, f"{start:%B %Y} to {month.end:%B %Y}")


@dataclass
class Choice:
    """What the query asks for, checked; ``errors`` by field, in the command line's words."""

    values: dict[str, str] = field(default_factory=dict)
    period: Period | None = None
    procedure: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def month(self) -> Period:
        """The lists' month: the period's last whole month (or the one under way)."""
        assert self.period is not None
        end = self.period.end
        return Period.month(f"{end.year:04d}-{end.month:02d}")  # %Y: year 1 is "1", not "0001"

    @property
    def audit_window(self) -> Period:
        month = self.month
        before = last_month(month.start)
        return Period.between(before.start, month.end, f"{before.label} and {month.label}")

    @property
    def census_year(self) -> Period:
        assert self.period is not None
        end = self.period.end
        return Period.year_to_march(end.year if end.month <= 3 else end.year + 1)

    def query(self) -> str:
        return urlencode({k: v for k, v in self.values.items() if v})


def _day(text: str, name: str) -> date:
    if not text.strip():
        raise PeriodError(f"{name} is empty: give a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{name} '{text}' is not a date (YYYY-MM-DD)") from None


def choose(params: Mapping[str, str], procedures: Mapping[str, Procedure], now: date) -> Choice:
    keys = ("month", "quarter", "year", "from", "to", "procedure")
    values = {k: params.get(k, "").strip()[:40] for k in keys}
    choice = Choice(values=values)
    wanted = values["procedure"]
    if wanted:
        if wanted in procedures:
            choice.procedure = wanted
        else:
            known = ", ".join(sorted(procedures))
            choice.errors["procedure"] = f"unknown procedure '{wanted}' (installed: {known})"
    given = [n for n in ("month", "quarter", "year") if values[n]]
    if "from" in params or "to" in params:
        given.append("from")
    try:
        if len(given) > 1:
            named = " and ".join("--from/--to" if n == "from" else f"--{n}" for n in given)
            raise PeriodError(f"give one period, not {named}")
        if values["month"]:
            period = Period.month(values["month"])
        elif values["quarter"]:
            period = Period.quarter(values["quarter"])
        elif values["year"]:
            if not values["year"].isdigit():
                raise PeriodError(f"'{values['year']}' is not a year (YYYY)")
            period = Period.year_to_march(int(values["year"]))
        elif given:
            period = Period.between(_day(values["from"], "from"), _day(values["to"], "to"))
        else:
            period = months_back(last_month(now), 12)
        check_period(period, now)
        choice.period = period
        # The periods the reports derive from it must be countable too (a --to in 2100 has no
        # census year): refused here, in words, not later as an error page.
        try:
            _derived = (choice.month, choice.audit_window, choice.census_year)
        except PeriodError:
            choice.period = None
            raise
    except PeriodError as error:
        name = given[0] if len(given) == 1 else "period"
        if "--to" in str(error) or str(error).startswith("to "):
            name = "to"
        choice.errors[name] = str(error)
    return choice


def _timed(name: str, build: Callable[[], T]) -> T:
    started = time.perf_counter()
    try:
        return build()
    finally:
        observe_report(name, time.perf_counter() - started)


def build_report(
    store: RecordStore,
    name: str,
    choice: Choice,
    procedures: Mapping[str, Procedure],
    who: Person,
    now: date,
    *,
    area: str | None = None,
    weeks: int = WEEKS,
    size: int = DEFAULT_SAMPLE_SIZE,
    window: Period | None = None,
) -> Any:
    """One report (:data:`REPORTS`) of the cases ``who`` may see, timed: the one place the page,
    its downloads and the API build a report for a reader. ``area`` narrows it further;
    ``window``: the audit sample's, when not the choice's month and the one before."""
    assert choice.period is not None
    common: dict[str, Any] = {"procedure_id": choice.procedure, "visible_to": who}
    period, month = choice.period, choice.month
    if name == "timeliness":
        return _timed(
            name, lambda: reports.timeliness_report(store, period, procedures, area=area, **common)
        )
    if name == "capacity":
        return _timed(
            name,
            lambda: reports.capacity_report(
                store, procedures, now, area=area, weeks=weeks, **common
            ),
        )
    if name == "out-of-timescale":
        return _timed(
            name,
            lambda: reports.out_of_timescale_report(
                store, month, procedures, now, area=area, **common
            ),
        )
    if name == "audit-sample":
        sample_window = window or choice.audit_window
        return _timed(
            name,
            lambda: reports.audit_sample_report(
                store, sample_window, size=size, area=area, **common
            ),
        )
    if name == "census":
        year = choice.census_year
        return _timed(name, lambda: reports.census_report(store, year, **common))
    raise ValueError(f"no report {name!r}")


REPORTS = ("timeliness", "out-of-timescale", "capacity", "audit-sample", "census")


@dataclass
class Built:
    kpi: TimelinessReport
    capacity: CapacityForecast
    late: Any  # OutOfTimescaleReport
    audit: Any  # AuditSample


def _build(
    store: RecordStore,
    choice: Choice,
    procedures: Mapping[str, Procedure],
    person: Person,
    now: date,
) -> Built:
    def report(name: str) -> Any:
        return build_report(store, name, choice, procedures, person, now)

    return Built(
        kpi=report("timeliness"),
        capacity=report("capacity"),
        late=report("out-of-timescale"),
        audit=report("audit-sample"),
    )


def kpi_chart(report: TimelinessReport) -> Any:
    bars = [
        Bar(label=f"{date.fromisoformat(m.month + '-01'):%b %y}", value=m.percent_within_15)
        for m in report.icpc_by_month
    ]
    said = "; ".join(
        f"{m.label}: {'no ICPC held' if m.percent_within_15 is None else f'{m.percent_within_15:.1f}%'}"
        f" ({m.within_15} of {m.held})"
        for m in report.icpc_by_month
    )
    national = report.national_percent_within_15
    return bar_chart(
        "chart-kpi",
        f"ICPCs held within 15 working days, by month, {report.period.label}",
        f"Percentage of ICPCs held within 15 working days of the strategy discussion, each"
        f" month, against England's rate of {national:.1f}%. {said}.",
        bars,
        top=100.0,
        unit="%",
        reference=(national, f"England 2024-25, {national:.1f}%"),
    )


def capacity_chart(forecast: CapacityForecast) -> Any:
    bars = [
        Bar(label=f"{w.week_start.day} {w.week_start:%b}", value=w.expected, limit=w.capacity)
        for w in forecast.total
    ]
    said = "; ".join(
        f"week of {w.week_start:%-d %B}: {w.expected:.1f} expected"
        + ("" if w.capacity is None else f", capacity {w.capacity}")
        for w in forecast.total
    )
    declared = any(w.capacity is not None for w in forecast.total)
    return bar_chart(
        "chart-capacity",
        f"Conferences expected each week from {forecast.as_of:%-d %B %Y}",
        f"Conferences expected per week (booked, and ICPCs weighted by likelihood)"
        f"{', against capacity' if declared else '; no capacity is declared'}. {said}.",
        bars,
        limit_label="capacity" if declared else "",
    )


@router.get("/reports")
async def reports_page(request: Request, manager: Manager) -> Response:
    web = services(request)
    now = today()
    choice = choose(request.query_params, web.procedures, now)
    built: Built | None = None
    refused = "; ".join(choice.errors.values())
    await audit_read(request, manager, "reports page", choice.values, refused=refused)
    if not choice.errors:
        built = await web.records.read(
            lambda store: _build(store, choice, web.procedures, manager, now)
        )
    return render(
        request,
        "reports.html",
        400 if choice.errors else 200,
        active="reports",
        choice=choice,
        errors=choice.errors,
        field_ids=FIELD_IDS,
        built=built,
        kpi_chart=kpi_chart(built.kpi) if built else None,
        capacity_chart=capacity_chart(built.capacity) if built else None,
        national=NATIONAL_PERCENT_WITHIN_15,
        procedures=sorted(web.procedures.values(), key=lambda p: p.title),
        icpc_columns=ICPC_COLUMNS,
        rcpc_columns=RCPC_COLUMNS,
        downloads={name: f"/reports/{name}.csv?{choice.query()}" for name in DOWNLOADS},
        today=now,
    )


def _csv(store: RecordStore, name: str, choice: Choice, web: Any, who: Person, now: date) -> str:
    procedures: Mapping[str, Procedure] = web.procedures
    if name == "kpi-by-month":
        report = build_report(store, "timeliness", choice, procedures, who, now)
        return csv_text(KPI_COLUMNS, (m.model_dump() for m in report.icpc_by_month))
    if name.startswith("out-of-timescale-"):
        late = build_report(store, "out-of-timescale", choice, procedures, who, now)
        return str(late.icpc_csv() if name.endswith("icpc") else late.rcpc_csv())
    return str(build_report(store, name, choice, procedures, who, now).to_csv())


@router.get("/reports/{name}.csv")
async def report_csv(request: Request, name: str, manager: Manager) -> Response:
    web = services(request)
    if name not in DOWNLOADS:
        raise Problem(404, "Page not found", "There is no such report to download.")
    now = today()
    choice = choose(request.query_params, web.procedures, now)
    refused = "; ".join(choice.errors.values())
    await audit_read(request, manager, f"{name}.csv", choice.values, refused=refused)
    if choice.errors:
        raise Problem(400, "The report cannot be made", refused)
    text = await web.records.read(lambda store: _csv(store, name, choice, web, manager, now))
    filename = _filename(name, choice)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _filename(name: str, choice: Choice) -> str:
    assert choice.period is not None
    if name.startswith("out-of-timescale"):
        return f"{name}-{choice.month.start:%Y-%m}.csv"
    if name == "audit-sample":
        window = choice.audit_window
        return f"{name}-{window.start:%Y-%m}-to-{window.end:%Y-%m}.csv"
    if name == "census":
        return f"census-{choice.census_year.end.year}.csv"
    if name == "capacity":
        return f"capacity-{today():%Y-%m-%d}.csv"
    return f"{name}-{choice.period.start}-to-{choice.period.end}.csv"
