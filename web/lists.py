"""Lists of cases: those waiting for the signed-in role (every path), and all open cases.

"Waiting for me" finds the running paths whose next decision is for the role in Temporal's
visibility, then asks each (a few at a time, briefly) for its state, which says what the user
may decide now. A path that does not answer in time is still listed, with what visibility
knows; one that has moved on since visibility was written is left out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.common import TypedSearchAttributes
from temporalio.service import RPCError

from contracts import search_attributes as sa
from contracts.client import list_cases, read_path
from contracts.paths import BY_WORKFLOW_TYPE, PATHS, PathContract, PathState
from domain.calendar import LONDON
from domain.case_record import Stream
from web.dependencies import Problem, render, require_user, services, temporal
from web.pages import PAGES, case_id_of
from web.presentation import STAGE_TAGS, DaysLeft, days_left, days_left_by_calendar
from web.users import User

QUERY_TIMEOUT = 3.0  # seconds a path may take to answer for the waiting list
PARALLEL_QUERIES = 8

router = APIRouter()

CurrentUser = Annotated[User, Depends(require_user)]
Temporal = Annotated[Client, Depends(temporal)]


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


async def _state(
    client: Client, contract: PathContract, case_id: str, limit: asyncio.Semaphore
) -> PathState | None:
    async with limit:
        try:
            return await asyncio.wait_for(
                read_path(client, case_id, contract.stream), QUERY_TIMEOUT
            )
        except (RPCError, WorkflowQueryFailedError, TimeoutError):
            return None


@router.get("/waiting")
async def waiting(request: Request, user: CurrentUser, client: Temporal) -> Response:
    types = ", ".join(f"'{t}'" for t in BY_WORKFLOW_TYPE)
    query = (
        f"WorkflowType IN ({types}) AND ExecutionStatus = 'Running'"
        f" AND {sa.AWAITING_ROLE.name} = '{user.role}'"
    )
    rows: list[tuple[PathContract, str, TypedSearchAttributes]] = []
    try:
        async for w in client.list_workflows(query, limit=200):
            contract = BY_WORKFLOW_TYPE.get(w.workflow_type or "")
            if contract is None:
                continue
            try:
                case_id = case_id_of(contract, w.id)
            except LookupError:  # not an id this form makes: not ours to show
                continue
            rows.append((contract, case_id, w.typed_search_attributes))
    except RPCError as error:
        raise Problem(503, "Sorry, the list could not be read", "Try again.") from error
    limit = asyncio.Semaphore(PARALLEL_QUERIES)
    states = await asyncio.gather(*(_state(client, c, case_id, limit) for c, case_id, _ in rows))
    now = datetime.now(LONDON)
    procedures = services(request).procedures
    items = []
    for (contract, case_id, attrs), state in zip(rows, states, strict=True):
        page = PAGES[contract.stream]
        if state is None:  # it did not answer in time: what visibility knows
            deadline = attrs.get(sa.DEADLINE)
            procedure = procedures.get(attrs.get(sa.PROCEDURE) or "")
            calendar = procedure.calendar if procedure is not None else None
            item = Waiting(
                url=page.url(case_id),
                reference=attrs.get(sa.CASE_REFERENCE) or case_id,
                what=page.label,
                stage=attrs.get(page.stage_attribute),
                deadline=deadline,
                days_left=days_left_by_calendar(calendar, deadline, now),
                decisions=[],
            )
        elif user.role not in state.awaiting_roles():
            continue  # visibility is a moment behind: it has moved on
        else:
            path = contract.path
            item = Waiting(
                url=page.url(case_id),
                reference=attrs.get(sa.CASE_REFERENCE) or case_id,
                what=page.label,
                stage=state.stage,
                deadline=state.statutory_due,
                days_left=days_left(state, now),
                decisions=[path.title(k) for k in path.available(state, user.role, user.user)],
            )
        items.append(item)
    far = datetime.max.replace(tzinfo=LONDON)
    items.sort(key=lambda i: i.deadline or far)
    return render(request, "waiting.html", items=items, stage_tags=STAGE_TAGS)


@router.get("/cases")
async def all_cases(request: Request, user: CurrentUser, client: Temporal) -> Response:
    workflow_type = PATHS[Stream.CASE].workflow_type
    query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running'"
    try:
        rows = await list_cases(client, query)
    except RPCError as error:
        raise Problem(503, "Sorry, the list could not be read", "Try again.") from error
    far = datetime.max.replace(tzinfo=LONDON)
    rows.sort(key=lambda r: r.deadline or far)
    now = datetime.now(LONDON)
    return render(request, "cases.html", rows=rows, now=now, stage_tags=STAGE_TAGS)
