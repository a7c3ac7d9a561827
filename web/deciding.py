"""Deciding as the person calling: the one use case the decision pages and the API share.

Who decides is always the authenticated person (the page's session, the API's token): never a
``decided_by`` a caller sends. :func:`decide_as` checks, in order, and refuses (audited, with
the plain reason) what the web form refuses: the case in scope and the role held
(:func:`may_take`), the path open and the decision open to the person now, the
role chosen among those they may take it in, and for a reassignment the person picked
(:func:`domain.scoping.may_take_over`). It then asks the face to build the decision from its
own fields (a page's form, the API's JSON) with the decider and the picked person's contact,
sends it to the case (:func:`contracts.client.send_decision`) and audits the outcome.

A refusal is raised as :class:`web.problems.Problem` (403, 409 for a closed path): the pages
render it as HTML, the API as JSON problem details.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import ValidationError
from temporalio.service import RPCError

from contracts.client import DecisionOutcome, closed_sentence, send_decision
from contracts.paths import PathState
from domain.decisions import Decider, DecisionBase
from domain.people import PERSON_ID, Person
from domain.procedure import Procedure
from domain.scoping import (
    CaseScope,
    contact_for,
    deciding_roles,
    may_decide,
    may_take_over,
    role_titles,
)
from domain.vocabulary import DecisionKind
from domain.wording import role_title
from records.audit import Action, Outcome
from web.case_access import (
    audit,
    hidden_from,
    load_state,
    not_found,
    path_scope,
    recorded_scope,
    role_options,
)
from web.dependencies import services, temporal
from web.forms import PERSON, REASSIGNED_ROLE, DecisionForm, form_for
from web.pages import PathPage
from web.problems import Problem
from web.users import acting_roles, first_role

CANNOT_DECIDE = "You cannot take this decision"

# --- what the person may decide -------------------------------------------------------------


def usable_roles(
    page: PathPage, state: PathState, user: Person, scope: CaseScope, kind: DecisionKind
) -> list[str]:
    """The roles the person may take ``kind`` in on this path now: named for it by the
    procedure, held, in scope through (domain.scoping), and open on the path for that role."""
    found = deciding_roles(user, state.procedure.roles_for(kind), scope)
    path = page.contract.path
    return [role for role in found.roles if kind in path.available(state, role, user.id)]


def offered(page: PathPage, state: PathState, user: Person, scope: CaseScope) -> list[DecisionKind]:
    """The decisions the signed-in person may take on this path now, in any of their roles."""
    path = page.contract.path
    kinds: list[DecisionKind] = []
    for role in acting_roles(user):
        for kind in path.available(state, role, user.id):
            if kind not in kinds and may_decide(user, role, state.procedure.roles_for(kind), scope):
                kinds.append(kind)
    return kinds


def role_here(procedure: Procedure, user: Person) -> str:
    """The person's role as this procedure titles it: the first it declares, else the first."""
    declared = {r.id for r in procedure.roles}
    role = first_role(user, lambda r: r in declared) or next(iter(acting_roles(user)), "")
    return role_title(procedure, role) if role else "someone without a role"


def why_not_open(
    page: PathPage, state: PathState, user: Person, kind: DecisionKind, roles: Sequence[str]
) -> str:
    """Why the path does not take ``kind`` from this person now, in the path's own words (the
    step missing from the procedure, separation of duties, what must happen first)."""
    rule = page.contract.path.rules[kind]
    missing = rule.in_procedure(state.procedure) if rule.in_procedure is not None else None
    if missing:
        return missing
    barred = rule.forbidden_to(state) if rule.forbidden_to is not None else None
    if barred is not None and barred[0] == user.id:
        return barred[1]
    for role in roles:
        shut = rule.open_when(state, role)
        if shut:
            return shut
    return (
        f"As {role_here(state.procedure, user)} you cannot {page.contract.path.title(kind)} on"
        f" this {page.noun} now."
    )


def decision_kind(page: PathPage, kind: str) -> DecisionKind:
    if not page.contract.takes(kind):
        raise Problem(404, "Page not found", "There is no such decision.")
    return DecisionKind(kind)


async def refuse_decision(
    request: Request,
    user: Person,
    case_id: str,
    kind: DecisionKind,
    reason: str,
    *,
    role: str | None = None,
    status: int = 403,
    title: str = CANNOT_DECIDE,
) -> Problem:
    """Audit a refused decision; the caller raises the plain page this returns."""
    await audit(
        request,
        Action.DECISION,
        Outcome.REFUSED,
        user,
        case_id=case_id,
        role=role,
        detail=f"{kind}: {reason}",
    )
    return Problem(status, title, reason)


