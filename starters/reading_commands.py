"""``icpc show`` and ``icpc cases``: reading cases through the service's API, as the person
whose token it is: only what they may see, and every read audited by the service.

``icpc show`` prints what ``GET /api/v1/cases/{case}`` (or ``.../plan``) answers: the path's
state from its workflow, and its whole timeline from the case record (from the record alone
once Temporal has deleted the workflow). ``icpc cases`` pages through ``GET /api/v1/cases``.
Neither needs the database, Temporal or the payload key.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.calendar import LONDON
from domain.case_record import CaseSummary, RecordedEvent, Stream
from domain.case_state import CaseState
from domain.plan_state import PlanState
from starters import operator
from starters.case_commands import case_path, lower_first
from starters.cli import CommandError
from starters.service_client import Refused, service

PAGE_SIZE = 50
SHOWN = ("case_id", "stream", "summary", "timeline", "state")  # what --json prints


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("show", help="print a case's state and timeline")
    p.add_argument("case", help="the case's workflow id or case reference")
    p.add_argument("--plan", action="store_true", help="the child protection plan after the ICPC")
    p.add_argument("--json", action="store_true")
    operator.add_token_argument(p)
    p.set_defaults(handler=show)

    p = subparsers.add_parser("cases", help="list the cases you may see, soonest deadline first")
    p.add_argument("--status", choices=["open", "closed", "all"], default="open")
    p.add_argument("--reference", help="case references starting with this")
    p.add_argument("--stage")
    p.add_argument("--procedure", metavar="ID")
    p.add_argument("--month", metavar="YYYY-MM", help="of the strategy discussion")
    p.add_argument("--outcome", choices=["child_protection_plan", "no_plan"])
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--page-size", type=int, default=PAGE_SIZE)
    p.add_argument("--json", action="store_true")
    operator.add_token_argument(p)
    p.set_defaults(handler=cases)


# --- show ---------------------------------------------------------------------------------------


STATES: dict[Stream, type[CaseState] | type[PlanState]] = {
    Stream.CASE: CaseState,
    Stream.PLAN: PlanState,
}


def show(args: argparse.Namespace) -> int:
    stream = Stream.PLAN if args.plan else Stream.CASE
    try:
        read = service(args).get(case_path(args.case, plan=args.plan))
    except Refused as refused:
        if refused.status == 503:  # not answering, or still being set up: its own words
            raise CommandError(f"{args.case}: {lower_first(refused.detail)}") from None
        raise
    if args.json:
        print(json.dumps({key: read[key] for key in SHOWN}, indent=2))
        return 0
    case_id = read["case_id"]
    summary = CaseSummary.model_validate(read["summary"]) if read["summary"] else None
    timeline = [RecordedEvent.model_validate(e) for e in read["timeline"]]
    now = datetime.now(LONDON)
    if read["state"] is None:
        print(render_recorded(case_id, summary, timeline))
    else:
        state = STATES[stream].model_validate(read["state"])
        print(RENDERERS[stream](state, now, timeline))
    return 0


def _local(at: datetime | None) -> str:
    return at.astimezone(LONDON).strftime("%a %d %b %Y %H:%M") if at else "—"


def render_case(state: CaseState, now: datetime, timeline: list[RecordedEvent]) -> str:
    lines = [
        f"Case {state.case_id}",
        f"Procedure: {state.procedure.title}",
        f"Stage: {state.stage.replace('_', ' ')}",
        f"ICPC deadline: {_local(state.deadline)}",
    ]
    if state.booking:
        lines.append(f"Conference: {_local(state.booking.starts_at)} ({state.booking.format})")
    lines += ["", "Milestones:"]
    for m in state.milestones:
        status = m.status(now).replace("_", " ")
        day = "" if m.planned.working_day is None else f"day {m.planned.working_day:>2}  "
        lines.append(f"  {status:<9} {day}{_local(m.planned.due):<22} {m.planned.title}")
    return "\n".join([*lines, "", "Timeline:", *map(_timeline_line, timeline)])


def render_plan(state: PlanState, now: datetime, timeline: list[RecordedEvent]) -> str:
    lines = [
        f"Plan {state.plan_id}",
        f"Procedure: {state.procedure.title}",
        f"Stage: {state.stage.replace('_', ' ')}",
        f"Next review due by: {_local(state.review_due)}",
    ]
    if state.review_booking:
        lines.append(f"Review booked: {_local(state.review_booking.starts_at)}")
    lines += ["", "Conferences held:"]
    for held in state.conferences:
        late = "  (out of timescale)" if held.out_of_timescale else ""
        lines.append(f"  {held.number:>2}  {_local(held.held_at)}  {held.outcome}{late}")
    lines += ["", "Milestones:"]
    for m in state.milestones:
        status = m.status(now).replace("_", " ")
        lines.append(f"  {status:<9} {_local(m.planned.due):<22} {m.planned.title}")
    return "\n".join([*lines, "", "Timeline:", *map(_timeline_line, timeline)])


def render_recorded(
    case_id: str, summary: CaseSummary | None, timeline: list[RecordedEvent]
) -> str:
    """A case Temporal no longer holds, from the case record alone."""
    lines = [f"Case {case_id} (from the case record; its workflow has been deleted)"]
    if summary is not None:
        lines += [
            f"Procedure: {summary.procedure_id}",
            f"Stage: {summary.stage.replace('_', ' ')}",
            f"ICPC deadline: {_local(summary.icpc_deadline)}",
            f"ICPC held: {_local(summary.icpc_held_at)}",
        ]
        if summary.closed_at:
            lines.append(f"Closed: {_local(summary.closed_at)} ({summary.closed_reason})")
    return "\n".join([*lines, "", "Timeline:", *map(_timeline_line, timeline)])


RENDERERS: dict[Stream, Callable[[Any, datetime, list[RecordedEvent]], str]] = {
    Stream.CASE: render_case,
    Stream.PLAN: render_plan,
}


def _timeline_line(entry: RecordedEvent) -> str:
    who = f"{entry.by.user} ({entry.by.role})" if entry.by else "system"
    line = f"  {_local(entry.at)}  {who:<28} {entry.summary}"
    return line + (f"\n  {'':<17}  {'':<28} reason: {entry.reason}" if entry.reason else "")


# --- cases --------------------------------------------------------------------------------------


def cases(args: argparse.Namespace) -> int:
    if args.page < 1 or not 1 <= args.page_size <= 1000:
        raise CommandError("--page starts at 1; --page-size is 1 to 1000")
    try:
        page = service(args).get(
            "/cases",
            status=args.status,
            q=args.reference,
            stage=args.stage,
            procedure=args.procedure,
            month=args.month,
            outcome=args.outcome,
            page=args.page,
            page_size=args.page_size,
        )
    except Refused as refused:
        if refused.status == 422:
            raise CommandError(f"bad filter: {refused.detail}") from None
        raise
    rows = [CaseSummary.model_validate(row) for row in page["rows"]]
    if args.json:
        print(json.dumps(page["rows"], indent=2))
        return 0
    print(f"{'case':<52} {'stage':<26} {'deadline':<17} {'waiting for':<24} late")
    for row in rows:
        late = "yes" if row.out_of_timescale else ""
        deadline = _local(row.deadline)[:16] if row.is_open else f"closed {row.closed_reason}"
        failing = "  email failing" if row.email_failing and row.is_open else ""
        print(
            f"{row.case_id:<52} {row.stage:<26} {deadline:<17} {(row.awaiting_role or ''):<24}"
            f" {late:<4}{failing}".rstrip()
        )
    print(f"page {page['page']} of {page['pages']} ({page['total']} case(s))")
    return 0
