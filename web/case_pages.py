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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contracts.paths import PathState
from domain.calendar import LONDON
from domain.case_record import CaseSummary, RecordedEvent, Stream, complete_timeline
from domain.case_state import Stage
from domain.decisions import DecisionBase
from domain.people import Person
from domain.procedure import Procedure
from domain.scoping import (
    Access,
    CaseScope,
    ReadAccess,
    break_glass,
    may_see,
    role_titles,
    scope_of,
)
from domain.wording import role_title, roles_text
from records.audit import Action, Outcome
from records.store import RecordStore
from web.case_access import (
    allocated_people,
    audit,
    load_state,
    may_break_glass,
    not_found,
    path_scope,
    senior_roles,
)
from web.deciding import Choice, Deciding, decide_as, may_take, offered, reassign_options, role_here
from web.dependencies import form_values, render, services, signed_in_user
from web.forms import ACTING_ROLE, PERSON, DecisionForm
from web.pages import CASE_ID, PAGES, PathPage
from web.parsing import Parsed, parse
from web.presentation import (
    STAGE_TAGS,
    case_timeline_chart,
    days_left,
    milestone_rows,
    role_label,
)
from web.problems import Problem
from web.record_access import RecordsUnavailable

RECORD_UNAVAILABLE_NOTE = (
    "The case records are temporarily unavailable: the decisions and events below are the ones"
    " the case holds now."
)
BREAK_GLASS_ERROR = (
    "Enter why you need to read this case, in at least 10 characters (not counting spaces)"
)

router = APIRouter()

CurrentUser = Annotated[Person, Depends(signed_in_user)]
FormValues = Annotated[dict[str, str], Depends(form_values)]


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


@dataclass(frozen=True)
class Opened:
    """A path as it is read for a person: its workflow's state (None once Temporal has
    deleted it: then ``recorded``, the case record's summary and events), its scope and
    procedure (None for a recorded case whose procedure is no longer installed)."""

    state: PathState | None
    recorded: tuple[CaseSummary, list[RecordedEvent]] | None
    scope: CaseScope
    procedure: Procedure | None


async def open_path(request: Request, page: PathPage, case_id: str) -> Opened:
    """The path, from its workflow, else from the case record; a 404 problem if neither."""
    state = await load_state(request, page, case_id, gone=True)
    if state is not None:
        scope = await path_scope(request, page, case_id, state)
        return Opened(state, None, scope, state.procedure)
    recorded = await read_recorded(request, page, case_id)
    summary = recorded[0]
    scope = scope_of(summary.procedure_id, summary.team, summary.area, summary.allocated)
    return Opened(None, recorded, scope, services(request).procedures.get(summary.procedure_id))


@dataclass(frozen=True)
class Sight:
    """Whether the person may read the path (audited): in scope, or out of scope by breaking
    glass (``glass``); else ``reason``, and ``retry`` when they may break glass and only the
    reason they gave was not enough. ``in_scope``: a break glass asked on a case they may
    read anyway (nothing to break)."""

    seen: bool
    reason: str = ""
    glass: ReadAccess | None = None
    retry: bool = False
    in_scope: bool = False


async def sight(
    request: Request, case_id: str, user: Person, opened: Opened, glass_reason: str | None
) -> Sight:
    """May the person read the path: :func:`domain.scoping.may_see` (``view_case``), or with
    ``glass_reason`` :func:`domain.scoping.break_glass` (``break_glass``); both audited."""
    scope, procedure = opened.scope, opened.procedure
    if glass_reason is None:
        seen = may_see(user, scope)
        outcome = Outcome.OK if seen else Outcome.REFUSED
        await audit(request, Action.VIEW_CASE, outcome, user, case_id=case_id, detail=seen.reason)
        return Sight(bool(seen), seen.reason)
    titles = role_titles(procedure) if procedure is not None else None
    access = break_glass(user, scope, glass_reason, senior_roles(), titles=titles)
    if access.access is Access.IN_SCOPE:
        return Sight(True, in_scope=True)
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
            return Sight(False, access.reason)
        return Sight(False, may_see(user, scope).reason, retry=True)
    await audit(
        request,
        Action.BREAK_GLASS,
        Outcome.OK,
        user,
        case_id=case_id,
        role=access.role,
        detail=access.reason,
    )
    return Sight(True, access.reason, glass=access)


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
    opened = await open_path(request, page, case_id)
    state, recorded, scope, procedure = (
        opened.state,
        opened.recorded,
        opened.scope,
        opened.procedure,
    )
    seen = await sight(request, case_id, user, opened, glass_reason)
    if seen.in_scope:  # nothing to break: the page as usual
        return RedirectResponse(page.url(case_id), status_code=303)
    if seen.retry:
        return refused_page(
            request,
            page,
            case_id,
            user,
            seen.reason,
            status=400,
            typed=glass_reason or "",
            error=BREAK_GLASS_ERROR,
        )
    if not seen.seen:
        if not may_break_glass(user):  # they could not see it: as for no case at all
            raise not_found(page)
        return refused_page(request, page, case_id, user, seen.reason)
    glass = seen.glass

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
    """The posted form, taken as the signed-in person (:func:`web.deciding.decide_as`): the
    form again with what is wrong, or the case's page saying what was done."""

    posted: list[Parsed] = []  # the form as posted, for the page shown again

    def build(choice: Choice) -> DecisionBase | Parsed:
        # Without the people a reassignment may choose: the one chosen is checked on its own
        # (web.deciding); the list is read only for a page shown again.
        parsed = parse(choice.deciding.form(), values, choice.decider, choice.extra)
        posted.append(parsed)
        return parsed if parsed.decision is None else parsed.decision

    taken = await decide_as(
        request,
        page,
        case_id,
        kind,
        user,
        values.get(ACTING_ROLE, ""),
        values.get(PERSON, ""),
        build,
    )
    deciding = taken.deciding

    async def shown(form: DecisionForm) -> DecisionForm:
        return form.with_options(await reassign_options(request, deciding, user))

    if taken.unbuilt is not None:
        parsed = taken.unbuilt
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
    sent = posted[-1]
    if taken.outcome is None:
        return decision_page(
            request,
            deciding,
            await shown(sent.form),
            503,
            sent.values,
            refusal="The case service did not answer. The decision may not have been"
            " recorded: check the decisions so far before trying again.",
        )
    outcome = taken.outcome
    if not outcome.accepted:
        return decision_page(
            request,
            deciding,
            await shown(sent.form),
            409,
            sent.values,
            refusal=outcome.message,
        )
    request.state.session["flash"] = {
        "title": page.contract.path.title(deciding.kind),
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