class Deciding:
    """A decision the person is about to take on a path: its state, scope and form, and the
    roles they may take it in (more than one: they choose)."""

    def __init__(
        self,
        page: PathPage,
        case_id: str,
        kind: DecisionKind,
        state: PathState,
        scope: CaseScope,
        roles: list[str],
    ) -> None:
        self.page = page
        self.case_id = case_id
        self.kind = kind
        self.state = state
        self.scope = scope
        self.roles = roles

    @property
    def titles(self) -> dict[str, str]:
        return role_titles(self.state.procedure)

    def form(
        self, options: Mapping[str, tuple[tuple[str, str], ...]] | None = None
    ) -> DecisionForm:
        procedure = self.state.procedure
        return form_for(
            self.page.contract.path,
            self.kind,
            procedure,
            roles=role_options(procedure, self.roles),
            options=options,
        )

    @property
    def acting_as(self) -> str:
        """The one role the decision is taken in, mid-sentence; empty when the person chooses."""
        return role_title(self.state.procedure, self.roles[0]) if len(self.roles) == 1 else ""


async def may_take(
    request: Request, page: PathPage, case_id: str, kind: str, user: Person
) -> Deciding:
    """The decision, if the person may take it on this path now; otherwise a plain page saying
    why (audited): out of scope or not their role (as the command line says it), the path
    closed, or not open to them now."""
    wanted = decision_kind(page, kind)
    # The record's scope is read while the workflow answers for its state: neither waits.
    state, recorded = await asyncio.gather(
        load_state(request, page, case_id), recorded_scope(request, case_id)
    )
    assert state is not None
    scope = await path_scope(request, page, case_id, state, recorded)
    procedure = state.procedure
    found = deciding_roles(user, procedure.roles_for(wanted), scope, titles=role_titles(procedure))
    if not found.roles:
        refused = await refuse_decision(
            request, user, case_id, wanted, found.refusal.reason, role=found.refused_role
        )
        raise not_found(page) if hidden_from(user, scope) else refused
    if not state.is_open:
        sentence = await closed_sentence(await temporal(request), page.stream, case_id)
        raise await refuse_decision(
            request,
            user,
            case_id,
            wanted,
            sentence,
            role=found.roles[0],
            status=409,
            title=f"This {page.noun} is closed",
        )
    roles = usable_roles(page, state, user, scope, wanted)
    if not roles:
        reason = why_not_open(page, state, user, wanted, found.roles)
        raise await refuse_decision(request, user, case_id, wanted, reason, role=found.roles[0])
    return Deciding(page, case_id, wanted, state, scope, roles)


# --- reassigning: the people a case may be given to -------------------------------------------


async def reassign_options(request: Request, deciding: Deciding, user: Person) -> dict[str, Any]:
    """The people ``user`` may give the case to as its social worker: those
    :func:`may_take_over` allows (active, holding the role, in the case's team, with an email
    address), but the one it is allocated to now."""
    if deciding.kind != DecisionKind.REASSIGN_WORKER:
        return {}
    scope, procedure = deciding.scope, deciding.state.procedure
    current = scope.people_in(REASSIGNED_ROLE)
    people = await services(request).accounts.run(lambda accounts: accounts.people.all())
    choices = sorted(
        (
            p
            for p in people
            if p.id not in current
            and may_take_over(p, REASSIGNED_ROLE, scope, by=user, procedure=procedure)
        ),
        key=lambda p: (p.display_name.lower(), p.id),
    )
    return {PERSON: tuple((p.id, f"{p.display_name} ({p.id})") for p in choices)}


async def picked_person(request: Request, kind: str, values: Mapping[str, str]) -> Person | None:
    """The person a reassignment picks, read from their record in this request; None when the
    decision is another, nobody is picked, or no person has that id."""
    person_id = values.get(PERSON, "").strip()
    if kind != DecisionKind.REASSIGN_WORKER or not PERSON_ID.match(person_id):
        return None
    return await services(request).accounts.run(lambda accounts: accounts.people.get(person_id))


