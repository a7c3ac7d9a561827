"""Who may read a case and decide on it in the web form, and the audit row each attempt writes.

The rules are :mod:`domain.scoping`'s, the same the command line applies
(:mod:`starters.case_commands`), so a rule refuses with the same sentence from either face:

- a case's scope (procedure, team, area, allocated people) is the case record's
  (:meth:`records.store.RecordStore.scope`); while the record does not have the case yet, or
  cannot be read, the case workflow's (:func:`contracts.client.read_scope`), and for a plan
  whose case workflow cannot answer, the plan's own copy of the case;
- reading needs :func:`domain.scoping.may_see`; a person holding a break-glass role
  (``ICPC_BREAK_GLASS_ROLES``, :func:`domain.scoping.senior_roles_from`) may read a case out of
  scope with a typed reason, read-only; anyone else is answered 404 at every address of a case
  they may not see, as for a case or plan that is not there (:func:`hidden_from`), so the
  answer never tells whether a child has a case or is on a plan;
- deciding needs :func:`domain.scoping.deciding_roles` (the roles the procedure names for the
  decision that the person holds and is in scope through), then the path's own ``available``.

Every read, break-glass read and decision attempt, allowed or refused, is a row of the audit
trail (channel ``web``, the client's address as the sign-in guard sees it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

from fastapi import Request
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from contracts.client import read_scope
from contracts.paths import PathState
from domain.people import Person
from domain.procedure import Procedure
from domain.scoping import CaseScope, may_see, scope_of_start, senior_roles_from
from records.audit import Action, AuditEntry, Channel, Outcome
from web.dependencies import address, services, temporal
from web.presentation import role_label
from web.record_access import RecordsUnavailable

BREAK_GLASS_SETTING = "ICPC_BREAK_GLASS_ROLES"
SCOPE_TIMEOUT = 30.0  # seconds the case workflow may take to say whose case it is


def senior_roles() -> frozenset[str]:
    """The roles that may break glass: ``ICPC_BREAK_GLASS_ROLES`` (comma- or space-separated;
    ``none`` turns break glass off), else the default senior roles. Read on each use."""
    return senior_roles_from(os.environ.get(BREAK_GLASS_SETTING))


def may_break_glass(person: Person) -> bool:
    return bool(person.active and person.roles & senior_roles())


def hidden_from(person: Person, scope: CaseScope) -> bool:
    """The person may not see the case and may not break glass to read it: every address of
    the case answers them as if there were no case there (audited with the real reason)."""
    return not may_see(person, scope) and not may_break_glass(person)


async def recorded_scope(request: Request, case_id: str) -> CaseScope | None:
    """Whose case it is by the case record; None when the record has not the case (yet), or
    cannot be read. Cheap, so a page may ask it while it waits for the workflow's answer."""
    try:
        return await services(request).records.read(lambda store: store.scope(case_id))
    except RecordsUnavailable:  # a running case still answers for itself
        return None


async def case_scope(
    request: Request,
    case_id: str,
    state: PathState | None = None,
    *,
    recorded: CaseScope | None = None,
) -> CaseScope | None:
    """Whose case it is, for the scoping rules; None when nothing can say (no such case).
    ``recorded``: the record's answer, when the caller has already read it."""
    scope = recorded or await recorded_scope(request, case_id)
    if scope is not None:
        return scope
    client = await temporal(request)
    try:
        return await asyncio.wait_for(read_scope(client, case_id), SCOPE_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, LookupError, TimeoutError):
        # A plan whose case workflow cannot answer: the case as the plan holds it.
        return scope_of_start(state.case.start) if state is not None else None


async def audit(
    request: Request,
    action: Action,
    outcome: Outcome,
    person: Person,
    *,
    case_id: str,
    role: str | None = None,
    detail: str = "",
) -> None:
    """One row of the audit trail (and its log line), written before the page is answered."""
    entry = AuditEntry(
        action=action,
        outcome=outcome,
        channel=Channel.WEB,
        actor=person.id,
        actor_role=role,
        case_id=case_id,
        address=address(request),
        detail=detail,
    )
    await services(request).accounts.run(lambda accounts: accounts.audit(entry))


async def allocated_people(
    request: Request, scope: CaseScope, procedure: Procedure | None
) -> list[tuple[str, str]]:
    """Who the case is allocated to now, as (role title, display name), in the procedure's
    order of roles; a person without a record shows as their id."""
    wanted = sorted(scope.allocated)
    if not wanted:
        return []
    ids = sorted({who for _, who in wanted})
    found = await services(request).accounts.run(
        lambda accounts: {i: accounts.people.get(i) for i in ids}
    )
    order = {r.id: n for n, r in enumerate(procedure.roles)} if procedure is not None else {}

    def label(role: str) -> str:
        return role_label(procedure, role) if procedure is not None else role.replace("_", " ")

    rows = sorted(wanted, key=lambda pair: (order.get(pair[0], len(order)), pair[0]))
    return [(label(role), _name(found.get(who), who)) for role, who in rows]


def _name(person: Person | None, person_id: str) -> str:
    return person.display_name if person is not None else person_id


def role_options(procedure: Procedure, roles: Iterable[str]) -> list[tuple[str, str]]:
    """Roles as (id, title) radios, titled as the procedure titles them."""
    return [(role, role_label(procedure, role)) for role in roles]
