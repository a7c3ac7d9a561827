"""``icpc start``, ``import`` and ``decide``: clients of the service's API (``/api/v1/cases``).

Each acts as the person whose token it is given (:mod:`starters.service_client`): the service
decides who that is, whether they may start the case or take the decision (the same checks as
the web form, :mod:`web.starting` and :mod:`web.deciding`), and audits every attempt. The
command needs only the service's address (``ICPC_SERVICE_URL``) and the token: never the
database, Temporal or the payload key.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from contracts.case_input import InputError, london_datetime
from domain.vocabulary import DecisionKind
from starters import operator
from starters.cli import CommandError
from starters.service_client import Refused, Service, service

UNANSWERED = "The case service did not answer"  # web.api_cases: the decision's fate unknown
REFUSED_DECISION = (403, 404, 409)  # said on stdout, exit 1, as the case's own refusals
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
    p.add_argument(
        "--signal",
        action="store_true",
        help="ignored, kept for old scripts: the service always waits for the case's answer",
    )
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
    try:
        started = service(args).post("/cases", fields)
    except Refused as refused:
        if refused.status in (422, 503):  # input to correct, or not sent: in its own words
            raise CommandError(refused.detail) from None
        raise
    if started["created"]:
        print(f"started {started['case_id']}")
    else:
        print(f"case exists: {started['case_id']} (not started again)")
    return 0


def import_batch(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise CommandError(f"{args.file}: {error.strerror}") from None
    try:
        batch = service(args).post(
            "/cases/import", content=data, headers={"Content-Type": "text/csv; charset=utf-8"}
        )
    except Refused as refused:
        if refused.status == 422:  # the file as a whole cannot be read: nothing started
            raise CommandError(f"{args.file}: {refused.detail}") from None
        raise
    for row in batch["bad"]:
        print(f"{args.file}:{row['line']}: {row['reason']}", file=sys.stderr)
    print(
        f"{len(batch['started'])} started, {len(batch['existing'])} already existed,"
        f" {len(batch['bad'])} bad row(s) of {batch['rows']}"
    )
    return 1 if batch["bad"] else 0


# --- decide -------------------------------------------------------------------------------


def decision_body(args: argparse.Namespace) -> dict[str, Any]:
    """The decision the flags describe, as the API takes it: its kind, the role decided in,
    and the domain's field names; never who decides (the service says: the token's person)."""
    data: dict[str, Any] = {}
    if args.payload:
        data.update(_read_object(args.payload))
    if "decided_by" in data:
        raise CommandError(
            f"{args.payload}: leave decided_by out: a decision is recorded as the person whose"
            " token sends it"
        )
    data["kind"] = args.decision
    if args.role:
        data["role"] = args.role
    if args.person:
        data["person"], data["person_role"] = args.person, args.person_role
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
    return data


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CommandError(f"{path}: {error}") from None


def _read_object(path: Path) -> dict[str, Any]:
    """A ``--payload`` file: the decision's fields, as one JSON object."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise CommandError(
            f"{path}: must hold one JSON object of the decision's fields, like"
            f' {{"reason": "..."}}, not {_json_kind(data)}'
        )
    return data


def _json_kind(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    if isinstance(data, str):
        return "a string"
    if isinstance(data, bool):
        return "true or false"
    if isinstance(data, int | float):
        return "a number"
    return "null"


def lower_first(text: str) -> str:
    """A sentence the service says, put after a case id: "ID: the case is still ..."."""
    return text[:1].lower() + text[1:]


def case_path(case: str, *, plan: bool = False) -> str:
    """The API's address of a case (workflow id or case reference), or of its plan."""
    return f"/cases/{quote(case.strip(), safe='')}" + ("/plan" if plan else "")


def _check_by(api: Service, by: str | None) -> None:
    """``--by`` must name the token's person: a decision is recorded as who sends it."""
    if not by:
        return
    me = str(api.get("/me")["id"])
    if by.strip().lower() != me:
        raise Refused(
            403,
            "Not your token",
            f"Your token is {me}'s, and --by names {by.strip()}: a decision is recorded as the"
            f" person who takes it. Leave --by out, or use {by.strip()}'s own token.",
        )


def decide(args: argparse.Namespace) -> int:
    """Send the decision as the person the token names; the service says whether they may."""
    reassigning = args.decision == DecisionKind.REASSIGN_WORKER
    if args.person and not reassigning:
        raise CommandError("--person is for reassign_worker only")
    if reassigning and not args.person:
        raise CommandError("reassign_worker: give --person ID, the person who takes the case over")
    if reassigning and args.payload and "contact" in _read_object(args.payload):
        raise CommandError("reassign_worker: pick the person with --person, not a contact")
    body = decision_body(args)
    api = service(args)
    try:
        _check_by(api, args.by)
        answer = api.post(f"{case_path(args.case, plan=args.plan)}/decisions", body)
    except Refused as refused:
        if refused.status in REFUSED_DECISION:  # the person may not, or the case would not
            print(refused)
            return 1
        if refused.status == 422:  # the decision is not complete: input to correct
            raise CommandError(refused.detail) from None
        if refused.status == 503 and refused.title != UNANSWERED:  # the case could not be read
            raise CommandError(f"{args.case}: {lower_first(refused.detail)}") from None
        if refused.status == 503:
            raise CommandError(
                "the service did not answer: whether the decision was taken is not known."
                f" `icpc show {args.case}` tells; sending it again is safe (a repeat is"
                " refused)."
            ) from None
        raise
    stage = f" (stage: {answer['stage']})" if answer.get("stage") else ""
    print(f"accepted: {answer['message']}{stage}")
    return 0