async def reassigned_contact(
    request: Request,
    deciding: Deciding,
    user: Person,
    role: str,
    values: Mapping[str, str],
    chosen: Person | None,
) -> dict[str, Any]:
    """For a reassignment, the contact of the person picked (``chosen``: their record, read in
    this request by :func:`picked_person`), checked again; a plain page (audited) when the case
    may not be given to them."""
    if deciding.kind != DecisionKind.REASSIGN_WORKER:
        return {}
    person_id = values.get(PERSON, "").strip()
    if not person_id:
        return {}  # the form says to choose someone
    verdict = may_take_over(
        chosen,
        REASSIGNED_ROLE,
        deciding.scope,
        by=user,
        procedure=deciding.state.procedure,
        person_id=person_id[:64],
        titles=deciding.titles,
    )
    if chosen is None or not verdict:
        raise await refuse_decision(
            request, user, deciding.case_id, deciding.kind, verdict.reason, role=role
        )
    try:
        contact = contact_for(chosen, REASSIGNED_ROLE)
    except ValidationError:
        raise await refuse_decision(
            request,
            user,
            deciding.case_id,
            deciding.kind,
            f"{chosen.display_name}'s email address on record is not one a case can use; an"
            " administrator must correct it.",
            role=role,
        ) from None
    return {"contact": contact.model_dump()}


T = TypeVar("T")


@dataclass(frozen=True)
class Choice:
    """What the face builds its decision with: the decision checked (its path, state and the
    roles the person may take it in), the decider (the person, in the role taken), the fields
    the checks add (a reassignment's ``contact``), and whether the role is the one the person
    chose (False: they may take it in several roles and chose none)."""

    deciding: Deciding
    decider: Decider
    extra: Mapping[str, Any] = field(default_factory=dict)
    role_chosen: bool = True


@dataclass(frozen=True)
class Taken(Generic[T]):
    """How a decision attempt ended, once the checks let it through.

    ``outcome``: the case's answer (accepted, or refused by the case in its own words); None
    when the case service did not answer (audited as unknown) or when the face built no
    decision (``unbuilt``: what its builder returned instead, a form with errors say)."""

    deciding: Deciding
    role: str
    outcome: DecisionOutcome | None = None
    unbuilt: T | None = None

    @property
    def unanswered(self) -> bool:
        return self.outcome is None and self.unbuilt is None


Builder = Callable[[Choice], DecisionBase | T]


async def decide_as(
    request: Request,
    page: PathPage,
    case_id: str,
    kind: str,
    user: Person,
    chosen_role: str,
    picked: str,
    build: Builder[T],
) -> Taken[T]:
    """Take decision ``kind`` on the path as ``user``: in ``chosen_role`` (empty: their only
    usable role), for a reassignment to the person whose id is ``picked``; ``build`` makes the
    decision from the face's fields (or returns something else: then nothing is sent)."""
    values = {PERSON: picked}
    # The person a reassignment picks is read while the case answers; checked once it has.
    deciding, chosen = await asyncio.gather(
        may_take(request, page, case_id, kind, user), picked_person(request, kind, values)
    )
    wanted = deciding.kind
    chosen_role = chosen_role.strip()
    # A role named is the one decided in (a page names one only when offering a choice);
    # none named: their only usable role, or none yet when they must choose.
    role = chosen_role or (deciding.roles[0] if len(deciding.roles) == 1 else "")
    if chosen_role and chosen_role not in deciding.roles:  # one they may not take it in
        procedure = deciding.state.procedure
        verdict = may_decide(
            user, chosen_role, procedure.roles_for(wanted), deciding.scope, titles=deciding.titles
        )
        reason = verdict.reason or why_not_open(page, deciding.state, user, wanted, [chosen_role])
        raise await refuse_decision(request, user, case_id, wanted, reason, role=chosen_role)
    extra = await reassigned_contact(request, deciding, user, role, values, chosen) if role else {}
    decider = Decider(user=user.id, role=role or deciding.roles[0])
    choice = Choice(deciding, decider, extra, bool(role))
    built = build(choice)
    if not isinstance(built, DecisionBase):
        return Taken(deciding, role, unbuilt=built)
    client = await temporal(request)
    try:
        outcome = await send_decision(client, case_id, built, stream=page.stream)
    except RPCError:
        await audit(
            request,
            Action.DECISION,
            Outcome.UNKNOWN,  # sent, but no answer: taken or not, the case's page will tell
            user,
            case_id=case_id,
            role=role,
            detail=f"{wanted}: the case service did not answer; it may not have been recorded",
        )
        return Taken(deciding, role)
    await audit(
        request,
        Action.DECISION,
        Outcome.OK if outcome.accepted else Outcome.REFUSED,
        user,
        case_id=case_id,
        role=role,
        detail=f"{wanted}: {outcome.message}",
    )
    return Taken(deciding, role, outcome)
