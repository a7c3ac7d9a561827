"""The API's cases: start one or a CSV batch, read a case or its plan, decide, list.

The same use cases as the pages, as the person the token (or session) names: starting is
:mod:`web.starting`, deciding :mod:`web.deciding`, reading :func:`web.case_pages.open_path`
and :func:`web.case_pages.sight` (scoped, audited ``view_case``), lists
:mod:`web.lists` (scoped by the record's SQL, audited ``list_cases``).

``{case}`` is a case's workflow id (``icpc-...``) or its case reference: a reference names the
open case with it that the person may see (else the newest); two open ones are a 422 naming
both. A case they may not see is the same 404 as one
that does not exist, with the same words; a senior role reads it by breaking glass.

A decision is always the caller's own: a body naming ``decided_by`` is refused (422), never
believed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.case_input import InputError, decode_batch, pydantic_reason
from contracts.client import find_case_ids
from contracts.paths import path_for
from domain.case_record import Stream, complete_timeline
from domain.decisions import DecisionBase
from domain.people import Person
from domain.scoping import may_see
from domain.wording import roles_text
from web.api_door import ApiPerson, ProblemDetail
from web.case_access import case_scope, not_found
from web.case_pages import Opened, open_path, recorded_events, sight
from web.deciding import Choice, decide_as
from web.dependencies import services, temporal
from web.forms import REASSIGNED_ROLE
from web.lists import PAGE_SIZE, STATUSES, audit_list, read_page, read_search, summary_scope
from web.pages import CASE_ID, PAGES, PathPage
from web.problems import Problem
from web.record_access import RecordsUnavailable
from web.starting import import_as, start_as

router = APIRouter(tags=["cases"])

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"model": ProblemDetail, "description": "Refused, with the plain reason"},
    404: {"model": ProblemDetail, "description": "No such case, or not one you may see"},
    409: {"model": ProblemDetail, "description": "The case refused it (closed, or not now)"},
    422: {"model": ProblemDetail, "description": "Input to correct, with what and where"},
}


# --- starting -------------------------------------------------------------------------------


class StartFields(BaseModel):
    """One case, in the fields ``icpc import`` reads as CSV columns; contacts as
    ``ROLE_name`` / ``ROLE_email`` / ``ROLE_user`` (``social_worker_email``: a role the
    procedure declares; ``ROLE_user`` allocates the case to that person)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "procedure": "bct-management-note",
                "case_reference": "BCT-1001",
                "family_reference": "FAM-77",
                "strategy_date": "2026-12-17",
                "strategy_time": "10:30",
                "team": "north-1",
                "area": "north",
                "social_worker_name": "Sam Worker",
                "social_worker_email": "sam@council.example.gov.uk",
                "social_worker_user": "sam",
            }
        },
    )

    procedure: str
    case_reference: str
    family_reference: str
    strategy_date: str = Field(description="YYYY-MM-DD, the day it was held")
    strategy_time: str = Field("09:00", description="HH:MM, Europe/London")
    section_47: bool | str = "yes"
    likelihood: str = "likely"
    previous_plan_ended: str = ""
    team: str = ""
    area: str = ""

    def fields(self) -> dict[str, str]:
        """As the flat text fields :func:`contracts.case_input.build_case_start` reads."""
        flat: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, bool):
                flat[name] = "yes" if value else "no"
            elif value is None:
                flat[name] = ""
            elif isinstance(value, str | int | float):
                flat[name] = str(value)
            else:
                raise Problem(422, "The case cannot be started", f"{name}: must be text")
        return flat


class StartedCase(BaseModel):
    case_id: str
    created: bool  # False: the case already existed and was left as it is


@router.post(
    "/cases",
    response_model=StartedCase,
    status_code=201,
    summary="Start a case (201), or find it already started (200)",
    responses={200: {"model": StartedCase, "description": "Already started"}, **REFUSALS},
)
async def start(
    body: StartFields, request: Request, response: Response, person: ApiPerson
) -> StartedCase:
    started = await start_as(request, person, body.fields())
    response.status_code = 201 if started.created else 200
    return StartedCase(case_id=started.case_id, created=started.created)


