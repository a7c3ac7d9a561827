"""``icpc report``: the management information, asked of the service (``/api/v1/reports``).

    icpc report timeliness        [PERIOD] [--procedure ID] [--area AREA] [--json | --csv]
    icpc report out-of-timescale  [--month YYYY-MM] [--list icpc|rcpc|both] ...
    icpc report capacity          [--weeks N] ...
    icpc report audit-sample      [--month YYYY-MM | --from D --to D] [--size N] ...
    icpc report census            --year YYYY [--csv | --xml | --json]
    icpc report audit-review      CASE --finding TEXT [--role ROLE] [--date YYYY-MM-DD]
    icpc report send-monthly      [--month YYYY-MM] [--force]

PERIOD is ``--month YYYY-MM``, ``--quarter YYYY-Qn``, ``--year YYYY`` (the year to 31 March
YYYY) or ``--from YYYY-MM-DD --to YYYY-MM-DD``. A client of the service
(:mod:`starters.service_client`): it needs only ``ICPC_SERVICE_URL`` and the person's token,
and every report is of the cases that person may see, audited there as the Reports pages are.
This face refuses what it can tell is wrong in one line (exit 2), asks, and prints; the
service checks again and its refusals are said in one line too. ``--csv`` (and ``--xml``)
write to stdout, or to ``--output FILE`` (0600: the lists name cases).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from domain.calendar import LONDON
from domain.reports import (
    AuditSample,
    CapacityForecast,
    CensusExtract,
    OutOfTimescaleReport,
    Period,
    PeriodError,
    TimelinessReport,
)
from domain.reports.tables import text_table
from starters import operator
from starters.cli import CommandError


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
    p.add_argument(
        "--force",
        action="store_true",
        help="an administrator sending a month that is not over yet",
    )
    operator.add_token_argument(p)
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
    _output(p)
    p.set_defaults(handler=run_census)

    p = kinds.add_parser(
        "audit-review", help="record a Head of Service's review of a case's decision"
    )
    p.add_argument("case", help="the case reference (or the case's id)")
    p.add_argument("--finding", required=True, help="what the review found")
    p.add_argument("--role", help="the role you review in (default: your one role on the case)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the day of the review (default today)")
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
    _output(p)


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", type=Path, metavar="FILE", help="write the CSV (or XML) here (0600)")
    operator.add_token_argument(p)


# --- what every report shares ---------------------------------------------------------------


def _day(text: str, flag: str) -> date:
    if not text.strip():
        raise CommandError(f"{flag} is empty: give a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{flag} '{text}' is not a date (YYYY-MM-DD)") from None


def period_flags(args: argparse.Namespace, *, required: bool = True) -> dict[str, Any]:
    """The one period the flags name, as the service's parameters; refused in one line if
    several, none (when ``required``), or not well formed. Whether it has begun is the
    service's to say (its clock)."""
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
            Period.month(args.month)
            return {"month": args.month}
        if getattr(args, "quarter", None) is not None:
            Period.quarter(args.quarter)
            return {"quarter": args.quarter}
        if getattr(args, "year", None) is not None:
            Period.year_to_march(args.year)
            return {"year": args.year}
        if args.start is not None or args.end is not None:
            if args.start is None or args.end is None:
                raise CommandError("give both --from and --to")
            start, end = _day(args.start, "--from"), _day(args.end, "--to")
            Period.between(start, end)
            return {"from": start.isoformat(), "to": end.isoformat()}
    except PeriodError as error:
        raise CommandError(str(error)) from None
    if required:
        raise CommandError("give a period: --month, --quarter, --year, or --from and --to")
    return {}


def _ask(args: argparse.Namespace, report: str, **params: Any) -> Any:
    """The report's JSON, or its CSV (XML) text when ``format`` asks for it."""
    from starters.service_client import service

    params = {k: v for k, v in params.items() if v is not None}
    params["procedure"] = getattr(args, "procedure", None)
    params["area"] = getattr(args, "area", None)
    answer = service(args).call(
        "GET", f"/reports/{report}", params={k: v for k, v in params.items() if v is not None}
    )
    if params.get("format", "json") == "json":
        return answer.json()
    return answer.text


