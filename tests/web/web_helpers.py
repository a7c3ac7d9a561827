"""Shared pieces for the web form tests: invented accounts, a running case, form helpers.

Every name and reference here is invented.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.case import TASK_QUEUE
from contracts.client import read_case, start_case
from domain.calendar import LONDON, london_instant
from domain.case_record import CaseSummary, RecordBatch, Stream
from domain.case_state import CaseState
from records.store import RecordStore
from tests.case_helpers import case_start, procedure, unique
from web.settings import Settings
from web.users import UserStore
from workers.main import build_worker

PROCEDURE = "bct-management-note"
PASSWORD = "correct horse battery"
# sign-in id -> role (bct-management-note: a team manager requests, an area head approves)
ACCOUNTS = {
    "sol.worker": "social_worker",
    "tess.manager": "team_manager",
    "hal.head": "area_head_of_service",
    "cora.cpservice": "cp_conference_service",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_users(path: Path) -> Path:
    store = UserStore(path)
    for user, role in ACCOUNTS.items():
        store.add(user, role, PASSWORD, name=user.split(".")[0].title() + " Example", replace=True)
    return path


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "secret": "test-secret-" + "x" * 40,
        "users_file": make_users(tmp_path / "users.json"),
        "signin_delay": 0.05,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def recent_working_day() -> date:
    day = datetime.now(LONDON).date() - timedelta(days=2)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class WebCase:
    client: Client
    case_id: str
    reference: str

    async def state(self) -> CaseState:
        return await read_case(self.client, self.case_id)

    async def events(self) -> list[tuple[str, str | None]]:
        return [(e.event, e.by.user if e.by else None) for e in (await self.state()).timeline]

    async def proposed_delay_date(self, extra_days: int = 7) -> date:
        return (await self.state()).deadline.astimezone(LONDON).date() + timedelta(extra_days)


async def start_web_case(client: Client, prefix: str = "WEB") -> WebCase:
    proc = procedure(PROCEDURE)
    reference = unique(prefix)
    strategy = london_instant(recent_working_day(), time(10, 0))
    started = await start_case(client, case_start(proc, strategy, reference=reference), proc)
    case = WebCase(client, started.case_id, reference)
    for _ in range(150):  # until it has planned its due dates and answers queries
        with contextlib.suppress(Exception):
            if (await case.state()).timeline:
                return case
        await asyncio.sleep(0.1)
    raise AssertionError("the case did not start in time")


@contextlib.asynccontextmanager
async def worker_and_cleanup(env: WorkflowEnvironment) -> AsyncIterator[list[WebCase]]:
    """A worker on the case task queue; cases the test puts in the list are ended after."""
    cases: list[WebCase] = []
    async with build_worker(env.client, TASK_QUEUE):
        try:
            yield cases
        finally:
            for case in cases:
                with contextlib.suppress(Exception):
                    await env.client.get_workflow_handle(case.case_id).terminate("test finished")


def invented_summary(
    reference: str,
    *,
    procedure_id: str = PROCEDURE,
    strategy: datetime,
    deadline: datetime | None,
    stage: str = "awaiting_confirmation",
    is_open: bool = True,
    awaiting_role: str | None = "team_manager",
    outcome: str | None = None,
    closed_reason: str | None = None,
) -> CaseSummary:
    """A case summary as a workflow would record it, for a case that never ran."""
    day = strategy.astimezone(LONDON)
    return CaseSummary(
        case_id=f"icpc-{procedure_id}-{reference}-{day:%Y%m%d}",
        case_reference=reference,
        family_reference=f"FAM-{reference}",
        procedure_id=procedure_id,
        stream=Stream.CASE,
        stage=stage,
        is_open=is_open,
        strategy_discussion=strategy,
        icpc_deadline=strategy + timedelta(days=21),
        deadline=deadline if is_open else None,
        awaiting_role=awaiting_role if is_open else None,
        outcome=outcome,
        closed_at=None if is_open else strategy + timedelta(days=10),
        closed_reason=None if is_open else closed_reason,
    )


def record_summaries(url: str, summaries: list[CaseSummary]) -> None:
    """Write each summary to the case record, as the record activity does."""
    with RecordStore(url) as store:
        for summary in summaries:
            store.append(
                RecordBatch(case_id=summary.case_id, stream=summary.stream, summary=summary)
            )
