"""``icpc start``, ``import`` and ``decide``: the operators' command line.

Each acts as a person, identified by their own token (:mod:`starters.operator`), never by what
``--by`` says: the person must hold the role they decide in, the procedure must name that role
for the decision, and the case must be in their scope (:mod:`domain.scoping`). Every attempt is
audited, accepted or refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from contracts.paths import path_for
from domain.case_record import Stream
from domain.decisions import DecisionBase
from domain.vocabulary import DecisionKind
from procedures import load_all
from starters import case_input, operator, session
from starters.case_input import (
    BadRow,
    InputError,
    build_case_start,
    london_datetime,
    pydantic_reason,
    read_batch,
)
from starters.cli import CommandError

if TYPE_CHECKING:
    from domain.decisions import Contact
    from domain.procedure import Procedure
    from domain.scoping import CaseScope
    from starters.operator import Acting

ROLE_COLUMNS_HELP = (
    "contacts as ROLE_name / ROLE_email / ROLE_user, e.g. social_worker_email; team, area"
)


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
        help="a member of staff on the case (repeatable); USER allocates the case to that person",
    )
    p.add_argument("--team", default="", metavar="ID", help="the social work team of the case")
    p.add_argument("--area", default="", metavar="ID", help="the area of the case")
    operator.add_token_argument(p)
    p.set_defaults(handler=start)

    p = subparsers.add_parser("import", help="start a batch of cases from a CSV file")
    p.add_argument("file", type=Path, help=f"CSV with a header line; {ROLE_COLUMNS_HELP}")
    operator.add_token_argument(p)
    p.set_defaults(handler=import_batch)

    p = subparsers.add_parser("decide", help="send a decision to a case")
    p.add_argument("case", help="the case's workflow id or case reference")
    p.add_argument("decision", choices=[k.value for k in DecisionKind], metavar="DECISION")
    p.add_argument(
        "--by", metavar="USER", help="who decides: must be the person your token names (optional)"
    )
    p.add_argument(
        "--role", help="the role you decide in (optional when you hold one role that may)"
    )
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
    p.add_argument(
        "--person",
        metavar="ID",
        help="reassign_worker: the person who takes the case over (name, email from their record)",
    )
    p.add_argument(
        "--person-role",
        default="social_worker",
        metavar="ROLE",
        help="reassign_worker: the role they take over (social_worker)",
    )
    p.add_argument("--signal", action="store_true", help="fire and forget (no answer)")
    operator.add_token_argument(p)
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
        "team": args.team,
        "area": args.area,
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
    from records.audit import Action, Outcome

    with operator.acting(args, "start", Action.START_CASE) as acting:
        reason = _may_not_start(acting, case_start, procedure)
        if reason is not None:
            raise CommandError(f"refused: {reason}")

        async def go() -> Any:
            from contracts.client import start_case

            return await start_case(await session.client(), case_start, procedure, now=now)

        started = session.run(go())
        acting.write(
            Action.START_CASE,
            Outcome.OK,
            case_id=started.case_id,
            detail="started" if started.created else "already started",
        )
    if started.created:
        print(f"started {started.case_id}")
    else:
        print(f"case exists: {started.case_id} (not started again)")
    return 0


def _may_not_start(acting: Acting, case_start: Any, procedure: Procedure) -> str | None:
    """Why the person may not start this case (audited), or None."""
    from contracts.case import case_workflow_id
    from domain.scoping import may_start, scope_of_start
    from records.audit import Action

    scope = scope_of_start(case_start)
    people = {who: acting.people.get(who) for _, who in scope.allocated}
    verdict = may_start(acting.person, [r.id for r in procedure.roles], scope, people=people)
    if verdict:
        return None
    case_id = case_workflow_id(
        procedure.id, case_start.case_reference, case_start.strategy_discussion
    )
    acting.refuse(Action.START_CASE, verdict.reason, case_id=case_id)
    return verdict.reason


def import_batch(args: argparse.Namespace) -> int:
    procedures = load_all()
    now = case_input.clock()
    try:
        rows = list(read_batch(args.file, procedures, now))
    except InputError as error:
        raise CommandError(str(error)) from None
    bad = [r for r in rows if isinstance(r, BadRow)]
    good = [r for r in rows if not isinstance(r, BadRow)]
    # Rows to start: as the person the token names (a file of bad rows only needs nobody).
    created, existing, failed = _start_rows(args, good, now) if good else (0, 0, [])
    for row in sorted(bad + failed, key=lambda r: r.line):
        print(f"{args.file}:{row.line}: {row.reason}", file=sys.stderr)
    print(
        f"{created} started, {existing} already existed, {len(bad) + len(failed)} bad row(s)"
        f" of {len(rows)}"
    )
    return 1 if bad or failed else 0


def _start_rows(
    args: argparse.Namespace, rows: list[tuple[int, Any, Procedure]], now: Any
) -> tuple[int, int, list[BadRow]]:
    """Start each row the person may start; a row they may not is a bad row (audited)."""
    from records.audit import Action, Outcome

    with operator.acting(args, "import", Action.START_CASE) as acting:
        failed: list[BadRow] = []
        good = []
        for row in rows:
            reason = _may_not_start(acting, row[1], row[2])
            if reason is None:
                good.append(row)
            else:
                failed.append(BadRow(row[0], f"refused: {reason}"))

        async def go() -> tuple[int, int]:
            from contracts.client import start_case

            client = await session.client()
            created = existing = 0
            for done, (line, case_start, procedure) in enumerate(good, start=1):
                try:
                    started = await start_case(client, case_start, procedure, now=now)
                except Exception as error:  # one failed start must not stop the batch
                    failed.append(BadRow(line, f"could not start: {error}"))
                else:
                    created += started.created
                    existing += not started.created
                    outcome = "started" if started.created else "already started"
                    acting.write(
                        Action.START_CASE,
                        Outcome.OK,
                        case_id=started.case_id,
                        detail=f"{args.file.name} line {line}: {outcome}",
                    )
                _progress(done, len(good))
            return created, existing

        created, existing = session.run(go()) if good else (0, 0)
    return created, existing, failed


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    end = "\n" if done == total else ""
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr)


# --- decide -------------------------------------------------------------------------------


def build_decision(
    args: argparse.Namespace,
    user: str | None = None,
    role: str | None = None,
    contact: Contact | None = None,
) -> DecisionBase:
    """The decision from the command line's flags, validated by the domain model: by ``user``
    in ``role`` (default: ``--by`` and ``--role``); ``contact``, the person a reassignment
    picks."""
    data: dict[str, Any] = {}
    if args.payload:
        data.update(_read_json(args.payload))
    data.update(
        kind=args.decision,
        decided_by={"user": user or args.by, "role": role or args.role},
    )
    if contact is not None:
        data["contact"] = contact.model_dump()
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
    """Send the decision as the person the token names, if they may take it on this case."""
    from records.audit import Action

    reassigning = args.decision == DecisionKind.REASSIGN_WORKER
    if args.person and not reassigning:
        raise CommandError("--person is for reassign_worker only")
    if reassigning and not args.person:
        raise CommandError("reassign_worker: give --person ID, the person who takes the case over")
    if reassigning and args.payload and "contact" in _read_json(args.payload):
        raise CommandError("reassign_worker: pick the person with --person, not a contact")
    with operator.acting(args, "decide", Action.DECISION) as acting:
        try:
            outcome = session.run(_decide_as(acting, args))
        except operator.Refused as refused:
            print(f"refused: {refused}")
            return 1
    if outcome.accepted:
        stage = f" (stage: {outcome.stage})" if outcome.stage else ""
        print(f"accepted: {outcome.message}{stage}")
        return 0
    print(f"refused: {outcome.message}")
    return 1


async def _decide_as(acting: Acting, args: argparse.Namespace) -> Any:
    """Check the person may take the decision on the case, send it, audit the outcome."""
    from temporalio.service import RPCError, RPCStatusCode

    from contracts.client import find_case_id, read_scope, send_decision
    from domain.scoping import may_decide, role_titles
    from records.audit import Action, Outcome

    person = acting.person
    kind = DecisionKind(args.decision)
    if args.by and args.by.strip().lower() != person.id:
        raise acting.refuse(
            Action.DECISION,
            f"Your token is {person.id}'s, and --by names {args.by.strip()}: a decision is"
            f" recorded as the person who takes it. Leave --by out, or use {args.by.strip()}'s"
            " own token.",
            role=args.role,
        )
    client = await session.client()
    case_id = await find_case_id(client, args.case)
    scope = acting.record.scope(case_id) or await read_scope(client, case_id)
    procedure = load_all().get(scope.procedure_id)
    if procedure is None:
        raise acting.refuse(
            Action.DECISION,
            f"The case's procedure '{scope.procedure_id}' is not installed here.",
            role=args.role,
            case_id=case_id,
        )
    titles = role_titles(procedure)
    decision_roles = procedure.roles_for(kind)
    role = args.role or _the_role(acting, decision_roles, scope, titles)
    verdict = may_decide(person, role, decision_roles, scope, titles=titles)
    if not verdict:
        raise acting.refuse(Action.DECISION, verdict.reason, role=role, case_id=case_id)
    contact = _reassigned_to(acting, args, scope, procedure, case_id, role) if args.person else None
    decision = build_decision(args, person.id, role, contact)
    try:
        outcome = await send_decision(
            client, case_id, decision, stream=_stream(args), as_signal=args.signal
        )
    except RPCError as error:
        if error.status not in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise
        # The server went away mid-call: the decision may have been taken or not.
        acting.write(
            Action.DECISION,
            Outcome.UNKNOWN,
            role=role,
            case_id=case_id,
            detail=f"{kind}: Temporal did not answer",
        )
        raise CommandError(
            f"Temporal did not answer ({error.message}): whether the decision was taken is not"
            f" known. `icpc show {args.case}` tells; sending it again is safe (a repeat is"
            " refused)."
        ) from None
    acting.write(
        Action.DECISION,
        Outcome.OK if outcome.accepted else Outcome.REFUSED,
        role=role,
        case_id=case_id,
        detail=f"{kind}: {outcome.message}",
    )
    return outcome


def _the_role(
    acting: Acting, decision_roles: list[str], scope: CaseScope, titles: dict[str, str]
) -> str:
    """The role to decide in when ``--role`` is left out: the one the person may decide in
    (:func:`domain.scoping.deciding_roles`, as the web form offers them)."""
    from domain.scoping import deciding_roles

    found = deciding_roles(acting.person, decision_roles, scope, titles=titles)
    if len(found.roles) > 1:
        raise CommandError(
            f"you may take this decision as {' or '.join(found.roles)}: say which with --role"
        )
    # None: the role the refusal is about, refused with the reason that role gives.
    return found.roles[0] if found.roles else found.refused_role


def _reassigned_to(
    acting: Acting,
    args: argparse.Namespace,
    scope: CaseScope,
    procedure: Procedure,
    case_id: str,
    role: str,
) -> Contact:
    """The contact for the person a reassignment picks: name and email from their record."""
    from domain.scoping import contact_for, may_take_over, role_titles
    from records.audit import Action

    chosen = acting.people.get(args.person)
    verdict = may_take_over(
        chosen,
        args.person_role,
        scope,
        by=acting.person,
        procedure=procedure,
        person_id=args.person,
        titles=role_titles(procedure),
    )
    if chosen is None or not verdict:
        raise acting.refuse(Action.DECISION, verdict.reason, role=role, case_id=case_id)
    try:
        return contact_for(chosen, args.person_role)
    except ValidationError as error:
        raise CommandError(f"{chosen.id}'s record: {pydantic_reason(error)}") from None