def _shape(args: argparse.Namespace) -> str:
    if getattr(args, "csv", False):
        return "csv"
    if getattr(args, "xml", False):
        return "xml"
    return "json"


def _write(args: argparse.Namespace, text: str) -> None:
    """CSV or XML to ``--output FILE`` (0600, whatever the file's mode was), else stdout."""
    if args.output is None:
        sys.stdout.write(text)
        return
    try:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as error:
        raise CommandError(f"--output {args.output}: {error.strerror}") from None


def _print_json(report: Any) -> None:
    print(json.dumps(report, indent=2))


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
    shape = _shape(args)
    found = _ask(args, "timeliness", format=shape, **period_flags(args))
    if shape != "json":
        _write(args, found)
    elif args.json:
        _print_json(found)
    else:
        print(render_timeliness(TimelinessReport.model_validate(found)))
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


def run_out_of_timescale(args: argparse.Namespace) -> int:
    shape = _shape(args)
    args.start = args.end = None
    month = period_flags(args, required=False)
    if shape == "csv":
        if args.list == "both":
            raise CommandError("--csv writes one list: give --list icpc or --list rcpc")
        _write(args, _ask(args, "out-of-timescale", format="csv", list=args.list, **month))
        return 0
    found = _ask(args, "out-of-timescale", **month)
    if args.json:
        _print_json(found)
    else:
        print(render_out_of_timescale(OutOfTimescaleReport.model_validate(found), args.list))
    return 0


def run_send_monthly(args: argparse.Namespace) -> int:
    """Ask the service to send a month's lists now (what the schedule does on the first working
    day): the same workflow, the same ledger. A month not yet over only for an administrator,
    with --force; the service decides and audits either way."""
    from starters.service_client import service

    if args.month is not None:
        try:
            Period.month(args.month)
        except PeriodError as error:
            raise CommandError(str(error)) from None
    result = service(args).post("/reports/monthly/send", {"month": args.month, "force": args.force})
    print(
        f"{result['month']}: {result['sent']} emails sent to the managers of {result['areas']}"
        f" areas, {result['skipped']} already sent before (not sent again),"
        f" {result['no_recipient']} areas with nobody to send to"
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
    if not 1 <= args.weeks <= 26:
        raise CommandError("--weeks must be 1 to 26")
    shape = _shape(args)
    found = _ask(args, "capacity", weeks=args.weeks, format=shape)
    if shape != "json":
        _write(args, found)
    elif args.json:
        _print_json(found)
    else:
        print(render_capacity(CapacityForecast.model_validate(found)))
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
    if args.size < 1:
        raise CommandError("--size must be at least 1")
    if args.month is not None and (args.start is not None or args.end is not None):
        raise CommandError("give one window: --month, or --from and --to")
    shape = _shape(args)
    window = period_flags(args, required=False)
    found = _ask(args, "audit-sample", size=args.size, format=shape, **window)
    if shape != "json":
        _write(args, found)
    elif args.json:
        _print_json(found)
    else:
        print(render_audit_sample(AuditSample.model_validate(found)))
    return 0


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
    """Record the review as the person whose token it is; the service checks that they may see
    the case and hold the role, and audits it."""
    from starters.service_client import service

    reviewed_on = _day(args.date, "--date") if args.date is not None else None
    body = {
        "case": args.case,
        "finding": args.finding,
        "role": args.role,
        "date": reviewed_on.isoformat() if reviewed_on else None,
    }
    done = service(args).post("/reports/audit-reviews", body)
    state = "Recorded" if done["recorded"] else "Already recorded (nothing written again)"
    print(
        f"{state}: the review of {done['case_id']} by {done['reviewer']} ({done['role']}) on"
        f" {done['reviewed_on']}."
    )
    return 0


# --- the census ---------------------------------------------------------------------------------


def run_census(args: argparse.Namespace) -> int:
    try:
        Period.year_to_march(args.year)
    except PeriodError as error:
        raise CommandError(str(error)) from None
    shape = _shape(args)
    found = _ask(args, "census", year=args.year, format=shape)
    if shape != "json":
        _write(args, found)
    elif args.json:
        _print_json(found)
    else:
        print(render_census(CensusExtract.model_validate(found)))
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
