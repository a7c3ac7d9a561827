"""``icpc report``: the management information, read from the case record.

    icpc report timeliness        [PERIOD] [--procedure ID] [--area AREA] [--json | --csv]
    icpc report out-of-timescale  [--month YYYY-MM] [--list icpc|rcpc|both] ...
    icpc report capacity          [--weeks N] ...
    icpc report audit-sample      [--month YYYY-MM | --from D --to D] [--size N] ...
    icpc report census            --year YYYY [--csv | --xml | --json]
    icpc report audit-review      CASE --finding TEXT [--role ROLE] [--date YYYY-MM-DD]

PERIOD is ``--month YYYY-MM``, ``--quarter YYYY-Qn``, ``--year YYYY`` (the year to 31 March
YYYY) or ``--from YYYY-MM-DD --to YYYY-MM-DD``. The figures are the pure functions of
:mod:`domain.reports` over what ``records.reports_query`` loads; this face parses, refuses bad
input in one line (exit 2), and prints. ``audit-review`` acts as the person whose token it is
given (:mod:`starters.operator`), as ``icpc decide`` does.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from domain.calendar import LONDON
from domain.reports import Period, PeriodError, check_period
from domain.reports.tables import text_table
from starters.cli import CommandError

T = TypeVar("T")

if TYPE_CHECKING:
    from domain.procedure import Procedure
    from domain.reports import (
        AuditSample,
        CapacityForecast,
        CensusExtract,
        OutOfTimescaleReport,
        TimelinessReport,
    )
    from records.store import RecordStore
    from starters.operator import Acting


def add_parser(subparsers: Any) -> None:
    report = subparsers.add_parser(
        "report", help="management information: timeliness, late lists, capacity, audit, census"
    )
    kinds = report.add_subparsers(dest="report", required=True, metavar="REPORT")

    p = kinds.add_parser("timeliness", help="ICPCs within 15 working days, reviews in time")
    _period_arguments(p)
    _filters(p)
    _formats(p)
    p.set_defaults(handler=run_timeliness)

    p = kinds.add_parser(
        "out-of-timescale", help="the month's late ICPCs and review conferences, with reasons"
    )
    p.add_argument("--month", metavar="YYYY-MM", help="default: last month")
    p.add_argument("--list", choices=["icpc", "rcpc", "both"], default="both")
    _filters(p)
    _formats(p)
    p.set_defaults(handler=run_out_of_timescale)

    p = kinds.add_parser(
        "send-monthly",
        help="email a month's out-of-timescale lists to each area's managers now (a re-run"
        " sends nothing twice)",
    )
    p.add_argument("--month", metavar="YYYY-MM", help="default: last month")
    p.add_argument("--task-queue", default=None, help="the worker's task queue (icpc-cases)")
    p.set_defaults(handler=run_send_monthly)

    p = kinds.add_parser("capacity", help="conferences expected per week, against capacity")
    p.add_argument("--weeks", type=int, default=4, help="how many weeks ahead (default 4)")
    _filters(p)
    _formats(p)
    p.set_defaults(handler=run_capacity)

    p = kinds.add_parser(
        "audit-sample", help="a reproducible sample of strategy-to-ICPC decisions per area"
    )
    p.add_argument("--month", metavar="YYYY-MM", help="the window is this month and the one before")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD")
    p.add_argument("--size", type=int, default=10, help="decisions drawn per area (default 10)")
    _filters(p)
    _formats(p)
    p.set_defaults(handler=run_audit_sample)

    p = kinds.add_parser("census", help="children in need census: section 47 and plan items")
    p.add_argument("--year", type=int, required=True, help="the census year ending 31 March")
    p.add_argument("--procedure", metavar="ID")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true")
    shape.add_argument("--xml", action="store_true", help="the census groups as an XML fragment")
    shape.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_census)

    p = kinds.add_parser(
        "audit-review", help="record a Head of Service's review of a case's decision"
    )
    p.add_argument("case", help="the case reference (or the case's id)")
    p.add_argument("--finding", required=True, help="what the review found")
    p.add_argument("--role", help="the role you review in (default: your one role on the case)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the day of the review (default today)")
    from starters import operator

    operator.add_token_argument(p)
    p.set_defaults(handler=run_audit_review)


def _period_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--month", metavar="YYYY-MM")
    p.add_argument("--quarter", metavar="YYYY-Qn")
    p.add_argument("--year", type=int, metavar="YYYY", help="the year to 31 March YYYY")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--procedure", metavar="ID")
    p.add_argument("--area")


def _formats(p: argparse.ArgumentParser) -> None:
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true")
    shape.add_argument("--csv", action="store_true")


# --- what every report shares ---------------------------------------------------------------


def today() -> date:
    return datetime.now(LONDON).date()


def _day(text: str, flag: str) -> date:
    if not text.strip():
        raise CommandError(f"{flag} is empty: give a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{flag} '{text}' is not a date (YYYY-MM-DD)") from None


def period_from(args: argparse.Namespace, default: Period | None = None) -> Period:
    """The one period the flags name, refused in one line if none, several, or ahead of today."""
    given = [
        name
        for name, value in (
            ("--month", getattr(args, "month", None)),
            ("--quarter", getattr(args, "quarter", None)),
            ("--year", getattr(args, "year", None)),
            ("--from/--to", args.start if args.start is not None else args.end),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise CommandError(f"give one period, not {' and '.join(given)}")
    try:
        if args.month is not None:
            period = Period.month(args.month)
        elif getattr(args, "quarter", None) is not None:
            period = Period.quarter(args.quarter)
        elif getattr(args, "year", None) is not None:
            period = Period.year_to_march(args.year)
        elif args.start is not None or args.end is not None:
            if args.start is None or args.end is None:
                raise CommandError("give both --from and --to")
            period = Period.between(_day(args.start, "--from"), _day(args.end, "--to"))
        elif default is not None:
            period = default
        else:
            raise CommandError("give a period: --month, --quarter, --year, or --from and --to")
        check_period(period, today())
    except PeriodError as error:
        raise CommandError(str(error)) from None
    return period


def procedures(args: argparse.Namespace) -> dict[str, Procedure]:
    from procedures import load_all

    installed = load_all()
    wanted = getattr(args, "procedure", None)
    if wanted is not None and wanted not in installed:
        known = ", ".join(sorted(installed))
        raise CommandError(f"unknown procedure '{wanted}' (installed: {known})")
    return installed


def timed(name: str, build: Callable[[], T]) -> T:
    """Build a report, timed as ``icpc_report_seconds{report}`` (``workers.metrics``: nothing
    when this process serves no metrics)."""
    from workers.metrics import observe_report

    started = time.perf_counter()
    try:
        return build()
    finally:
        observe_report(name, time.perf_counter() - started)


def _print_json(report: Any) -> None:
    print(json.dumps(report.model_dump(mode="json"), indent=2))


def _not_placed(report: Any) -> str:
    counts = report.unplaced_by_reason
    if not counts:
        return "Cases not placed: none."
    lines = [f"Cases not placed: {len(report.unplaced)} (data-quality exceptions, listed):"]
    lines += [f"  {count} × {reason}" for reason, count in counts.items()]
    lines += [f"  - {u.case_reference}: {u.reason}" for u in report.unplaced]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


# --- timeliness -------------------------------------------------------------------------------


def run_timeliness(args: argparse.Namespace) -> int:
    from records.reports_query import timeliness_report
    from starters import session

    installed = procedures(args)
    period = period_from(args)
    store = session.record()
    report = timed(
        "timeliness",
        lambda: timeliness_report(
            store, period, installed, procedure_id=args.procedure, area=args.area
        ),
    )
    if args.json:
        _print_json(report)
    elif args.csv:
        print(report.to_csv(), end="")
    else:
        print(render_timeliness(report))
    return 0


def render_timeliness(report: TimelinessReport) -> str:
    icpc, reviews = report.icpc, report.reviews
    median = "—" if icpc.median_working_days is None else f"{icpc.median_working_days:g}"
    bands = ", ".join(f"{label}: {count}" for label, count in icpc.bands.items())
    lines = [
        f"Timeliness, {report.period.label}: {report.period.start} to {report.period.end}",
        "",
        f"ICPCs held: {icpc.held}; within 15 working days: {icpc.within_15}"
        f" ({_percent(icpc.percent_within_15)}; England 2024-25:"
        f" {report.national_percent_within_15:.1f}%)",
        f"Median: {median} working days from the strategy discussion (day 0)."
        f" DfE bands, in working days: {bands}",
        f"Late with an approved delay: {icpc.late_with_approved_delay};"
        f" late without one: {icpc.late_without_approval};"
        f" withdrawn (not needed, not late): {report.withdrawn}",
        f"Review conferences held: {reviews.held}; within timescale: {reviews.within_timescale}"
        f" ({_percent(reviews.percent_within_timescale)}); first reviews"
        f" {reviews.first_within}/{reviews.first_held}, later {reviews.later_within}/"
        f"{reviews.later_held}",
        "",
    ]
    columns = ["scope", "value", "icpc_held", "icpc_within_15", "icpc_percent_within_15"]
    columns += ["median_working_days", "reviews_held", "reviews_within_timescale"]
    lines += [text_table(columns, report.rows()), "", _not_placed(report)]
    return "\n".join(lines)


# --- out of timescale ---------------------------------------------------------------------------


def last_month(day: date) -> Period:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return Period.month(f"{year:04d}-{month:02d}")


def run_out_of_timescale(args: argparse.Namespace) -> int:
    from records.reports_query import out_of_timescale_report
    from starters import session

    installed = procedures(args)
    args.start = args.end = None
    month = period_from(args, default=last_month(today()))
    store = session.record()
    report = timed(
        "out-of-timescale",
        lambda: out_of_timescale_report(
            store, month, installed, today(), procedure_id=args.procedure, area=args.area
        ),
    )
    if args.json:
        _print_json(report)
    elif args.csv:
        if args.list == "both":
            raise CommandError("--csv writes one list: give --list icpc or --list rcpc")
        print(report.icpc_csv() if args.list == "icpc" else report.rcpc_csv(), end="")
    else:
        print(render_out_of_timescale(report, args.list))
    return 0


def run_send_monthly(args: argparse.Namespace) -> int:
    """Start the monthly-reports workflow with a month (what the schedule does on the first
    working day, without the month) and wait for it: the same activity, the same ledger."""
    import uuid

    from activities.monthly_reports import MonthlyReportsInput, MonthlyReportsResult
    from contracts.case import TASK_QUEUE
    from starters import session
    from workers.schedules import MONTHLY_REPORTS_WORKFLOW_ID
    from workflows.monthly_reports import MONTHLY_REPORTS_WORKFLOW

    args.start = args.end = None
    month = period_from(args, default=last_month(today()))
    label = f"{month.start:%Y-%m}"

    async def send() -> MonthlyReportsResult:
        client = await session.client()
        result: MonthlyReportsResult = await client.execute_workflow(
            MONTHLY_REPORTS_WORKFLOW,
            MonthlyReportsInput(month=label),
            id=f"{MONTHLY_REPORTS_WORKFLOW_ID}-{label}-by-hand-{uuid.uuid4().hex[:8]}",
            task_queue=args.task_queue or TASK_QUEUE,
            result_type=MonthlyReportsResult,
        )
        return result

    result = session.run(send())
    print(
        f"{result.month}: {result.sent} emails sent to the managers of {result.areas} areas,"
        f" {result.skipped} already sent before (not sent again),"
        f" {result.no_recipient} areas with nobody to send to"
    )
    return 0


LIST_COLUMNS = ["case_reference", "area", "due", "held", "status", "working_days_late"]
LIST_COLUMNS += ["reason", "approval", "approver", "approver_comment"]


def render_out_of_timescale(report: OutOfTimescaleReport, which: str = "both") -> str:
    lines = [f"Out of timescale, {report.month.label} (as at {report.as_of})", ""]
    if which in ("icpc", "both"):
        rows = [r.model_dump() for r in report.icpc]
        lines += [f"ICPCs: {len(rows)}", text_table(LIST_COLUMNS, rows) if rows else "  none", ""]
    if which in ("rcpc", "both"):
        rows = [r.model_dump() for r in report.rcpc]
        columns = [*LIST_COLUMNS[:1], "review_number", *LIST_COLUMNS[1:]]
        lines += [
            f"Review conferences (RCPC): {len(rows)}",
            text_table(columns, rows) if rows else "  none",
            "",
        ]
    return "\n".join([*lines, _not_placed(report)])


# --- capacity -----------------------------------------------------------------------------------


def run_capacity(args: argparse.Namespace) -> int:
    from records.reports_query import capacity_report
    from starters import session

    installed = procedures(args)
    if not 1 <= args.weeks <= 26:
        raise CommandError("--weeks must be 1 to 26")
    store = session.record()
    forecast = timed(
        "capacity",
        lambda: capacity_report(
            store, installed, today(), procedure_id=args.procedure, area=args.area, weeks=args.weeks
        ),
    )
    if args.json:
        _print_json(forecast)
    elif args.csv:
        print(forecast.to_csv(), end="")
    else:
        print(render_capacity(forecast))
    return 0


def render_capacity(forecast: CapacityForecast) -> str:
    columns = ["procedure", "week_start", "icpc_booked", "icpc_expected", "reviews_booked"]
    columns += ["reviews_due", "expected", "capacity", "headroom"]
    weights = "; ".join(f"{w.likelihood} {w.weight:g} ({w.source})" for w in forecast.weights)
    return "\n".join(
        [
            f"Conferences expected per week, from {forecast.as_of}",
            f"Likelihood weights for ICPCs not yet confirmed: {weights}",
            "Capacity: a procedure's [capacity] (the lower of chairs and rooms a week);"
            " blank where none is declared.",
            "",
            text_table(columns, forecast.rows()),
            "",
            _not_placed(forecast),
        ]
    )


# --- the audit sample and its reviews ---------------------------------------------------------


def run_audit_sample(args: argparse.Namespace) -> int:
    from records.reports_query import audit_sample_report
    from starters import session

    procedures(args)
    if args.size < 1:
        raise CommandError("--size must be at least 1")
    if args.month is not None and (args.start is not None or args.end is not None):
        raise CommandError("give one window: --month, or --from and --to")
    if args.month is not None:
        month = period_from(args)
        before = last_month(month.start)
        window = Period.between(before.start, month.end, f"{before.label} and {month.label}")
    else:
        window = period_from(args, default=_two_months_to(last_month(today())))
    store = session.record()
    sample = timed(
        "audit-sample",
        lambda: audit_sample_report(
            store, window, size=args.size, procedure_id=args.procedure, area=args.area
        ),
    )
    if args.json:
        _print_json(sample)
    elif args.csv:
        print(sample.to_csv(), end="")
    else:
        print(render_audit_sample(sample))
    return 0


def _two_months_to(month: Period) -> Period:
    before = last_month(month.start)
    return Period.between(before.start, month.end, f"{before.label} and {month.label}")


def render_audit_sample(sample: AuditSample) -> str:
    lines = [
        f"Audit sample of strategy-to-ICPC decisions, {sample.window.label}:"
        f" {sample.window.start} to {sample.window.end}, up to {sample.size} per area",
        "",
    ]
    columns = ["case_reference", "decision_words", "decided_at", "decided_by", "reason", "then"]
    for area, drawn in sample.by_area.items():
        lines.append(
            f"{area}: {len(drawn)} of {sample.population[area]} decisions"
            f" (seed '{sample.seeds[area]}')"
        )
        rows = [{**d.model_dump(), "decided_at": d.decided_at.astimezone(LONDON)} for d in drawn]
        lines += [text_table(columns, rows), ""]
    if not sample.by_area:
        lines += ["No decisions in the window.", ""]
    return "\n".join([*lines, _not_placed(sample)])


def run_audit_review(args: argparse.Namespace) -> int:
    from domain.decisions import Decider
    from domain.reports.audit import audit_review
    from records.audit import Action, Outcome
    from records.reports_query import record_audit_review
    from starters import operator

    reviewed_on = _day(args.date, "--date") if args.date is not None else today()
    now = datetime.now(LONDON)
    with operator.acting(args, "report audit-review", Action.DECISION) as acting:
        try:
            case_id = _case_id(acting.record, args.case)
            role = _reviewer_role(acting, case_id, args.role)
            reviewer = Decider(user=acting.person.id, role=role)
            try:
                audit_review(reviewer, reviewed_on, args.finding, now)  # its checks, first
            except ValueError as error:
                raise acting.refuse(
                    Action.DECISION, str(error), role=role, case_id=case_id
                ) from None
        except operator.Refused as refused:  # audited already
            raise CommandError(str(refused)) from None
        written = record_audit_review(
            acting.record, case_id, reviewer, reviewed_on, args.finding, now
        )
        acting.write(
            Action.DECISION,
            Outcome.OK,
            role=role,
            case_id=case_id,
            detail="audit review recorded" if written else "audit review already recorded",
        )
    state = "Recorded" if written else "Already recorded (nothing written again)"
    print(f"{state}: the review of {case_id} by {reviewer.user} ({role}) on {reviewed_on}.")
    return 0


def _case_id(store: RecordStore, case: str) -> str:
    case = case.strip()
    if case.startswith("icpc-"):
        if store.summary(case) is None:
            raise CommandError(f"the case record holds no case '{case}'")
        return case
    found = store.find(case)
    if not found:
        raise CommandError(f"no case with reference '{case}' in the case record")
    if len(found) > 1:
        ids = ", ".join(s.case_id for s in found)
        raise CommandError(f"'{case}' names {len(found)} cases ({ids}): give the case's id")
    return str(found[0].case_id)


def _reviewer_role(acting: Acting, case_id: str, role: str | None) -> str:
    """A role the person holds and the case's procedure names; and they may see the case."""
    from domain.scoping import may_see
    from procedures import load_all
    from records.audit import Action

    scope = acting.record.scope(case_id)
    if scope is None:
        raise CommandError(f"the case record holds no case '{case_id}'")
    verdict = may_see(acting.person, scope)
    if not verdict:
        raise acting.refuse(Action.DECISION, verdict.reason, case_id=case_id)
    procedure = load_all().get(scope.procedure_id)
    named = {r.id for r in procedure.roles} if procedure else set()
    held = sorted(r for r in acting.person.roles if r in named)
    if role is None:
        if len(held) != 1:
            choices = " or ".join(held) or "none of this procedure's roles"
            raise CommandError(f"say which role you review in with --role ({choices})")
        return held[0]
    if role not in held:
        reason = f"You do not hold the role '{role}' on this procedure's cases."
        raise acting.refuse(Action.DECISION, reason, role=role, case_id=case_id)
    return role


