"""``icpc start``, ``import``, ``decide``, ``show`` and ``cases``: the operators' command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from contracts.paths import path_for
from domain.calendar import LONDON
from domain.case_record import Stream
from domain.case_state import CaseState
from domain.decisions import DecisionBase
from domain.milestones import TimelineEntry
from domain.plan_state import PlanState
from domain.vocabulary import DecisionKind
from procedures import load_all
from starters.case_input import (
    BadRow,
    InputError,
    build_case_start,
    london_datetime,
    pydantic_reason,
    read_batch,
)
from starters.cli import CommandError

T = TypeVar("T")
ROLE_COLUMNS_HELP = "contacts as ROLE_name / ROLE_email / ROLE_user, e.g. social_worker_email"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("start", help="start one case")
    p.add_argument("--procedure", required=True, metavar="ID")
    p.add_argument("--case-reference", required=True)
    p.add_argument("--family-reference", required=True)
    p.add_argument("--strategy-date", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--strategy-time", default="09:00", metavar="HH:MM")
    p.add_argument("--section-47", default="yes", choices=["yes", "no"])
    p.add_argument("--likelihood", default="likely", choices=["likely", "possible", "unlikely"])
    p.add_argument("--previous-plan-ended", default="", metavar="YYYY-MM-DD")
    p.add_argument(
        "--contact",
        action="append",
        default=[],
        metavar="ROLE:NAME:EMAIL[:USER]",
        help="a member of staff on the case (repeatable)",
    )
    p.set_defaults(handler=start)

    p = subparsers.add_parser("import", help="start a batch of cases from a CSV file")
    p.add_argument("file", type=Path, help=f"CSV with a header line; {ROLE_COLUMNS_HELP}")
    p.set_defaults(handler=import_batch)

    p = subparsers.add_parser("decide", help="send a decision to a case")
    p.add_argument("case", help="the case's workflow id or case reference")
    p.add_argument("decision", choices=[k.value for k in DecisionKind], metavar="DECISION")
    p.add_argument("--by", required=True, metavar="USER", help="who decides (sign-in id)")
    p.add_argument("--role", required=True, help="the role they decide in")
    p.add_argument("--reason", default="")
    p.add_argument("--when", help="conference date and time, e.g. '2026-12-03 10:00'")
    p.add_argument("--format", choices=["in_person", "hybrid", "virtual"], default="hybrid")
    p.add_argument("--venue", default="")
    p.add_argument("--chair", default="")
    p.add_argument("--proposed-date", metavar="YYYY-MM-DD")
    p.add_argument("--safety-plan", default="")
    p.add_argument(
        "--outcome",
        choices=["child_protection_plan", "no_plan", "plan_continues", "plan_ends"],
        help="of a conference (ICPC: child_protection_plan/no_plan; review: plan_continues/plan_ends)",
    )
    p.add_argument("--end-reason", choices=["looked_after", "moved_authority"])
    p.add_argument(
        "--plan",
        action="store_true",
        help="send to the child protection plan (implied for plan and review decisions)",
    )
    p.add_argument("--stand-down-reason", metavar="ID")
    p.add_argument("--problem", metavar="ID", help="a capacity problem id from the procedure")
    p.add_argument("--invitees", type=Path, metavar="FILE.json", help="the convening sheet")
    p.add_argument("--payload", type=Path, metavar="FILE.json", help="any other fields, as JSON")
    p.add_argument("--signal", action="store_true", help="fire and forget (no answer)")
    p.set_defaults(handler=decide)

    p = subparsers.add_parser("show", help="print a case's state and timeline")
    p.add_argument("case", help="the case's workflow id or case reference")
    p.add_argument("--plan", action="store_true", help="the child protection plan after the ICPC")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=show)

    p = subparsers.add_parser("cases", help="list cases")
    p.add_argument("--query", help="a Temporal visibility query")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cases)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    from temporalio.service import RPCError

    try:
        return asyncio.run(coroutine)
    except RPCError as error:
        raise CommandError(f"Temporal: {error.message}") from None
    except LookupError as error:
        raise CommandError(str(error)) from None


async def _client() -> Any:
    from workers.connection import connect

    try:
        return await connect()
    except RuntimeError as error:
        raise CommandError(f"cannot reach Temporal ({error}); is `make run` going?") from None


# --- start and import ---------------------------------------------------------------------


def start(args: argparse.Namespace) -> int:
    fields = {
        "procedure": args.procedure,
        "case_reference": args.case_reference,
        "family_reference": args.family_reference,
        "strategy_date": args.strategy_date,
        "strategy_time": args.strategy_time,
        "section_47": args.section_47,
        "likelihood": args.likelihood,
        "previous_plan_ended": args.previous_plan_ended,
    }
    for text in args.contact:
        parts = text.split(":")
        if len(parts) not in (3, 4):
            raise CommandError(f"--contact '{parts[0]}:…' must be ROLE:NAME:EMAIL[:USER]")
        role = parts[0]
        fields[f"{role}_name"], fields[f"{role}_email"] = parts[1], parts[2]
        if len(parts) == 4:
            fields[f"{role}_user"] = parts[3]
    try:
        case_start, procedure = build_case_start(fields, load_all())
    except InputError as error:
        raise CommandError(str(error)) from None

    async def go() -> Any:
        from contracts.client import start_case

        return await start_case(await _client(), case_start, procedure)

    started = _run(go())
    if started.created:
        print(f"started {started.case_id}")
    else:
        print(f"case exists: {started.case_id} (not started again)")
    return 0


def import_batch(args: argparse.Namespace) -> int:
    procedures = load_all()
    try:
        rows = list(read_batch(args.file, procedures))
    except InputError as error:
        raise CommandError(str(error)) from None
    bad = [r for r in rows if isinstance(r, BadRow)]
    good = [r for r in rows if not isinstance(r, BadRow)]

    async def go() -> tuple[int, int, list[BadRow]]:
        from contracts.client import start_case

        client = await _client()
        created = existing = 0
        failed: list[BadRow] = []
        for done, (line, case_start, procedure) in enumerate(good, start=1):
            try:
                started = await start_case(client, case_start, procedure)
            except Exception as error:  # one failed start must not stop the batch
                failed.append(BadRow(line, f"could not start: {error}"))
            else:
                created += started.created
                existing += not started.created
            _progress(done, len(good))
        return created, existing, failed

    created, existing, failed = _run(go()) if good else (0, 0, [])
    for row in sorted(bad + failed, key=lambda r: r.line):
        print(f"{args.file}:{row.line}: {row.reason}", file=sys.stderr)
    print(
        f"{created} started, {existing} already existed, {len(bad) + len(failed)} bad row(s)"
        f" of {len(rows)}"
    )
    return 1 if bad or failed else 0


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    end = "\n" if done == total else ""
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr)


# --- decide -------------------------------------------------------------------------------


def build_decision(args: argparse.Namespace) -> DecisionBase:
    """The decision from the command line's flags, validated by the domain model."""
    data: dict[str, Any] = {}
    if args.payload:
        data.update(_read_json(args.payload))
    data.update(
        kind=args.decision,
        decided_by={"user": args.by, "role": args.role},
    )
    if args.reason:
        data["reason"] = args.reason
    if args.when:
        try:
            starts_at = london_datetime(args.when)
        except InputError as error:
            raise CommandError(str(error)) from None
        data["booking"] = {
            "starts_at": starts_at.isoformat(),
            "format": args.format,
            "venue": args.venue,
            "chair": args.chair,
        }
    optional = {
        "proposed_date": args.proposed_date,
        "safety_plan": args.safety_plan,
        "outcome": args.outcome,
        "stand_down_reason": args.stand_down_reason,
        "problem": args.problem,
        "end_reason": args.end_reason,
    }
    data.update({k: v for k, v in optional.items() if v})
    if args.invitees:
        data["invitees"] = _read_json(args.invitees)
    adapter = path_for(args.decision, _stream(args)).path.adapter
    try:
        decision: DecisionBase = adapter.validate_python(data)
        return decision
    except ValidationError as error:
        raise CommandError(f"the decision is not complete: {pydantic_reason(error)}") from None


