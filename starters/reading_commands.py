"""``icpc show`` and ``icpc cases``: reading cases, from the case record first.

The record keeps every case's history after Temporal forgets it, so both commands read it; a
case whose workflow still runs adds its milestones and any entries the record has not written
yet. ``icpc cases --query`` still asks Temporal's visibility, for support staff.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from domain.calendar import LONDON
from domain.case_record import CaseSummary, RecordedEvent, Stream, complete_timeline
from domain.case_state import CaseState
from domain.plan_state import PlanState
from starters import session
from starters.cli import CommandError

PAGE_SIZE = 50


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("show", help="print a case's state and timeline")
    p.add_argument("case", help="the case's workflow id or case reference")
    p.add_argument("--plan", action="store_true", help="the child protection plan after the ICPC")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=show)

    p = subparsers.add_parser("cases", help="list cases, soonest deadline first")
    p.add_argument("--status", choices=["open", "closed", "all"], default="open")
    p.add_argument("--reference", help="case references starting with this")
    p.add_argument("--stage")
    p.add_argument("--procedure", metavar="ID")
    p.add_argument("--month", metavar="YYYY-MM", help="of the strategy discussion")
    p.add_argument("--outcome", choices=["child_protection_plan", "no_plan"])
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--page-size", type=int, default=PAGE_SIZE)
    p.add_argument("--query", help="ask Temporal visibility instead (support staff)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cases)


# --- show ---------------------------------------------------------------------------------------


def show(args: argparse.Namespace) -> int:
    stream = Stream.PLAN if args.plan else Stream.CASE
    store = session.record_if_any()

    async def go() -> tuple[str, CaseState | PlanState | None]:
        from temporalio.client import WorkflowQueryFailedError
        from temporalio.service import RPCError, RPCStatusCode

        from contracts.client import find_case_id, read_path

        client = await session.client()
        found = store.find(args.case) if store and not args.case.startswith("icpc-") else []
        case_id = found[0].case_id if found else await find_case_id(client, args.case)
        try:
            return case_id, await read_path(client, case_id, stream)
        except RPCError as error:
            if error.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
                raise CommandError(
                    f"{case_id} did not answer in time: is a worker running (`icpc worker`)?"
                ) from None
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return case_id, None  # deleted after retention: the record holds it
        except WorkflowQueryFailedError as error:  # still being set up, say: its own words
            raise CommandError(f"{case_id}: {_lower_first(error.message)}") from None

    case_id, state = session.run(go())
    summary = store.summary(case_id) if store else None
    recorded = [e for s, e in store.timeline(case_id) if s == stream] if store else []
    timeline = complete_timeline(recorded, state)
    if state is None and not timeline:
        raise CommandError(f"no {stream.value} for '{args.case}' in Temporal or the case record")
    if args.json:
        print(
            json.dumps(
                {
                    "case_id": case_id,
                    "stream": stream.value,
                    "summary": summary.model_dump(mode="json") if summary else None,
                    "timeline": [e.model_dump(mode="json") for e in timeline],
                    "state": state.model_dump(mode="json") if state else None,
                },
                indent=2,
            )
        )
        return 0
    now = datetime.now(LONDON)
    if state is None:
        assert summary is not None or timeline
        print(render_recorded(case_id, summary, timeline))
    else:
        print(RENDERERS[stream](state, now, timeline))
    return 0


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


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
    if args.query:
        return _visibility_cases(args)
    from pydantic import ValidationError

    from records.store import CaseFilter

    try:
        filters = CaseFilter(
            is_open={"open": True, "closed": False, "all": None}[args.status],
            reference=args.reference,
            stage=args.stage,
            procedure_id=args.procedure,
            strategy_month=args.month,
            outcome=args.outcome,
        )
    except ValidationError as error:
        raise CommandError(f"bad filter: {error.errors()[0]['msg']}") from None
    if args.page < 1 or not 1 <= args.page_size <= 1000:
        raise CommandError("--page starts at 1; --page-size is 1 to 1000")
    page = session.record().list_cases(filters, page=args.page, page_size=args.page_size)
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in page.rows], indent=2))
        return 0
    print(f"{'case':<52} {'stage':<26} {'deadline':<17} {'waiting for':<24} late")
    for row in page.rows:
        late = "yes" if row.out_of_timescale else ""
        deadline = _local(row.deadline)[:16] if row.is_open else f"closed {row.closed_reason}"
        failing = "  email failing" if row.email_failing and row.is_open else ""
        print(
            f"{row.case_id:<52} {row.stage:<26} {deadline:<17} {(row.awaiting_role or ''):<24}"
            f" {late:<4}{failing}".rstrip()
        )
    print(f"page {page.page} of {page.pages} ({page.total} case(s))")
    return 0


def _visibility_cases(args: argparse.Namespace) -> int:
    async def go() -> Any:
        from contracts.client import list_cases

        return await list_cases(await session.client(), args.query)

    rows = session.run(go())
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], default=_json_default, indent=2))
        return 0
    for row in rows:
        print(f"{row.case_id:<52} {(row.stage or row.status):<26} {_local(row.deadline)[:16]}")
    return 0


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)
