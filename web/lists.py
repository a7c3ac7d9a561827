"""Lists of cases, from the case record: those waiting for the signed-in person, and every case
(open, closed or both) with a filter form. Both are paged, the soonest deadline first, and
both hold only the cases the person may see (:func:`domain.scoping.may_see`, as the record's
SQL: ``CaseFilter(visible_to=...)``).

"Waiting for me" holds the cases whose next decision is for one of the person's roles *and*
which they may decide on in that role (:func:`domain.scoping.may_decide`): a team manager who
also holds the social worker role sees the team's cases waiting for a team manager, and only
the cases allocated to them among those waiting for a social worker.

The record is written by the workflows a moment after each change. "Waiting for me" confirms
each row of the page shown with its path (a few at a time, briefly), which also says what the
user may decide now: a path that has moved on since the record was written is left out, one
that does not answer in time is listed as the record has it; one Temporal no longer has (a
terminated case deleted after retention, which the record still calls open) is left out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.client import read_path
from contracts.paths import PATHS, PathContract, PathState
from domain.calendar import LONDON, past_limit
from domain.case_record import CaseSummary, Stream
from domain.case_state import Stage
from domain.decisions import Outcome
from domain.people import PRODUCT_ROLES, Person
from domain.plan_state import PlanStage
from domain.scoping import CaseScope, may_decide, scope_of
from records.audit import Action
from records.audit import Outcome as Audited
from records.store import CaseFilter, CasePage, RecordStore
from web.case_access import audit
from web.dependencies import render, require_user, services
from web.pages import PAGES
from web.presentation import STAGE_TAGS, DaysLeft, days_left, days_left_by_calendar
from web.problems import Problem
from web.rendering import words
from web.users import acting_roles

PAGE_SIZE = 50
QUERY_TIMEOUT = 3.0  # seconds a path may take to answer for the waiting list
PARALLEL_QUERIES = 8
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
REFERENCE_LIMIT = 200

STATUSES: dict[str, tuple[str, bool | None]] = {
    "open": ("Open cases", True),
    "closed": ("Closed cases", False),
    "all": ("Open and closed cases", None),
}
OUTCOMES: dict[str, str] = {
    Outcome.CHILD_PROTECTION_PLAN: "Child protection plan",
    Outcome.NO_PLAN: "No plan",
}
STAGE_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("ICPC", [(s.value, words(s.value)) for s in Stage]),
    ("Child protection plan", [(s.value, words(s.value)) for s in PlanStage]),
]
STAGES = {value for _, options in STAGE_GROUPS for value, _ in options}

router = APIRouter()

CurrentUser = Annotated[Person, Depends(require_user)]


# --- paging ------------------------------------------------------------------------------------


def page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return int(text) if text.isdigit() and 0 < int(text) < 1_000_000 else 1


@dataclass(frozen=True)
class Pagination:
    """Links to the other pages of a list, as GOV.UK's pagination component shows them."""

    page: int
    pages: int
    base: str
    params: Mapping[str, str] = field(default_factory=dict)

    def url(self, page: int) -> str:
        query = {**self.params, **({"page": str(page)} if page > 1 else {})}
        return f"{self.base}?{urlencode(query)}" if query else self.base

    @property
    def previous(self) -> str | None:
        return self.url(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        return self.url(self.page + 1) if self.page < self.pages else None

    @property
    def items(self) -> list[int | None]:
        """The page numbers to link: the first, the last and the current with its neighbours;
        None where a run of pages is left out."""
        wanted = sorted({1, self.pages, self.page - 1, self.page, self.page + 1})
        items: list[int | None] = []
        for number in (n for n in wanted if 1 <= n <= self.pages):
            if items and items[-1] is not None and number > items[-1] + 1:
                items.append(None)
            items.append(number)
        return items


async def read_page(
    request: Request, filters: CaseFilter, page: int, page_size: int = PAGE_SIZE
) -> CasePage:
    """The page of cases, or the last page if ``page`` is past it."""

    def query(store: RecordStore) -> CasePage:
        found = store.list_cases(filters, page=page, page_size=page_size)
        if found.page > found.pages:
            found = store.list_cases(filters, page=found.pages, page_size=page_size)
        return found

    return await services(request).records.read(query)


async def audit_list(
    request: Request, user: Person, what: str, params: Mapping[str, str], found: CasePage
) -> None:
    """One audit row for a list or search read (``list_cases``): who, which list, its filters
    and page, and how many cases matched; never what the rows say (no child's name is in a
    filter: a case reference at most)."""
    filters = " ".join(f"{name}={value}" for name, value in sorted(params.items()))
    await audit(
        request,
        Action.LIST_CASES,
        Audited.OK,
        user,
        case_id=None,
        detail=f"{what}: {filters or 'no filters'}; page {found.page}, {found.total} case(s)",
    )


# --- Waiting for me ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """One row of "Waiting for me"."""

    url: str
    reference: str
    what: str
    stage: str | None
    deadline: datetime | None
    days_left: DaysLeft | None
    decisions: list[str]


@router.get("/")
async def home(user: CurrentUser) -> Response:
    return RedirectResponse("/waiting", status_code=303)


GONE = "gone"  # Temporal has no such workflow: it takes no decisions, whatever the record says


async def _state(
    client: Client, contract: PathContract, case_id: str, limit: asyncio.Semaphore
) -> PathState | str | None:
    """The path's state; GONE if Temporal has no such workflow; None if it did not answer."""
    async with limit:
        try:
            return await asyncio.wait_for(
                read_path(client, case_id, contract.stream), QUERY_TIMEOUT
            )
        except RPCError as error:
            return GONE if error.status == RPCStatusCode.NOT_FOUND else None
        except (WorkflowQueryFailedError, TimeoutError):
            return None


async def _live_client(request: Request) -> Client | None:
    """The Temporal client if the case service can be reached; the list does without."""
    try:
        return await services(request).clients.get()
    except Problem:
        return None


def summary_scope(row: CaseSummary) -> CaseScope:
    return scope_of(row.procedure_id, row.team, row.area, row.allocated)


def decides_as(user: Person, role: str | None, scope: CaseScope) -> bool:
    """Whether the person may act on the case in ``role`` (the role its next decision is for):
    they hold it and the case is in their scope through it."""
    return role is not None and bool(may_decide(user, role, [role], scope))


@router.get("/waiting")
async def waiting(request: Request, user: CurrentUser) -> Response:
    filters = CaseFilter(is_open=True, awaiting_roles=user.roles, visible_to=user)
    found = await read_page(request, filters, page_number(request))
    await audit_list(request, user, "waiting", {}, found)
    # The record lists by role and sight; acting in the awaited role may need more (a social
    # worker acts only on the cases allocated to them, whatever else they may see).
    found = replace(
        found, rows=[r for r in found.rows if decides_as(user, r.awaiting_role, summary_scope(r))]
    )
    client = await _live_client(request)
    if client is not None:
        limit = asyncio.Semaphore(PARALLEL_QUERIES)
        states = await asyncio.gather(
            *(_state(client, PATHS[row.stream], row.case_id, limit) for row in found.rows)
        )
    else:
        states = [None] * len(found.rows)
    now = datetime.now(LONDON)
    procedures = services(request).procedures
    items = []
    for row, state in zip(found.rows, states, strict=True):
        page = PAGES[row.stream]
        if state == GONE:
            continue  # the record says open, but no workflow is left to decide it
        if state is None or isinstance(state, str):  # not answering: as the record has it
            procedure = procedures.get(row.procedure_id)
            calendar = procedure.calendar if procedure is not None else None
            item = Waiting(
                url=page.url(row.case_id),
                reference=row.case_reference,
                what=page.label,
                stage=row.stage,
                deadline=row.deadline,
                days_left=days_left_by_calendar(calendar, row.deadline, now),
                decisions=[],
            )
        elif not any(decides_as(user, r, summary_scope(row)) for r in state.awaiting_roles()):
            continue  # the record is a moment behind: it has moved on
        else:
            path = page.contract.path
            scope = summary_scope(row)
            item = Waiting(
                url=page.url(row.case_id),
                reference=row.case_reference,
                what=page.label,
                stage=state.stage,
                deadline=state.statutory_due,
                days_left=days_left(state, now),
                decisions=list(
                    dict.fromkeys(
                        path.title(k)
                        for role in acting_roles(user)
                        for k in path.available(state, role, user.id)
                        if may_decide(user, role, state.procedure.roles_for(k), scope)
                    )
                ),
            )
        items.append(item)
    return render(
        request,
        "waiting.html",
        roles=[r for r in acting_roles(user) if r not in PRODUCT_ROLES],
        items=items,
        total=found.total,
        live=client is not None,
        pagination=Pagination(found.page, found.pages, "/waiting"),
        stage_tags=STAGE_TAGS,
    )


# --- every case, with a filter form -------------------------------------------------------------


@dataclass(frozen=True)
class CaseSearch:
    """The filter form's answers, as typed (what goes back in the form and the page links)."""

    reference: str = ""
    stage: str = ""
    procedure: str = ""
    status: str = "open"
    month: str = ""
    outcome: str = ""

    def params(self) -> dict[str, str]:
        """The answers that differ from the defaults, for the page links."""
        default = CaseSearch()
        return {
            name: value
            for name, value in vars(self).items()
            if value and value != getattr(default, name)
        }

    def filters(self, person: Person) -> CaseFilter:
        """The search, over the cases ``person`` may see."""
        return CaseFilter(
            visible_to=person,
            is_open=STATUSES[self.status][1],
            stage=self.stage or None,
            procedure_id=self.procedure or None,
            reference=self.reference or None,
            strategy_month=self.month or None,
            outcome=self.outcome or None,
        )


def read_search(
    query: Mapping[str, str], procedures: Mapping[str, object]
) -> tuple[CaseSearch, dict[str, str]]:
    """The search from the query string, and an error per answer that cannot be used (that
    answer is then left out of the search). A choice that is not offered is ignored."""
    errors: dict[str, str] = {}
    reference = " ".join(query.get("reference", "").split())
    if len(reference) > REFERENCE_LIMIT:
        errors["reference"] = f"A case reference must be {REFERENCE_LIMIT} characters or fewer"
        reference = ""
    month = query.get("month", "").strip()
    if month and not MONTH.match(month):
        errors["month"] = (
            "Enter the month of the strategy discussion as a year and month, like 2026-11"
        )
        month = ""
    status = query.get("status", "open")
    search = CaseSearch(
        reference=reference,
        stage=query.get("stage", "") if query.get("stage") in STAGES else "",
        procedure=query.get("procedure", "") if query.get("procedure") in procedures else "",
        status=status if status in STATUSES else "open",
        month=month,
        outcome=query.get("outcome", "") if query.get("outcome") in OUTCOMES else "",
    )
    return search, errors


@dataclass(frozen=True)
class CaseListRow:
    summary: CaseSummary
    url: str
    procedure: str  # its title
    path: str  # which path holds the case now: "ICPC", "Child protection plan"
    past_deadline: bool


@router.get("/cases")
async def all_cases(request: Request, user: CurrentUser) -> Response:
    procedures = services(request).procedures
    search, errors = read_search(request.query_params, procedures)
    found = await read_page(request, search.filters(user), page_number(request))
    await audit_list(request, user, "cases", search.params(), found)
    now = datetime.now(LONDON)
    rows = [
        CaseListRow(
            summary=row,
            url=PAGES[Stream.CASE].url(row.case_id),
            procedure=procedures[row.procedure_id].title
            if row.procedure_id in procedures
            else row.procedure_id,
            path=PAGES[row.stream].label,
            past_deadline=row.is_open
            and row.deadline is not None
            and past_limit(now, row.deadline),
        )
        for row in found.rows
    ]
    return render(
        request,
        "cases.html",
        rows=rows,
        total=found.total,
        first=(found.page - 1) * found.page_size + 1,
        search=search,
        errors=errors,
        # An answer in error goes back in its box as typed, so that it can be corrected.
        typed={name: request.query_params.get(name, "") for name in errors},
        field_ids={name: f"f-{name}" for name in errors},
        statuses={key: label for key, (label, _) in STATUSES.items()},
        stage_groups=STAGE_GROUPS,
        procedure_options=[(key, p.title) for key, p in procedures.items()],
        outcomes=OUTCOMES,
        pagination=Pagination(found.page, found.pages, "/cases", search.params()),
        stage_tags=STAGE_TAGS,
    )
