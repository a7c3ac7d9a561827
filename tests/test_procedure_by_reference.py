"""The procedure travels by reference: its id and content hash, the procedure itself once.

A case's start input names its procedure by content hash; the case's first plan brings the
procedure into its history, once; every later plan goes by reference. The planning activity
finds a version among the installed procedures, content-addressed (an edited file adds a version,
it never replaces one), and refuses a version it cannot find: a running case then sends the
whole procedure it holds, and a case that holds none yet waits for a worker that has it.
Real time-skipping server and SMTP server on loopback; every reference is invented.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities import planning
from activities.planning import (
    UNKNOWN_PROCEDURE,
    InstalledProcedures,
    PlanRequest,
    PlanResult,
    plan_case,
)
from contracts.case import (
    CASE_WORKFLOW,
    CaseInput,
    ProcedureRef,
    case_workflow_id,
    initial_search_attributes,
    procedure_sha256,
)
from domain.calendar import LONDON
from procedures import PROCEDURES_DIR, load_procedure
from starters.cli import CommandError
from starters.worker_command import positive
from tests.case_helpers import (
    book,
    case_start,
    decision,
    invitees,
    procedure,
    start_running_case,
    unique,
)
from tests.conftest import MailCatcher
from workers.main import build_worker

BCT = "bct-management-note"
EDITED_TITLE = "Edited while cases run"
LONDON_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=LONDON)


def edited_copy(folder: Path) -> Path:
    """The installed BCT file, copied to ``folder`` with its title changed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{BCT}.toml"
    shutil.copyfile(PROCEDURES_DIR / f"{BCT}.toml", path)
    text = path.read_text(encoding="utf-8")
    original = procedure(BCT).title
    assert f'title = "{original}"' in text
    path.write_text(text.replace(f'title = "{original}"', f'title = "{EDITED_TITLE}"', 1))
    return path


# --- the reference ------------------------------------------------------------------------------


def test_equal_content_has_one_hash_and_an_edit_has_another(tmp_path: Path) -> None:
    installed = procedure(BCT)
    assert procedure_sha256(installed) == procedure_sha256(procedure(BCT))
    edited = load_procedure(edited_copy(tmp_path))
    assert procedure_sha256(edited) != procedure_sha256(installed)
    assert ProcedureRef.of(installed).id == BCT


def test_a_start_input_names_its_procedure_by_hash_and_the_old_shape_is_still_taken() -> None:
    proc = procedure(BCT)
    start = case_start(proc, LONDON_NOON)
    by_reference = CaseInput.by_reference(start, proc)
    assert by_reference.procedure is None
    assert by_reference.procedure_ref == ProcedureRef.of(proc)
    assert len(by_reference.model_dump_json()) < 2000  # the procedure alone is over 8,000
    whole = CaseInput.model_validate_json(CaseInput(start=start, procedure=proc).model_dump_json())
    assert whole.procedure == proc and whole.procedure_ref == by_reference.procedure_ref
    with pytest.raises(ValidationError):
        CaseInput(start=start)
    with pytest.raises(ValidationError):
        PlanRequest(strategy_discussion=LONDON_NOON)


# --- the planning activity ----------------------------------------------------------------------


async def plan(request: PlanRequest) -> PlanResult:
    result: PlanResult = await ActivityEnvironment().run(plan_case, request)
    return result


async def test_the_activity_plans_by_reference_and_returns_the_procedure_when_asked() -> None:
    proc = procedure(BCT)
    ref = ProcedureRef.of(proc)
    first = await plan(
        PlanRequest(
            procedure_ref=ref,
            strategy_discussion=LONDON_NOON,
            with_calendar=True,
            with_procedure=True,
        )
    )
    assert first.procedure == proc and first.calendar is not None
    later = await plan(PlanRequest(procedure_ref=ref, strategy_discussion=LONDON_NOON))
    assert later.procedure is None
    assert later.schedule == first.schedule


