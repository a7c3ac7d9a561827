"""Starting a case as the person calling: the one use case the API (and the web start form to
come) share, and a CSV batch of them.

The start's flat fields (``procedure``, ``case_reference``, ..., ``ROLE_name`` /
``ROLE_email`` / ``ROLE_user``) are read by :func:`contracts.case_input.build_case_start`, the
parser the command line used when it started cases itself; the start rules are
:func:`domain.case_start.check_start`'s. The person must be allowed to start it
(:func:`domain.scoping.may_start`: a role the procedure names, and sight of the case once
started). Every start, accepted or refused, is a row of the audit trail (``start_case``).

Starting the same case twice starts nothing: its workflow id is made from the procedure, the
case reference and the strategy discussion (:func:`contracts.case.case_workflow_id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from temporalio.service import RPCError

from contracts import case_input
from contracts.case import case_workflow_id
from contracts.case_input import BadRow, InputError, build_case_start, read_batch
from contracts.client import Started, start_case
from contracts.payload_keys import WorkersCannotRead
from domain.case_start import StartRefused, with_recorded_plans
from domain.decisions import CaseStart
from domain.people import Person
from domain.procedure import Procedure, ProcedureError
from domain.scoping import may_start, scope_of_start
from records.audit import Action, Outcome
from web.case_access import audit
from web.dependencies import services, temporal
from web.problems import Problem
from web.users import Accounts

CANNOT_START = "The case cannot be started"
REFUSED = "You cannot start this case"


async def _refused(
    request: Request, user: Person, start: CaseStart, procedure: Procedure, prefix: str
) -> str | None:
    """Why the person may not start this case (audited), or None. The people it allocates
    the case to are read from their records now (:func:`domain.scoping.may_be_allocated`)."""
    scope = scope_of_start(start)
    wanted = [who for _, who in scope.allocated]

    def read(accounts: Accounts) -> dict[str, Person | None]:
        return {who: accounts.people.get(who) for who in wanted}

    people = await services(request).accounts.run(read) if wanted else {}
    verdict = may_start(user, [r.id for r in procedure.roles], scope, people=people)
    if verdict:
        return None
    case_id = case_workflow_id(procedure.id, start.case_reference, start.strategy_discussion)
    await audit(
        request,
        Action.START_CASE,
        Outcome.REFUSED,
        user,
        case_id=case_id,
        detail=f"{prefix}{verdict.reason}",
    )
    return verdict.reason


async def _start(
    request: Request,
    user: Person,
    start: CaseStart,
    procedure: Procedure,
    now: datetime,
    prefix: str,
) -> Started:
    start = await _previous_plans(request, start, procedure)
    try:
        started = await start_case(await temporal(request), start, procedure, now=now)
    except StartRefused as error:  # the clock moved past a rule between reading and starting
        raise Problem(422, CANNOT_START, str(error)) from None
    except WorkersCannotRead as error:  # nothing sent: the workers could not read it
        raise Problem(503, "The case was not started", str(error)) from None
    except RPCError as error:
        raise Problem(
            503, "The case service did not answer", "Try again: a repeat starts nothing twice."
        ) from error
    await audit(
        request,
        Action.START_CASE,
        Outcome.OK,
        user,
        case_id=started.case_id,
        detail=f"{prefix}{'started' if started.created else 'already started'}",
    )
    return started


async def _previous_plans(request: Request, start: CaseStart, procedure: Procedure) -> CaseStart:
    """The start with the previous plan's end the case record holds (004's repeat plan), so
    the oversight does not hang on someone typing it; read only where the procedure asks."""
    if procedure.repeat_plan is None:
        return start
    ended = await services(request).records.read(
        lambda store: store.plans_ended(start.case_reference, start.family_reference)
    )
    return with_recorded_plans(start, procedure, ended)


async def start_as(request: Request, user: Person, fields: Mapping[str, str]) -> Started:
    """Start the case ``fields`` describe as ``user``: a 422 problem for input to correct, a
    403 (audited) when they may not start it."""
    now = case_input.clock()
    try:
        start, procedure = build_case_start(fields, services(request).procedures, now)
    except (InputError, ProcedureError) as error:
        raise Problem(422, CANNOT_START, str(error)) from None
    reason = await _refused(request, user, start, procedure, "")
    if reason is not None:
        raise Problem(403, REFUSED, reason)
    return await _start(request, user, start, procedure, now, "")


@dataclass
class Batch:
    """What a CSV batch did, line by line."""

    rows: int = 0
    started: list[str] = field(default_factory=list)  # the case ids started now
    existing: list[str] = field(default_factory=list)  # already started before: left alone
    bad: list[BadRow] = field(default_factory=list)


async def import_as(request: Request, user: Person, text: str) -> Batch:
    """Start each good row of a CSV batch (the format :func:`read_batch` reads) that the person
    may start; every other row is a bad row naming its line. A file that cannot be read as
    CSV at all starts nothing: a 422 problem naming the line."""
    now = case_input.clock()
    try:
        rows = list(read_batch(text, services(request).procedures, now))
    except InputError as error:
        raise Problem(422, "The file cannot be imported", str(error)) from None
    batch = Batch(rows=len(rows))
    for row in rows:
        if isinstance(row, BadRow):
            batch.bad.append(row)
            continue
        line, start, procedure = row
        prefix = f"import line {line}: "
        reason = await _refused(request, user, start, procedure, prefix)
        if reason is not None:
            batch.bad.append(BadRow(line, f"refused: {reason}"))
            continue
        try:
            started = await _start(request, user, start, procedure, now, prefix)
        except Problem as problem:  # one failed start must not stop the batch
            batch.bad.append(BadRow(line, f"could not start: {problem.message}"))
            continue
        (batch.started if started.created else batch.existing).append(started.case_id)
    batch.bad.sort(key=lambda row: row.line)
    return batch