# --- the census ---------------------------------------------------------------------------------


def run_census(args: argparse.Namespace) -> int:
    from records.reports_query import census_report
    from starters import session

    procedures(args)
    try:
        year = Period.year_to_march(args.year)
        check_period(year, today())
    except PeriodError as error:
        raise CommandError(str(error)) from None
    store = session.record()
    extract = timed("census", lambda: census_report(store, year, procedure_id=args.procedure))
    if args.json:
        _print_json(extract)
    elif args.xml:
        print(extract.to_xml(), end="")
    elif args.csv:
        print(extract.to_csv(), end="")
    else:
        print(render_census(extract))
    return 0


def render_census(extract: CensusExtract) -> str:
    rows = extract.rows
    lines = [
        f"Children in need census extract, {extract.census_year.label}",
        f"Cases: {len(rows)}; section 47s: {sum(r.section_47_in_year for r in rows)};"
        f" ICPCs held: {sum(1 for r in rows if r.DateOfInitialCPC)};"
        f" ICPC not required: {sum(1 for r in rows if r.ICPCnotRequired)};"
        f" plans: {sum(r.plan_in_year for r in rows)}",
        "Use --csv or --xml for the items (joined to the child's record by case reference).",
        "",
        _not_placed(extract),
    ]
    return "\n".join(lines)