@pytest.mark.parametrize("first_plan", [True, False])
async def test_a_version_the_worker_cannot_find_is_refused(first_plan: bool) -> None:
    ref = ProcedureRef(id=BCT, sha256="0" * 64)
    request = PlanRequest(
        procedure_ref=ref, strategy_discussion=LONDON_NOON, with_procedure=first_plan
    )
    with pytest.raises(ApplicationError) as refused:
        await plan(request)
    assert refused.value.type == UNKNOWN_PROCEDURE
    assert f"no version {'0' * 12} of the procedure '{BCT}'" in refused.value.message
    # The first plan has nothing else to send: it waits (retried) for a worker with the version;
    # a later one is answered at once, and the workflow sends the whole procedure.
    assert refused.value.non_retryable is not first_plan


def test_the_installed_procedures_are_content_addressed_across_an_edit(tmp_path: Path) -> None:
    folder = tmp_path / "procedures"
    folder.mkdir()
    shutil.copyfile(PROCEDURES_DIR / f"{BCT}.toml", folder / f"{BCT}.toml")
    installed = InstalledProcedures(folder)
    installed.REREAD_AFTER = 0.0
    before = ProcedureRef.of(procedure(BCT))
    assert installed.find(before) == procedure(BCT)
    edited = load_procedure(edited_copy(folder))
    after = ProcedureRef.of(edited)
    assert installed.find(after) == edited  # read again: the new version is found
    assert installed.find(before) == procedure(BCT)  # and the one cases started with, still
    assert installed.find(ProcedureRef(id="kent", sha256=before.sha256)) is None


def test_the_worker_command_takes_its_cache_and_concurrency_as_whole_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ICPC_WORKER_MAX_CACHED_WORKFLOWS", raising=False)
    assert positive(None, "--max-cached-workflows", "ICPC_WORKER_MAX_CACHED_WORKFLOWS", 7) == 7
    monkeypatch.setenv("ICPC_WORKER_MAX_CACHED_WORKFLOWS", "250")
    assert positive(None, "--max-cached-workflows", "ICPC_WORKER_MAX_CACHED_WORKFLOWS", 7) == 250
    assert positive("40", "--max-cached-workflows", "ICPC_WORKER_MAX_CACHED_WORKFLOWS", 7) == 40
    for bad in ("0", "-3", "many"):
        with pytest.raises(CommandError, match="--max-cached-workflows must be a whole number"):
            positive(bad, "--max-cached-workflows", "ICPC_WORKER_MAX_CACHED_WORKFLOWS", 7)
    monkeypatch.setenv("ICPC_WORKER_MAX_CACHED_WORKFLOWS", "lots")
    with pytest.raises(CommandError, match="ICPC_WORKER_MAX_CACHED_WORKFLOWS must be"):
        positive(None, "--max-cached-workflows", "ICPC_WORKER_MAX_CACHED_WORKFLOWS", 7)


# --- the case workflow --------------------------------------------------------------------------