class BadLine(BaseModel):
    line: int
    reason: str


class Imported(BaseModel):
    rows: int  # the rows read (blank lines left out)
    started: list[str]  # case ids started now
    existing: list[str]  # case ids already started: nothing started twice
    bad: list[BadLine]


@router.post(
    "/cases/import",
    response_model=Imported,
    summary="Start a CSV batch of cases (text/csv, the columns of POST /cases)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
    responses=REFUSALS,
)
async def import_batch(request: Request, person: ApiPerson) -> Imported:
    try:
        text = decode_batch(await request.body())
    except InputError as error:
        raise Problem(422, "The file cannot be imported", str(error)) from None
    batch = await import_as(request, person, text)
    return Imported(
        rows=batch.rows,
        started=batch.started,
        existing=batch.existing,
        bad=[BadLine(line=row.line, reason=row.reason) for row in batch.bad],
    )


# --- reading --------------------------------------------------------------------------------


async def case_id_of(request: Request, page: PathPage, person: Person, case: str) -> str:
    """The workflow id ``case`` names: as given, or the case with that reference the person may
    see (the record's, else Temporal's visibility while the record catches up): the one still
    open, else the newest. Two open cases with one reference (two strategy discussions of one
    child) are refused, naming both (those the person may see): which is meant is theirs to
    say, with its workflow id."""
    case = case.strip()
    if case.startswith("icpc-"):
        if not CASE_ID.match(case):
            raise not_found(page)
        return case
    try:
        found = await services(request).records.read(lambda store: store.find(case))
    except RecordsUnavailable:
        found = []
    seen = [summary for summary in found if may_see(person, summary_scope(summary))]
    if seen:
        return _one_case(case, [s.case_id for s in seen if s.is_open] or [seen[0].case_id])
    if found:
        raise not_found(page)
    running = []
    for case_id in await find_case_ids(await temporal(request), case):
        scope = await case_scope(request, case_id)
        if scope is not None and may_see(person, scope):
            running.append(case_id)
    if not running:
        raise not_found(page)
    return _one_case(case, running)


def _one_case(reference: str, case_ids: list[str]) -> str:
    if len(case_ids) == 1:
        return case_ids[0]
    raise Problem(
        422,
        "The case reference names more than one case",
        f"{len(case_ids)} open cases have the reference {reference}: {', '.join(case_ids)}."
        " Give the workflow id of the one you mean.",
    )


class CaseRead(BaseModel):
    """A path as ``icpc show --json`` prints it: its workflow's state (None once Temporal has
    deleted it), the case record's summary and the whole timeline."""

    case_id: str
    stream: str
    summary: dict[str, Any] | None
    timeline: list[dict[str, Any]]
    state: dict[str, Any] | None
    read_only: bool = False  # read by breaking glass
    glass_role: str | None = None


async def case_read(
    request: Request, page: PathPage, case_id: str, opened: Opened, *, glass_role: str | None
) -> CaseRead:
    try:
        summary = await services(request).records.read(lambda store: store.summary(case_id))
        recorded = await recorded_events(request, case_id, page.stream)
    except RecordsUnavailable:  # what the workflow holds
        summary, recorded = None, []
    if opened.recorded is not None:
        summary, recorded = opened.recorded
    timeline = complete_timeline(recorded, opened.state)
    return CaseRead(
        case_id=case_id,
        stream=page.stream.value,
        summary=summary.model_dump(mode="json") if summary else None,
        timeline=[e.model_dump(mode="json") for e in timeline],
        state=opened.state.model_dump(mode="json") if opened.state else None,
        read_only=glass_role is not None,
        glass_role=glass_role,
    )


