"""``icpc start``, ``import``, ``decide``, ``show`` and ``cases``: the operators' command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts.paths import path_for
from domain.case_record import Stream
from domain.decisions import DecisionBase
from domain.vocabulary import DecisionKind
from procedures import load_all
from starters import case_input, session
from starters.case_input import (
    BadRow,
    InputError,
    build_case_start,
    london_datetime,
    pydantic_reason,
    read_batch,
)
from starters.cli import CommandError

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
    p.add_argument("--step", metavar="ID", help="record_step: the procedure's step (milestone id)")
    p.add_argument("--choice", metavar="ID", help="record_step: the answer a step asks for")
    p.add_argument(
        "--to-consider-ending",
        action="store_true",
        help="book_review/request_review_move: earlier than allowed, to consider ending the plan",
    )
    p.add_argument("--invitees", type=Path, metavar="FILE.json", help="the convening sheet")
    p.add_argument("--payload", type=Path, metavar="FILE.json", help="any other fields, as JSON")
    p.add_argument("--signal", action="store_true", help="fire and forget (no answer)")
    p.set_defaults(handler=decide)


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
    now = case_input.clock()
    try:
        case_start, procedure = build_case_start(fields, load_all(), now)
    except InputError as error:
        raise CommandError(str(error)) from None

    async def go() -> Any:
        from contracts.client import start_case

        return await start_case(await session.client(), case_start, procedure, now=now)

    started = session.run(go())
    if started.created:
        print(f"started {started.case_id}")
    else:
        print(f"case exists: {started.case_id} (not started again)")
    return 0


def import_batch(args: argparse.Namespace) -> int:
    procedures = load_all()
    now = case_input.clock()
    try:
        rows = list(read_batch(args.file, procedures, now))
    except InputError as error:
        raise CommandError(str(error)) from None
    bad = [r for r in rows if isinstance(r, BadRow)]
    good = [r for r in rows if not isinstance(r, BadRow)]

    async def go() -> tuple[int, int, list[BadRow]]:
        from contracts.client import start_case

        client = await session.client()
        created = existing = 0
        failed: list[BadRow] = []
        for done, (line, case_start, procedure) in enumerate(good, start=1):
            try:
                started = await start_case(client, case_start, procedure, now=now)
            except Exception as error:  # one failed start must not stop the batch
                failed.append(BadRow(line, f"could not start: {error}"))
            else:
                created += started.created
                existing += not started.created
            _progress(done, len(good))
        return created, existing, failed

    created, existing, failed = session.run(go()) if good else (0, 0, [])
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
        "step": args.step,
        "choice": args.choice,
        "to_consider_ending": args.to_consider_ending,
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

        client = await session.client()
        case_id = await find_case_id(client, args.case)
        return await send_decision(
            client, case_id, decision, stream=_stream(args), as_signal=args.signal
        )

    outcome = session.run(go())
    if outcome.accepted:
        stage = f" (stage: {outcome.stage})" if outcome.stage else ""
        print(f"accepted: {outcome.message}{stage}")
        return 0
    print(f"refused: {outcome.message}")
    return 1
