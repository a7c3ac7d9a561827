"""``icpc procedures`` and ``icpc plan``: the installed procedures and a case's schedule.

``icpc procedures show ID`` tells one procedure in words, by role (what the web form's
procedure page says beside its diagram); ``--bpmn FILE`` writes it as BPMN 2.0 with diagram
interchange, for Camunda Modeler or any bpmn-js viewer (``-`` for standard output)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from contracts.case_input import InputError, london_time
from domain.calendar import LONDON, london_instant
from domain.planner import PlanningError, Schedule, plan
from domain.procedure import Procedure
from domain.vocabulary import Anchor
from procedures import get_procedure, load_all, load_procedure
from procedures.bpmn import to_bpmn
from procedures.process_map import describe
from starters.cli import CommandError


def _time(flag: str) -> Callable[[str], time]:
    """An argparse type for a London wall-clock time; its refusal is the plain reason."""

    def parse(text: str) -> time:
        try:
            return london_time(text, flag)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("procedures", help="list the installed procedures")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=list_procedures)
    shows = p.add_subparsers(dest="procedures_command", metavar="show")
    show = shows.add_parser("show", help="one procedure, by role; --bpmn FILE writes BPMN 2.0")
    show.add_argument("procedure_id", metavar="ID", help="an installed procedure's id")
    show.add_argument(
        "--bpmn", metavar="FILE", help="write the procedure as BPMN 2.0 XML here ('-': stdout)"
    )
    show.set_defaults(handler=show_procedure)

    p = subparsers.add_parser("plan", help="print the schedule of a case")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--procedure", metavar="ID", help="an installed procedure's id")
    which.add_argument("--procedure-file", type=Path, metavar="PATH", help="a procedure file")
    p.add_argument("--strategy-date", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    p.add_argument(
        "--strategy-time", type=_time("--strategy-time"), default=time(10, 0), metavar="HH:MM"
    )
    p.add_argument("--conference-date", type=date.fromisoformat, metavar="YYYY-MM-DD")
    p.add_argument(
        "--conference-time", type=_time("--conference-time"), default=time(10, 0), metavar="HH:MM"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=plan_case)


def list_procedures(args: argparse.Namespace) -> int:
    procedures = load_all()
    rows = [
        {
            "id": p.id,
            "title": p.title,
            "authority": p.authority,
            "source_document": p.source_document,
        }
        for p in procedures.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['id']:<28} {row['title']}\n{'':<28} source: {row['source_document']}")
    return 0


def show_procedure(args: argparse.Namespace) -> int:
    procedure = get_procedure(args.procedure_id)
    if args.bpmn == "-":
        print(to_bpmn(procedure), end="")
        return 0
    if args.bpmn:
        target = Path(args.bpmn)
        try:
            target.write_text(to_bpmn(procedure), encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {target}: {error.strerror}") from None
        print(f"{procedure.id}: BPMN 2.0 written to {target}")
        return 0
    print(render_description(procedure))
    return 0


def render_description(procedure: Procedure) -> str:
    """The procedure in words, by role: the same facts as its diagram."""
    text = describe(procedure)
    lines = [procedure.title, f"Source: {procedure.source_document}"]
    for role in text.roles:
        if not (role.steps or role.decisions or role.told_when_late):
            continue
        lines += ["", role.title]
        for step in role.steps:
            flag = " (statutory)" if step.statutory else ""
            lines.append(f"  - {step.title}{flag}")
            lines.append(f"    {step.phase}. Due: {step.due}.")
            lines.append(f"    Met by: {step.met_by}. If late: {step.if_late}.")
        if role.decisions:
            lines.append(f"  Decides: {'; '.join(role.decisions)}.")
        if role.told_when_late:
            lines.append(f"  Told when late: {'; '.join(role.told_when_late)}.")
    if text.at_any_time:
        lines += ["", "At any time"]
        lines += [f"  - {item}" for item in text.at_any_time]
    return "\n".join(lines)


def plan_case(args: argparse.Namespace) -> int:
    procedure: Procedure = (
        load_procedure(args.procedure_file)
        if args.procedure_file
        else get_procedure(args.procedure)
    )
    anchors: dict[Anchor, datetime] = {}
    try:
        if args.conference_date:
            anchors[Anchor.CONFERENCE_DATE] = london_instant(
                args.conference_date, args.conference_time
            )
        schedule = plan(procedure, london_instant(args.strategy_date, args.strategy_time), anchors)
    except PlanningError as error:  # a date out of the planner's range, said plainly
        raise CommandError(str(error)) from None
    except OverflowError:  # a date at the very end of the calendar, before the planner sees it
        raise CommandError(
            f"the dates given ({args.strategy_date}, {args.conference_date or 'no conference'})"
            " are out of range"
        ) from None
    if args.json:
        # isoformat() keeps the offset explicit ("+00:00", "+01:00") rather than "Z".
        print(json.dumps(schedule.model_dump(mode="python"), indent=2, default=_iso))
    else:
        print(render_schedule(procedure, schedule))
    return 0


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return (
            value.astimezone(LONDON).isoformat()
            if isinstance(value, datetime)
            else value.isoformat()
        )
    return str(value)


def render_schedule(procedure: Procedure, schedule: Schedule) -> str:
    lines = [
        procedure.title,
        f"Strategy discussion: {schedule.strategy_discussion.isoformat()}"
        f"  (day 0 = {schedule.day_zero})",
        "",
        f"{'day':>4}  {'due':<36}  {'':<10}  {'milestone':<60}  responsible",
    ]
    for m in schedule.milestones:
        day = "" if m.working_day is None else str(m.working_day)
        due = m.due.isoformat() if m.due else f"waiting on {m.waiting_on}"
        flag = "statutory" if m.statutory else ""
        lines.append(f"{day:>4}  {due:<36}  {flag:<10}  {m.title[:60]:<60}  {m.responsible}")
    return "\n".join(lines)
