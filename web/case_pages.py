"""A path of a case (the ICPC case, or the plan after it): its page, its decision forms, and
taking a decision.

Written once for every path: each row of :data:`web.pages.PAGES` gets the same four routes
under its own address (``/cases/<id>``, ``/cases/<id>/plan``), and everything that differs is
asked of the path: its title for a decision, the decisions available to the signed-in user,
its payload model, where its workflow is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.client import read_path, send_decision
from contracts.paths import PathState
from domain.calendar import LONDON
from domain.case_record import CaseSummary, RecordedEvent, Stream, complete_timeline
from domain.case_state import Stage
from domain.decisions import Decider
from domain.vocabulary import DecisionKind
from domain.wording import capitalised, role_title, roles_text
from records.store import RecordStore
from web.dependencies import form_values, render, require_user, services, temporal
from web.forms import DecisionForm, form_for
from web.pages import CASE_ID, PAGES, PathPage
from web.parsing import parse
from web.presentation import STAGE_TAGS, days_left, milestone_rows, role_label
from web.problems import Problem
from web.record_access import RecordsUnavailable
from web.users import User

READ_TIMEOUT = 30.0  # seconds a path may take to answer for its own page
RECORD_UNAVAILABLE_NOTE = (
    "The case records are temporarily unavailable: the decisions and events below are the ones"
    " the case holds now."
)

router = APIRouter()

CurrentUser = Annotated[User, Depends(require_user)]
FormValues = Annotated[dict[str, str], Depends(form_values)]


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
            raise Problem(404, f"{capitalised(noun)} not found", page.not_found) from None
        raise Problem(503, unreadable, "Try again in a moment.") from error
    except WorkflowQueryFailedError as error:
        raise Problem(503, unreadable, "Try again in a moment.") from error


async def live_state(request: Request, page: PathPage, case_id: str) -> PathState:
    """The path's state, for its decision forms: only a running path takes decisions."""
    state = await load_state(request, page, case_id)
    assert state is not None
    return state


def offered(page: PathPage, state: PathState, user: User) -> list[DecisionKind]:
    """The decisions the signed-in user may take on this path now, as the path says."""
    return page.contract.path.available(state, user.role, user.user)


def decision_kind(page: PathPage, kind: str) -> DecisionKind:
    if not page.contract.takes(kind):
        raise Problem(404, "Page not found", "There is no such decision.")
    return DecisionKind(kind)


def may_take(page: PathPage, state: PathState, user: User, kind: DecisionKind) -> DecisionForm:
    """The form for ``kind``, if the user may take it now; otherwise a 403 page saying so."""
    path = page.contract.path
    if kind not in offered(page, state, user):
        raise Problem(
            403,
            "You cannot take this decision",
            f"As {role_title(state.procedure, user.role)} you cannot {path.title(kind)} on this"
            f" {page.noun} now.",
        )
    return form_for(path, kind, state.procedure)


def path_context(page: PathPage, state: PathState, user: User) -> dict[str, Any]:
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
        "awaiting": [role_label(procedure, r) for r in state.awaiting_roles()],
        "role_label": lambda role: role_label(procedure, role),
        "role_text": lambda role: role_title(procedure, role),
        "roles_text": lambda roles, joiner="or": roles_text(procedure, roles, joiner),
        "available": [(k.value, path.title(k)) for k in offered(page, state, user)],
        "role_here": role_title(procedure, user.role),
    }


def decision_page(
    request: Request,
    page: PathPage,
    state: PathState,
    form: DecisionForm,
    status: int = 200,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    refusal: str = "",
) -> HTMLResponse:
    case = state.case
    defaults = {f.name: f.default for f in form.fields}
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
        first_field_id={f.name: f.first_id for f in form.fields},
    )


# --- the routes, the same for every path --------------------------------------------------------


async def show_path(request: Request, page: PathPage, case_id: str, user: User) -> Response:
    """The path's page: what its workflow says now, with its timeline from the case record;
    from the record alone once Temporal has deleted the workflow."""
    state = await load_state(request, page, case_id, gone=True)
    if state is None:
        return await show_recorded(request, page, case_id)
    flash = request.state.session.pop("flash", None)
    try:
        recorded = await recorded_events(request, case_id, page.stream)
    except RecordsUnavailable:  # the workflow's own timeline is whole while it runs
        recorded, record_note = [], RECORD_UNAVAILABLE_NOTE
    else:
        record_note = ""
    return render(
        request,
        page.template,
        flash=flash,
        timeline=complete_timeline(recorded, state.timeline),
        record_note=record_note,
        **path_context(page, state, user),
    )


async def recorded_events(request: Request, case_id: str, stream: Stream) -> list[RecordedEvent]:
    timeline = await services(request).records.read(lambda store: store.timeline(case_id))
    return [event for recorded_stream, event in timeline if recorded_stream == stream]


async def show_recorded(request: Request, page: PathPage, case_id: str) -> Response:
    """A path whose workflow Temporal no longer has, as the case record keeps it."""

    def read(store: RecordStore) -> tuple[CaseSummary | None, list[RecordedEvent]]:
        timeline = store.timeline(case_id)
        return store.summary(case_id), [e for s, e in timeline if s == page.stream]

    summary, events = await services(request).records.read(read)
    if summary is None or (summary.stream != page.stream and not events):  # no plan, say
        raise Problem(404, f"{capitalised(page.noun)} not found", page.not_found)
    return render(request, "recorded.html", **recorded_context(request, page, summary, events))


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
    request: Request, page: PathPage, case_id: str, kind: str, user: User
) -> Response:
    wanted = decision_kind(page, kind)
    state = await live_state(request, page, case_id)
    return decision_page(request, page, state, may_take(page, state, user, wanted))


async def take(
    request: Request,
    page: PathPage,
    case_id: str,
    kind: str,
    user: User,
    values: Mapping[str, str],
) -> Response:
    wanted = decision_kind(page, kind)
    state = await live_state(request, page, case_id)
    form = may_take(page, state, user, wanted)
    parsed = parse(form, values, Decider(user=user.user, role=user.role))
    if parsed.decision is None:
        return decision_page(request, page, state, form, 400, parsed.values, parsed.errors)
    client = await temporal(request)
    try:
        outcome = await send_decision(client, case_id, parsed.decision, stream=page.stream)
    except RPCError:
        return decision_page(
            request,
            page,
            state,
            form,
            503,
            parsed.values,
            refusal="The case service did not answer. The decision may not have been"
            " recorded: check the decisions so far before trying again.",
        )
    if not outcome.accepted:
        return decision_page(
            request, page, state, form, 409, parsed.values, refusal=outcome.message
        )
    request.state.session["flash"] = {
        "title": page.contract.path.title(wanted),
        "summary": outcome.message,
    }
    return RedirectResponse(page.url(case_id), status_code=303)


def add_routes(page: PathPage) -> None:
    """The path's page and its decision forms, at the path's own address."""

    async def path_page(request: Request, case_id: str, user: CurrentUser) -> Response:
        return await show_path(request, page, case_id, user)

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
    decision = page.decision_url("{case_id}", "{kind}")
    router.add_api_route(decision, decision_form, methods=["GET"], name=f"{name}_decision_form")
    router.add_api_route(decision, decide, methods=["POST"], name=f"{name}_decide")


for _page in PAGES.values():
    add_routes(_page)