def _stream(args: argparse.Namespace) -> Stream | None:
    """``--plan`` sends a decision both paths take (reassign_worker) to the plan."""
    return Stream.PLAN if args.plan else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CommandError(f"{path}: {error}") from None


def decide(args: argparse.Namespace) -> int:
    decision = build_decision(args)

    async def go() -> Any:
        from contracts.client import find_case_id, send_decision

        client = await _client()
        case_id = await find_case_id(client, args.case)
        return await send_decision(
            client, case_id, decision, stream=_stream(args), as_signal=args.signal
        )

    outcome = _run(go())
    if outcome.accepted:
        stage = f" (stage: {outcome.stage})" if outcome.stage else ""
        print(f"accepted: {outcome.message}{stage}")
        return 0
    print(f"refused: {outcome.message}")
    return 1


# --- show and cases -----------------------------------------------------------------------


def _local(at: datetime | None) -> str:
    return at.astimezone(LONDON).strftime("%a %d %b %Y %H:%M") if at else "—"


def render_case(state: CaseState, now: datetime) -> str:
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
    lines += ["", "Timeline:"]
    lines += [_timeline_line(entry) for entry in state.timeline]
    return "\n".join(lines)


def show(args: argparse.Namespace) -> int:
    stream = Stream.PLAN if args.plan else Stream.CASE

    async def go() -> CaseState | PlanState:
        from contracts.client import find_case_id, read_path

        client = await _client()
        return await read_path(client, await find_case_id(client, args.case), stream)

    state = _run(go())
    if args.json:
        print(state.model_dump_json(indent=2))
    else:
        print(RENDERERS[stream](state, datetime.now(LONDON)))
    return 0


def render_plan(state: PlanState, now: datetime) -> str:
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
    lines += ["", "Timeline:"]
    lines += [_timeline_line(entry) for entry in state.timeline]
    return "\n".join(lines)


RENDERERS: dict[Stream, Callable[[Any, datetime], str]] = {
    Stream.CASE: render_case,
    Stream.PLAN: render_plan,
}


def _timeline_line(entry: TimelineEntry) -> str:
    who = f"{entry.by.user} ({entry.by.role})" if entry.by else "system"
    line = f"  {_local(entry.at)}  {who:<28} {entry.summary}"
    return line + (f"\n  {'':<17}  {'':<28} reason: {entry.reason}" if entry.reason else "")


def cases(args: argparse.Namespace) -> int:
    async def go() -> Any:
        from contracts.client import list_cases

        return await list_cases(await _client(), args.query)

    rows = _run(go())
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], default=_json_default, indent=2))
        return 0
    print(f"{'case':<52} {'stage':<26} {'deadline':<17} {'waiting for':<24} late")
    for row in rows:
        late = "yes" if row.out_of_timescale else ""
        print(
            f"{row.case_id:<52} {(row.stage or row.status):<26} {_local(row.deadline)[:16]:<17}"
            f" {(row.awaiting_role or ''):<24} {late}"
        )
    return 0


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)