async def read_as(
    request: Request, page: PathPage, case: str, person: Person, glass_reason: str | None
) -> CaseRead:
    case_id = await case_id_of(request, page, person, case)
    opened = await open_path(request, page, case_id)
    seen = await sight(request, case_id, person, opened, glass_reason)
    if seen.in_scope:  # nothing to break: read as usual
        return await read_as(request, page, case_id, person, None)
    if seen.retry:
        raise Problem(
            400,
            "Say why you need to read this case",
            "Give the reason in at least 10 characters (not counting spaces).",
        )
    if not seen.seen:
        raise not_found(page)
    glass = seen.glass
    role = (glass.role or "") if glass is not None else None
    return await case_read(request, page, case_id, opened, glass_role=role)


class GlassReason(BaseModel):
    reason: str = Field(description="why you need to read this case, at least 10 characters")


def add_read_routes(page: PathPage, base: str) -> None:
    noun = page.noun

    async def read(case: str, request: Request, person: ApiPerson) -> CaseRead:
        return await read_as(request, page, case, person, None)

    async def break_glass(
        case: str, body: GlassReason, request: Request, person: ApiPerson
    ) -> CaseRead:
        return await read_as(request, page, case, person, body.reason)

    router.add_api_route(
        base,
        read,
        methods=["GET"],
        response_model=CaseRead,
        summary=f"Read the {noun}: its state and timeline",
        responses=REFUSALS,
        name=f"api_read_{page.stream.value}",
    )
    router.add_api_route(
        f"{base}/break-glass",
        break_glass,
        methods=["POST"],
        response_model=CaseRead,
        summary=f"Read the {noun} out of your scope, read-only, with a reason (senior roles)",
        responses=REFUSALS,
        name=f"api_break_glass_{page.stream.value}",
    )


# --- deciding -------------------------------------------------------------------------------


