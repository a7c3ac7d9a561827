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
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.client import read_path, read_scope
from contracts.paths import PathState
from domain.people import Person
from domain.procedure import Procedure
from domain.scoping import CaseScope, may_see, scope_of_start, senior_roles_from
from domain.wording import capitalised
from records.audit import Action, AuditEntry, Channel, Outcome
from web.dependencies import address, services, temporal
from web.pages import CASE_ID, PathPage
from web.presentation import role_label
from web.problems import Problem
from web.record_access import RecordsUnavailable

BREAK_GLASS_SETTING = "ICPC_BREAK_GLASS_ROLES"
SCOPE_TIMEOUT = 30.0  # seconds the case workflow may take to say whose case it is
READ_TIMEOUT = 30.0  # seconds a path may take to answer for its own page
SETTING_UP_WAIT, SETTING_UP_STEP = 5.0, 0.2  # seconds a path just started is waited for


def senior_roles() -> frozenset[str]:
    """The roles that may break glass: ``ICPC_BREAK_GLASS_ROLES`` (comma- or space-separated;
    ``none`` turns break glass off), else the default senior roles. Read on each use."""
    return senior_roles_from(os.environ.get(BREAK_GLASS_SETTING))


def may_break_glass(person: Person) -> bool:
    return bool(person.active and person.roles & senior_roles())


def not_found(page: PathPage) -> Problem:
    """The one answer for a path there is none of at an address, and for one the person may not
    see and may not break glass to read (:func:`hidden_from`): which of the two it is would
    tell whether a child has a case, or is on a plan."""
    return Problem(404, f"{capitalised(page.noun)} not found", page.not_found)


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


async def load_state(
    request: Request, page: PathPage, case_id: str, *, gone: bool = False
) -> PathState | None:
    """The path's state, asked of its workflow; a 404 or 503 page when it cannot be.

    With ``gone``, None when Temporal has no such workflow (never started, or deleted after
    the namespace's retention): the page then reads the case record instead."""
    noun = page.noun
    if not CASE_ID.match(case_id):
        raise Problem(404, f"{capitalised(noun)} not found", f"There is no {noun} at this address.")
    client = await temporal(request)
    unreadable = f"Sorry, the {noun} could not be read"
    try:
        return await asyncio.wait_for(_settled_path(client, case_id, page), READ_TIMEOUT)
    except TimeoutError as error:
        raise Problem(503, unreadable, f"The {noun} did not answer. Try again.") from error
    except RPCError as error:
        if gone and error.status == RPCStatusCode.NOT_FOUND:
            return None
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise not_found(page) from None
        raise Problem(503, unreadable, "Try again in a moment.") from error
    except WorkflowQueryFailedError as error:  # its own plain words: still being set up, say
        raise Problem(503, unreadable, error.message or "Try again in a moment.") from error


async def _settled_path(client: Client, case_id: str, page: PathPage) -> PathState:
    """The path's state; a path still being set up (its first moments: planning) is asked
    again for a few seconds, so that a case just started (by a case system, say) takes its
    first decision at once. Its own words if it is still not ready."""
    waited = 0.0
    while True:
        try:
            return await read_path(client, case_id, page.stream)
        except WorkflowQueryFailedError:
            if waited >= SETTING_UP_WAIT:
                raise
        await asyncio.sleep(SETTING_UP_STEP)
        waited += SETTING_UP_STEP


async def path_scope(
    request: Request,
    page: PathPage,
    case_id: str,
    state: PathState,
    recorded: CaseScope | None = None,
) -> CaseScope:
    scope = await case_scope(request, case_id, state, recorded=recorded)
    if scope is None:  # the workflow answered, so this is only a moment's race: say not found
        raise not_found(page)
    return scope


async def audit(
    request: Request,
    action: Action,
    outcome: Outcome,
    person: Person,
    *,
    case_id: str | None,
    role: str | None = None,
    detail: str = "",
) -> None:
    """One row of the audit trail (and its log line), written before the page is answered:
    channel ``api`` for a call to the API (:func:`web.api_door.api_person` marks it), else ``web``."""
    via_api = getattr(request.state, "via_token", None) is not None
    entry = AuditEntry(
        action=action,
        outcome=outcome,
        channel=Channel.API if via_api else Channel.WEB,
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