@pytest.fixture
async def worker(
    time_skipping_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> AsyncIterator[Worker]:
    async with build_worker(time_skipping_env.client, task_queue=unique("by-ref")) as w:
        yield w


async def decoded(history: WorkflowHistory, kind: EventType.ValueType) -> list[Any]:
    """The first payload of each event of ``kind``, as JSON-like data."""
    out = []
    for event in history.events:
        if event.event_type != kind:
            continue
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name != "plan_case":
                continue
            payloads = attrs.input.payloads
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            payloads = event.activity_task_completed_event_attributes.result.payloads
        else:
            raise AssertionError(kind)
        [value] = await pydantic_data_converter.decode(payloads)
        out.append(value)
    return out


async def test_a_case_carries_its_procedure_once_in_history(
    time_skipping_env: WorkflowEnvironment, worker: Worker
) -> None:
    env = time_skipping_env
    proc = procedure(BCT)
    now = (await env.get_current_time()).astimezone(LONDON)
    case = await start_running_case(
        env, proc, now - timedelta(minutes=10), worker.task_queue, unique("REF")
    )
    try:
        state = await case.signal(decision(proc, "confirm_icpc"))
        await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
        await case.signal(book(proc, state.calendar.add_working_days(state.strategy_day, 12)))
        history = await case.handle.fetch_history()
        [started] = await decoded(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
        assert started.get("procedure") is None
        assert started["procedure_sha256"] == procedure_sha256(proc)
        requests = await decoded(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        assert len(requests) >= 2  # the first plan, and the re-plan the booking asked for
        assert all(r.get("procedure") is None for r in requests)
        assert [r["with_procedure"] for r in requests] == [True] + [False] * (len(requests) - 1)
        results = await decoded(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        carrying = [r for r in results if isinstance(r, dict) and r.get("procedure")]
        assert len(carrying) == 1
        assert carrying[0]["procedure"] == proc.model_dump(mode="json")
        assert (await case.state()).procedure == proc
    finally:
        await case.clean_up()


async def test_a_procedure_file_edited_mid_case_does_not_change_the_running_case(
    time_skipping_env: WorkflowEnvironment,
    worker: Worker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = time_skipping_env
    proc = procedure(BCT)
    now = (await env.get_current_time()).astimezone(LONDON)
    case = await start_running_case(
        env, proc, now - timedelta(minutes=10), worker.task_queue, unique("EDIT")
    )
    try:
        # The file is edited and this worker restarted: it knows only the new version.
        edited = InstalledProcedures(tmp_path / "procedures")
        edited_copy(tmp_path / "procedures")
        monkeypatch.setattr(planning, "INSTALLED", edited)
        state = await case.signal(decision(proc, "confirm_icpc"))
        await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
        state = await case.signal(
            book(proc, state.calendar.add_working_days(state.strategy_day, 12))
        )
        assert state.stage == "booked", state.timeline[-1]
        assert state.procedure == proc and state.procedure.title != EDITED_TITLE
        history = await case.handle.fetch_history()
        failed = [
            e.activity_task_failed_event_attributes.failure
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
        ]
        assert [f.application_failure_info.type for f in failed] == [UNKNOWN_PROCEDURE]
        assert failed[0].application_failure_info.non_retryable
        requests = await decoded(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        # By reference, refused once; from then on, the whole procedure the case started with.
        refused = next(n for n, r in enumerate(requests) if n and r.get("procedure") is not None)
        assert refused >= 2 and requests[refused - 1].get("procedure") is None
        assert len(requests) > refused + 1  # the booking's re-plan came after
        for later in requests[refused:]:
            assert later["procedure"] == proc.model_dump(mode="json")
    finally:
        await case.clean_up()


async def test_a_case_whose_procedure_no_worker_has_waits_in_starting(
    time_skipping_env: WorkflowEnvironment, worker: Worker
) -> None:
    env = time_skipping_env
    proc = procedure(BCT)
    now = (await env.get_current_time()).astimezone(LONDON)
    start = case_start(proc, now - timedelta(minutes=10), reference=unique("NOWHERE"))
    case = CaseInput(start=start, procedure_sha256="f" * 64)
    handle = await env.client.start_workflow(
        CASE_WORKFLOW,
        case,
        id=case_workflow_id(proc.id, start.case_reference, start.strategy_discussion),
        task_queue=worker.task_queue,
        search_attributes=initial_search_attributes(case),
    )
    try:
        with env.auto_time_skipping_disabled():
            for _ in range(100):
                described = await env.client.workflow_service.describe_workflow_execution(
                    DescribeWorkflowExecutionRequest(
                        namespace=env.client.namespace,
                        execution=WorkflowExecution(workflow_id=handle.id),
                    )
                )
                pending = list(described.pending_activities)
                if pending and pending[0].last_failure.message:
                    break
                await asyncio.sleep(0.1)
        assert pending and pending[0].activity_type.name == "plan_case"
        assert f"no version {'f' * 12} of the procedure" in pending[0].last_failure.message
        history = await handle.fetch_history()
        assert not any(
            e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED for e in history.events
        )  # retried, never failed for good: the case is still there, waiting
    finally:
        await handle.terminate("test finished")