class DecisionBody(BaseModel):
    """A decision: its ``kind`` and its fields as the domain's decision models name them
    (``reason``, ``booking`` {``starts_at``, ``format``, ``venue``, ``chair``},
    ``proposed_date``, ``safety_plan``, ``outcome``, ``invitees`` [...], ``step``, ``choice``
    ...). ``role``: the role you decide in (needed only when you may take it in several);
    ``person``: for ``reassign_worker``, who takes the case over. Never ``decided_by``: the
    decider is the person calling."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {"kind": "withdraw_icpc", "reason": "Enquiry concluded: no ICPC needed"}
        },
    )

    kind: str
    role: str = ""
    person: str = ""
    person_role: str = REASSIGNED_ROLE


class DecisionAnswer(BaseModel):
    accepted: bool
    message: str
    stage: str | None = None


def decision_page(kind: str, plan: bool) -> PathPage:
    """The path that takes ``kind`` (``plan``: the plan, for a decision both take)."""
    try:
        return PAGES[path_for(kind, Stream.PLAN if plan else None).stream]
    except LookupError:
        raise Problem(422, "There is no such decision", f"'{kind}' is not a decision") from None


def decision_fields(body: DecisionBody) -> dict[str, Any]:
    """The decision's own fields, refused (422) when they name who decides or whom a
    reassignment is to: the service says those."""
    fields = dict(body.model_extra or {})
    if "decided_by" in fields:
        raise Problem(
            422,
            "A decision names no decider",
            "decided_by: leave it out; a decision is recorded as the person whose token sends it",
        )
    if "contact" in fields:
        raise Problem(
            422,
            "A reassignment names a person",
            "contact: leave it out; give person, the id of who takes the case over",
        )
    if body.person and body.kind != "reassign_worker":
        raise Problem(422, "The decision is not complete", "person: for reassign_worker only")
    if body.kind == "reassign_worker" and not body.person.strip():
        raise Problem(
            422, "The decision is not complete", "person: the id of who takes the case over"
        )
    if body.person_role != REASSIGNED_ROLE:
        raise Problem(
            422,
            "The decision is not complete",
            f"person_role: only the {REASSIGNED_ROLE.replace('_', ' ')} is reassigned",
        )
    return fields


async def decide(
    request: Request, case: str, body: DecisionBody, person: Person, plan: bool
) -> DecisionAnswer:
    fields = decision_fields(body)
    page = decision_page(body.kind, plan)
    case_id = await case_id_of(request, page, person, case)

    def build(choice: Choice) -> DecisionBase | Problem:
        if not choice.role_chosen:
            roles = roles_text(choice.deciding.state.procedure, choice.deciding.roles)
            return Problem(
                422,
                "Say which role you decide in",
                f"You may take this decision as {roles}: say which with role.",
            )
        data = {**fields, "kind": body.kind, "decided_by": choice.decider, **choice.extra}
        try:
            decision: DecisionBase = page.contract.path.adapter.validate_python(data)
        except ValidationError as error:
            reason = pydantic_reason(error).removeprefix(f"{body.kind}.")
            return Problem(422, "The decision is not complete", reason)
        return decision

    taken = await decide_as(
        request, page, case_id, body.kind, person, body.role, body.person, build
    )
    if taken.unbuilt is not None:
        raise taken.unbuilt
    outcome = taken.outcome
    if outcome is None:
        raise Problem(
            503,
            "The case service did not answer",
            "Whether the decision was taken is not known: read the case before sending it"
            " again (a repeat is refused).",
        )
    if not outcome.accepted:
        raise Problem(409, "The case did not take this decision", outcome.message)
    return DecisionAnswer(accepted=True, message=outcome.message, stage=outcome.stage)


def add_decision_route(base: str, plan: bool) -> None:
    async def route(
        case: str, body: DecisionBody, request: Request, person: ApiPerson
    ) -> DecisionAnswer:
        return await decide(request, case, body, person, plan)

    router.add_api_route(
        f"{base}/decisions",
        route,
        methods=["POST"],
        response_model=DecisionAnswer,
        summary="Take a decision on the plan"
        if plan
        else "Take a decision on the case (a plan's decision goes to its plan)",
        responses=REFUSALS,
        name=f"api_decide_{'plan' if plan else 'case'}",
    )


CASE_BASE = "/cases/{case}"
add_read_routes(PAGES[Stream.CASE], CASE_BASE)
add_read_routes(PAGES[Stream.PLAN], f"{CASE_BASE}/plan")
add_decision_route(CASE_BASE, plan=False)
add_decision_route(f"{CASE_BASE}/plan", plan=True)


# --- lists --------------------------------------------------------------------------------------


CHOICES = ("procedure", "stage", "outcome")


class CaseList(BaseModel):
    rows: list[dict[str, Any]]  # the case record's summaries, soonest deadline first
    total: int
    page: int
    pages: int
    page_size: int


@router.get(
    "/cases",
    response_model=CaseList,
    summary="The cases you may see, soonest deadline first",
    responses=REFUSALS,
)
async def list_cases(
    request: Request,
    person: ApiPerson,
    status: str = "open",
    procedure: str = "",
    stage: str = "",
    month: str = "",
    outcome: str = "",
    q: Annotated[str, Query(description="case references starting with this")] = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> CaseList:
    if status not in STATUSES:
        raise Problem(422, "The search is not complete", "status: open, closed or all")
    if page < 1 or not 1 <= page_size <= 1000:
        raise Problem(422, "The search is not complete", "page starts at 1; page_size is 1 to 1000")
    query = {
        "status": status,
        "procedure": procedure,
        "stage": stage,
        "month": month,
        "outcome": outcome,
        "reference": q,
    }
    search, errors = read_search(query, services(request).procedures)
    unknown = [name for name in CHOICES if query[name] and getattr(search, name) != query[name]]
    if unknown:  # the page ignores a choice it does not offer; a program is told
        errors |= {name: f"{name}: '{query[name]}' is not one of the choices" for name in unknown}
    if errors:
        raise Problem(422, "The search is not complete", "; ".join(errors.values()))
    found = await read_page(request, search.filters(person), page, page_size)
    await audit_list(request, person, "cases", search.params(), found)
    return CaseList(
        rows=[row.model_dump(mode="json") for row in found.rows],
        total=found.total,
        page=found.page,
        pages=found.pages,
        page_size=found.page_size,
    )
