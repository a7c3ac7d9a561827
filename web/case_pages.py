"""A path of a case (the ICPC case, or the plan after it): its page, its decision forms, taking a
decision, and reading it by breaking glass.

Written once for every path: each row of :data:`web.pages.PAGES` gets the same routes under its
own address (``/cases/<id>``, ``/cases/<id>/plan``), and everything that differs is asked of the
path: its title for a decision, the decisions available to a role, its payload model, where its
workflow is.

Who may read and decide is :mod:`web.case_access` (the rules of :mod:`domain.scoping`): a case
out of the person's scope is a plain page saying why (a break-glass form for a senior role),
and every read and decision attempt is audited. A decision offered is one the person may take
in a role the procedure names for it and through which the case is in their scope; with more
than one such role they choose which. The decider is always the signed-in person's id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.client import closed_sentence, read_path, send_decision
from contracts.paths import PathState
from domain.calendar import LONDON
from domain.case_record import CaseSummary, RecordedEvent, Stream, complete_timeline
from domain.case_state import Stage
from domain.decisions import Decider
from domain.people import PERSON_ID, Person
from domain.procedure import Procedure
from domain.scoping import (
    Access,
    CaseScope,
    ReadAccess,
    break_glass,
    contact_for,
    deciding_roles,
    may_decide,
    may_see,
    may_take_over,
    role_titles,
    scope_of,
)
from domain.vocabulary import DecisionKind
from domain.wording import capitalised, role_title, roles_text
from records.audit import Action, Outcome
from records.store import RecordStore
from web.case_access import (
    allocated_people,
    audit,
    case_scope,
    hidden_from,
    may_break_glass,
    recorded_scope,
    role_options,
    senior_roles,
)
from web.dependencies import form_values, render, services, signed_in_user, temporal
from web.forms import ACTING_ROLE, PERSON, REASSIGNED_ROLE, DecisionForm, form_for
from web.pages import CASE_ID, PAGES, PathPage
from web.parsing import parse
from web.presentation import (
    STAGE_TAGS,
    case_timeline_chart,
    days_left,
    milestone_rows,
    role_label,
)
from web.problems import Problem
from web.record_access import RecordsUnavailable
from web.users import acting_roles, first_role

READ_TIMEOUT = 30.0  # seconds a path may take to answer for its own page
RECORD_UNAVAILABLE_NOTE = (
    "The case records are temporarily unavailable: the decisions and events below are the ones"
    " the case holds now."
)
CANNOT_DECIDE = "You cannot take this decision"
BREAK_GLASS_ERROR = (
    "Enter why you need to read this case, in at least 10 characters (not counting spaces)"
)

router = APIRouter()

CurrentUser = Annotated[Person, Depends(signed_in_user)]
FormValues = Annotated[dict[str, str], Depends(form_values)]


def not_found(page: PathPage) -> Problem:
    """The one answer for a path there is none of at an address, and for one the person may not
    see and may not break glass to read (:func:`web.case_access.hidden_from`): which of the
    two it is would tell whether a child has a case, or is on a plan."""
    return Problem(404, f"{capitalised(page.noun)} not found", page.not_found)


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
        return await asyncio.wait_for(read_path(client, case_id, page.stream), READ_TIMEOUT)
    except TimeoutError as error:
        raise Problem(503, unreadable, f"The {noun} did not answer. Try again.") from error
    except RPCError as error:
        if gone and error.status == RPCStatusCode.NOT_FOUND:
            return None
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise not_found(page) from None
        raise Problem(503, unreadable, "Try again in a moment.") from error
    except WorkflowQueryFailedError as error:
        raise Problem(503, unreadable, "Try again in a moment.") from error


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


# --- the pages ------------------------------------------------------------------------------------


def path_context(
    page: PathPage, state: PathState, user: Person, scope: CaseScope, *, read_only: bool = False
) -> dict[str, Any]:
    now = datetime.now(LONDON)
    procedure = state.procedure
    path = page.contract.path
    return {
        "page": page,
        "state": state,
        "case": state.case,
        "now": now,
        "days_left": days_left(state, now),
        "stage_tags": STAGE_TAGS,
        "milestones": milestone_rows(state, now),
        "chart": case_timeline_chart(state, now),
        "awaiting": [role_label(procedure, r) for r in state.awaiting_roles()],
        "role_label": lambda role: role_label(procedure, role),
        "role_text": lambda role: role_title(procedure, role),
        "roles_text": lambda roles, joiner="or": roles_text(procedure, roles, joiner),
        "available": []
        if read_only
        else [(k.value, path.title(k)) for k in offered(page, state, user, scope)],
        "role_here": role_here(procedure, user),
    }


def decision_page(
    request: Request,
    deciding: Deciding,
    form: DecisionForm,
    status: int = 200,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    refusal: str = "",
    parts: Mapping[str, tuple[str, ...]] | None = None,
) -> HTMLResponse:
    page, case = deciding.page, deciding.state.case
    defaults = {f.name: f.default for f in form.fields}
    # An error link goes to the field, or to the first box of a date in error.
    targets = {f.name: f.first_id for f in form.fields} | {
        name: f"f-{name}-{boxes[0]}" for name, boxes in (parts or {}).items() if boxes
    }
    return render(
        request,
        "decision.html",
        status,
        case=case,
        back=page.url(case.case_id),
        back_text=page.back_text.format(reference=case.start.case_reference),
        action=page.decision_url(case.case_id, form.kind.value),
        form=form,
        sections=form.sections,
        values={**defaults, **(values or {})},
        errors=dict(errors or {}),
        refusal=refusal,
        first_field_id=targets,
        error_parts=dict(parts or {}),
        acting_as=deciding.acting_as,
    )


def refused_page(
    request: Request,
    page: PathPage,
    case_id: str,
    user: Person,
    reason: str,
    *,
    status: int = 403,
    typed: str = "",
    error: str = "",
) -> HTMLResponse:
    """A case the person may not see: why, and for a senior role the break-glass form."""
    return render(
        request,
        "case_refused.html",
        status,
        noun=page.noun,
        reason=reason,
        may_break_glass=may_break_glass(user),
        action=page.break_glass_url(case_id),
        typed=typed,
        errors={"reason": error} if error else {},
        first_field_id={"reason": "f-reason"},
    )


async def read_case(
    request: Request,
    page: PathPage,
    case_id: str,
    user: Person,
    glass_reason: str | None = None,
) -> Response:
    """The path's page, if the person may see it: what its workflow says now, with its timeline
    from the case record; from the record alone once Temporal has deleted the workflow.

    With ``glass_reason`` (the break-glass form), a case out of scope is read read-only by a
    senior role with a reason; both the read and the reason are audited."""
    state = await load_state(request, page, case_id, gone=True)
    recorded: tuple[CaseSummary, list[RecordedEvent]] | None = None
    if state is None:
        recorded = await read_recorded(request, page, case_id)
        summary = recorded[0]
        scope = scope_of(summary.procedure_id, summary.team, summary.area, summary.allocated)
        procedure = services(request).procedures.get(summary.procedure_id)
    else:
        scope = await path_scope(request, page, case_id, state)
        procedure = state.procedure

    glass: ReadAccess | None = None
    if glass_reason is None:
        seen = may_see(user, scope)
        outcome = Outcome.OK if seen else Outcome.REFUSED
        await audit(request, Action.VIEW_CASE, outcome, user, case_id=case_id, detail=seen.reason)
        if not seen:
            if hidden_from(user, scope):
                raise not_found(page)
            return refused_page(request, page, case_id, user, seen.reason)
    else:
        titles = role_titles(procedure) if procedure is not None else None
        access = break_glass(user, scope, glass_reason, senior_roles(), titles=titles)
        if access.access is Access.IN_SCOPE:  # nothing to break: the page as usual
            return RedirectResponse(page.url(case_id), status_code=303)
        if access.access is Access.REFUSED:
            await audit(
                request,
                Action.BREAK_GLASS,
                Outcome.REFUSED,
                user,
                case_id=case_id,
                detail=access.reason,
            )
            if not may_break_glass(user):
                raise not_found(page)  # they could not see it: as for no case at all
            return refused_page(
                request,
                page,
                case_id,
                user,
                may_see(user, scope).reason,
                status=400,
                typed=glass_reason,
                error=BREAK_GLASS_ERROR,
            )
        await audit(
            request,
            Action.BREAK_GLASS,
            Outcome.OK,
            user,
            case_id=case_id,
            role=access.role,
            detail=access.reason,
        )
        glass = access

    people = await allocated_people(request, scope, procedure)
    glass_context: dict[str, Any] = {
        "glass": glass,
        "glass_role": glass_role(procedure, glass),
        "allocated": people,
    }
    if recorded is not None:
        summary, events = recorded
        return render(
            request,
            "recorded.html",
            **recorded_context(request, page, summary, events),
            **glass_context,
        )
    assert state is not None
    flash = None if glass else request.state.session.pop("flash", None)
    try:
        timeline = await recorded_events(request, case_id, page.stream)
    except RecordsUnavailable:  # what the workflow holds (a plan: since its current review cycle)
        timeline, record_note = [], RECORD_UNAVAILABLE_NOTE
    else:
        record_note = ""
    return render(
        request,
        page.template,
        flash=flash,
        timeline=complete_timeline(timeline, state),
        record_note=record_note,
        **path_context(page, state, user, scope, read_only=glass is not None),
        **glass_context,
    )


def glass_role(procedure: Procedure | None, glass: ReadAccess | None) -> str:
    """The senior role a break-glass read is made in, mid-sentence."""
    if glass is None or glass.role is None:
        return ""
    return role_title(procedure, glass.role) if procedure else glass.role.replace("_", " ")


async def recorded_events(request: Request, case_id: str, stream: Stream) -> list[RecordedEvent]:
    timeline = await services(request).records.read(lambda store: store.timeline(case_id))
    return [event for recorded_stream, event in timeline if recorded_stream == stream]


async def read_recorded(
    request: Request, page: PathPage, case_id: str
) -> tuple[CaseSummary, list[RecordedEvent]]:
    """A path whose workflow Temporal no longer has, as the case record keeps it."""

    def read(store: RecordStore) -> tuple[CaseSummary | None, list[RecordedEvent]]:
        timeline = store.timeline(case_id)
        return store.summary(case_id), [e for s, e in timeline if s == page.stream]

    summary, events = await services(request).records.read(read)
    if summary is None or (summary.stream != page.stream and not events):  # no plan, say
        raise not_found(page)
    return summary, events


def recorded_context(
    request: Request, page: PathPage, summary: CaseSummary, events: list[RecordedEvent]
) -> dict[str, Any]:
    procedure = services(request).procedures.get(summary.procedure_id)
    # The ICPC case, whose child's path the plan after it holds now.
    moved_on = page.stream == Stream.CASE and summary.stream == Stream.PLAN
    if moved_on and summary.is_open:
        note = (
            "The ICPC of this case is over and kept in the case record; it takes no more"
            " decisions. The child protection plan after it is open."
        )
    elif not summary.is_open:
        note = (
            f"This {page.noun} is closed and kept in the case record; it takes no more decisions."
        )
    else:
        note = (
            f"This {page.noun} is no longer running; this is what the case record keeps, and it"
            " takes no more decisions."
        )

    def role_text(role: str) -> str:
        return role_title(procedure, role) if procedure is not None else role.replace("_", " ")

    return {
        "page": page,
        "summary": summary,
        "procedure_title": procedure.title if procedure is not None else summary.procedure_id,
        "authority": procedure.authority if procedure is not None else "",
        "stage": Stage.HELD.value if moved_on else summary.stage,
        "plan_url": PAGES[Stream.PLAN].url(summary.case_id),
        "has_plan": summary.stream == Stream.PLAN,
        "timeline": events,
        "note": note,
        "stage_tags": STAGE_TAGS,
        "role_text": role_text,
        "awaiting": role_label(procedure, summary.awaiting_role)
        if procedure is not None and summary.is_open and not moved_on
        else "",
    }


async def show_form(
    request: Request, page: PathPage, case_id: str, kind: str, user: Person
) -> Response:
    deciding = await may_take(request, page, case_id, kind, user)
    form = deciding.form(await reassign_options(request, deciding, user))
    return decision_page(request, deciding, form)


async def take(
    request: Request,
    page: PathPage,
    case_id: str,
    kind: str,
    user: Person,
    values: Mapping[str, str],
) -> Response:
    # The person a reassignment picks is read while the case answers; checked once it has.
    deciding, chosen = await asyncio.gather(
        may_take(request, page, case_id, kind, user), picked_person(request, kind, values)
    )
    wanted = deciding.kind
    # Without the people a reassignment may choose: the one chosen is looked up and checked
    # on its own (reassigned_contact); the list is read only for a page shown again.
    form = deciding.form()

    async def shown(form: DecisionForm) -> DecisionForm:
        return form.with_options(await reassign_options(request, deciding, user))

    chosen_role = values.get(ACTING_ROLE, "").strip()
    role = chosen_role if len(deciding.roles) > 1 else deciding.roles[0]
    if chosen_role and role not in deciding.roles:  # a crafted role: refused as the CLI would
        procedure = deciding.state.procedure
        verdict = may_decide(
            user, role, procedure.roles_for(wanted), deciding.scope, titles=deciding.titles
        )
        reason = verdict.reason or why_not_open(page, deciding.state, user, wanted, [role])
        raise await refuse_decision(request, user, case_id, wanted, reason, role=role)
    if role:
        extra = await reassigned_contact(request, deciding, user, role, values, chosen)
    else:
        extra = {}  # no role chosen: the form says to choose one
    decider = Decider(user=user.id, role=role or deciding.roles[0])
    parsed = parse(form, values, decider, extra)
    if parsed.decision is None:
        status = 400 if parsed.errors else 200  # 200: an invitee added or removed
        return decision_page(
            request,
            deciding,
            await shown(parsed.form),
            status,
            parsed.values,
            parsed.errors,
            parts=parsed.parts,
        )
    form = parsed.form
    client = await temporal(request)
    try:
        outcome = await send_decision(client, case_id, parsed.decision, stream=page.stream)
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
        return decision_page(
            request,
            deciding,
            await shown(form),
            503,
            parsed.values,
            refusal="The case service did not answer. The decision may not have been"
            " recorded: check the decisions so far before trying again.",
        )
    await audit(
        request,
        Action.DECISION,
        Outcome.OK if outcome.accepted else Outcome.REFUSED,
        user,
        case_id=case_id,
        role=role,
        detail=f"{wanted}: {outcome.message}",
    )
    if not outcome.accepted:
        return decision_page(
            request, deciding, await shown(form), 409, parsed.values, refusal=outcome.message
        )
    request.state.session["flash"] = {
        "title": page.contract.path.title(wanted),
        "summary": outcome.message,
    }
    return RedirectResponse(page.url(case_id), status_code=303)


# --- the routes, the same for every path --------------------------------------------------------


def add_routes(page: PathPage) -> None:
    """The path's page, its break-glass read and its decision forms, at the path's address."""

    async def path_page(request: Request, case_id: str, user: CurrentUser) -> Response:
        return await read_case(request, page, case_id, user)

    async def break_glass_page(
        request: Request, case_id: str, user: CurrentUser, values: FormValues
    ) -> Response:
        return await read_case(request, page, case_id, user, values.get("reason", ""))

    async def break_glass_again(case_id: str, user: CurrentUser) -> Response:
        """A break-glass read is one post: its address, opened again, is the case page."""
        if not CASE_ID.match(case_id):
            raise Problem(404, "Page not found", "Check the address.")
        return RedirectResponse(page.url(case_id), status_code=303)

    async def decision_form(
        request: Request, case_id: str, kind: str, user: CurrentUser
    ) -> Response:
        return await show_form(request, page, case_id, kind, user)

    async def decide(
        request: Request, case_id: str, kind: str, user: CurrentUser, values: FormValues
    ) -> Response:
        return await take(request, page, case_id, kind, user, values)

    base = page.url("{case_id}")
    name = page.stream.value
    router.add_api_route(base, path_page, methods=["GET"], name=f"{name}_page")
    glass = page.break_glass_url("{case_id}")
    router.add_api_route(glass, break_glass_page, methods=["POST"], name=f"{name}_break_glass")
    router.add_api_route(glass, break_glass_again, methods=["GET"], name=f"{name}_glass_again")
    decision = page.decision_url("{case_id}", "{kind}")
    router.add_api_route(decision, decision_form, methods=["GET"], name=f"{name}_decision_form")
    router.add_api_route(decision, decide, methods=["POST"], name=f"{name}_decide")


for _page in PAGES.values():
    add_routes(_page)
