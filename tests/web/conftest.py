"""Shared pieces for the web form tests: invented accounts, a worker on the dev server, real cases.

Every name, reference and password here is invented.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.case import DECIDE_UPDATE, DecisionRequest, DecisionResult
from domain.calendar import LONDON
from domain.case_rules import CASE_DECISION
from domain.case_state import CaseState
from domain.decisions import Decider
from records.database import ensure_ready
from tests.case_helpers import RunningCase, procedure, start_running_case, unique
from tests.conftest import MailCatcher
from tests.web.web_helpers import accounts_database, allocated_to
from web.settings import Settings
from workers.main import build_worker

BCT = "bct-management-note"
PASSWORD = "correct horse battery staple"

# sign-in id -> (role, display name); one account per role the tests act in.
ACCOUNTS = {
    "tmanager": ("team_manager", "Team Manager Tess"),
    "hos": ("area_head_of_service", "Head of Service Hal"),
    "sworker": ("social_worker", "Social Worker Sam"),
}


@pytest.fixture(scope="session", autouse=True)
def record_ready(case_record: str) -> str:
    """The session's case record exists before any page reads it (a worker would create it
    on start; the lists are read before any worker may have started)."""
    ensure_ready(case_record)
    return case_record


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    """The form's settings, with :data:`ACCOUNTS` in a throwaway accounts database of the
    test's own (people, sessions, sign-in failures, the audit trail)."""
    url = accounts_database(
        tmp_path / "accounts",
        tuple((user, role, PASSWORD, name) for user, (role, name) in ACCOUNTS.items()),
    )
    return Settings(
        secret="test-secret-not-for-use-anywhere-else",
        accounts_url=url,
        session_minutes=30,
        signin_delay=0.2,
    )


@pytest.fixture
async def web_worker(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> AsyncIterator[Worker]:
    async with build_worker(dev_env.client, task_queue=unique("web-cases")) as w:
        yield w


async def open_case(
    env: WorkflowEnvironment,
    worker: Worker,
    days_ago: int = 3,
    prefix: str = "WEB",
    **start: object,
) -> RunningCase:
    """A bct-management-note case whose strategy discussion was ``days_ago`` days ago,
    allocated to :data:`ACCOUNTS` (``start`` changes its start: ``team=``, ``contacts=`` ...)."""
    strategy = datetime.now(LONDON) - timedelta(days=days_ago)
    start.setdefault("contacts", allocated_to({u: role for u, (role, _) in ACCOUNTS.items()}, BCT))
    return await start_running_case(
        env, procedure(BCT), strategy, worker.task_queue, unique(prefix), **start
    )


def after_deadline(state: CaseState, days: int = 10) -> date:
    """A proposed conference date ``days`` after the statutory limit (and after today)."""
    limit = state.deadline.astimezone(LONDON).date()
    return max(limit, datetime.now(LONDON).date()) + timedelta(days=days)


async def request_delay(case: RunningCase, user: str = "tmanager") -> DecisionResult:
    """The team manager asks for a delay straight through the update, as the form would."""
    state = await case.state()
    d = CASE_DECISION.validate_python(
        {
            "kind": "request_delay",
            "decided_by": Decider(user=user, role="team_manager"),
            "proposed_date": after_deadline(state),
            "reason": "Key agency cannot attend within the limit",
            "safety_plan": "Daily visits by the social worker",
        }
    )
    result: DecisionResult = await case.handle.execute_update(
        DECIDE_UPDATE, DecisionRequest(decision=d), result_type=DecisionResult
    )
    await case.settle()
    return result


async def updates_received(case: RunningCase) -> int:
    """Updates the workflow admitted or accepted (a refused one by its validator leaves none)."""
    history = await case.handle.fetch_history()
    kinds = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    }
    return sum(1 for e in history.events if e.event_type in kinds)
