"""The operators' command line as a client of the service (the web service and a worker on a
real dev server): start, import, decide, show, cases, with a person token and the service's
address only."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode

from activities.record import record_store
from tests.case_helpers import icpc, person_token, recent_working_day
from tests.service_helpers import RunningService


@pytest.fixture
def cli_env(service: RunningService, monkeypatch: pytest.MonkeyPatch) -> RunningService:
    """The CLI pointed at the service (ICPC_SERVICE_URL), acting as a service-wide operator of
    the conference service (ICPC_PERSON_TOKEN)."""
    operator = person_token("cli-bss", "cp_conference_service", service_wide=True)
    monkeypatch.setenv("ICPC_PERSON_TOKEN", operator)
    person_token("sol", "social_worker")  # on record: a start allocates cases to sol (SOL)
    return service


def reference(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def acting_as(folder: Path, person_id: str, *roles: str, **units: Any) -> list[str]:
    """``--token-file`` arguments that act as the person (added once to the session's record)."""
    path = folder / f"{person_id}.token"
    path.write_text(person_token(person_id, *roles, **units))
    path.chmod(0o600)
    return ["--token-file", str(path)]


SOL = "--contact", "social_worker:Sol Worker:sol@example.org:sol"  # allocates the case to sol


async def test_start_twice_points_to_the_existing_case(
    cli_env: RunningService, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = reference("CLI")
    args = [
        "start",
        "--procedure", "bct-management-note",
        "--case-reference", ref,
        "--family-reference", "FAM-1",
        "--strategy-date", recent_working_day().isoformat(),
        "--contact", "social_worker:Sol Worker:sol@example.org:sol",
    ]  # fmt: skip
    code, out, _ = await icpc(capsys, *args)
    assert code == 0 and out.startswith("started icpc-bct-management-note-" + ref)
    code, out, _ = await icpc(capsys, *args)
    assert code == 0 and out.startswith("case exists: icpc-bct-management-note-" + ref)
    assert "Sol" not in out


async def test_decide_accepts_and_refuses_with_the_reason(
    cli_env: RunningService, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref = reference("DEC")
    await icpc(
        capsys, "start", "--procedure", "bct-management-note", "--case-reference", ref,
        "--family-reference", "FAM-2", "--strategy-date", recent_working_day().isoformat(), *SOL,
    )  # fmt: skip
    hal = acting_as(tmp_path, "hal", "area_head_of_service", service_wide=True)
    code, out, _ = await icpc(
        capsys, "decide", ref, "approve_delay", "--by", "hal", "--role", "area_head_of_service",
        "--reason", "fine", *hal,
    )  # fmt: skip
    assert code == 1
    assert out.startswith("refused: No delay has been requested")

    sol = acting_as(tmp_path, "sol", "social_worker")
    code, out, _ = await icpc(
        capsys, "decide", ref, "confirm_icpc", "--by", "sol", "--role", "social_worker", *sol
    )
    assert code == 0 and out.startswith("accepted: ICPC confirmed")

    code, out, _ = await icpc(capsys, "show", ref, "--json")
    # The worker runs in this process, and its log lines (the start notice's email, sent at
    # about this moment) may land in the same captured output: read the JSON document alone.
    state, _ = json.JSONDecoder().raw_decode(out[out.index('{\n  "case_id"') :])
    events = [(e["event"], e["by"]["user"] if e["by"] else None) for e in state["timeline"]]
    assert ("confirm_icpc", "sol") in events
    assert all(event != "approve_delay" for event, _ in events)

    code, out, _ = await icpc(capsys, "show", ref)
    assert "Stage: awaiting booking" in out and "ICPC confirmed" in out


async def test_import_starts_good_rows_names_bad_ones_and_never_starts_twice(
    cli_env: RunningService, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    day = recent_working_day()
    good1, good2 = reference("IMP"), reference("IMP")
    csv_file = tmp_path / "batch.csv"
    csv_file.write_text(
        "procedure,case_reference,family_reference,strategy_date,social_worker_name,social_worker_email\n"
        f"bct-management-note,{good1},FAM-3,{day},Ira Worker,ira@example.org\n"
        f"no-such-procedure,{reference('BAD')},FAM-3,{day},,\n"
        f"bct-management-note,{reference('BAD')},FAM-3,17/12/2026,,\n"
        f"bct-management-note,{good2},FAM-3,{day},Ira Worker,not-an-email\n"
        f"bct-management-note,has spaces,FAM-3,{day},,\n",
        encoding="utf-8",
    )
    code, out, err = await icpc(capsys, "import", str(csv_file))
    assert code == 1
    assert "1 started, 0 already existed, 4 bad row(s) of 5" in out
    assert f"{csv_file}:3: procedure 'no-such-procedure' is not installed" in err
    assert f"{csv_file}:4: strategy_date must be a date" in err
    assert f"{csv_file}:5: " in err and "email" in err
    assert f"{csv_file}:6: case_reference" in err

    code, out, err = await icpc(capsys, "import", str(csv_file))
    assert "0 started, 1 already existed, 4 bad row(s) of 5" in out

    for _ in range(100):  # the record is written a moment after the case starts
        code, out, _ = await icpc(capsys, "cases", "--json", "--reference", good1)
        rows = json.loads(out[out.index("[") :])
        if rows:
            break
        await asyncio.sleep(0.1)
    assert [r["case_reference"] for r in rows] == [good1]


async def test_a_case_deleted_from_temporal_is_still_shown_from_the_record(
    cli_env: RunningService, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Retention: after Temporal deletes a closed case, `icpc show` and `icpc cases` read its
    whole history from the case record."""
    ref = reference("RET")
    await icpc(
        capsys, "start", "--procedure", "bct-management-note", "--case-reference", ref,
        "--family-reference", "FAM-9", "--strategy-date", recent_working_day().isoformat(), *SOL,
    )  # fmt: skip
    sol = acting_as(tmp_path, "sol", "social_worker")
    await icpc(
        capsys, "decide", ref, "confirm_icpc", "--by", "sol", "--role", "social_worker", *sol
    )
    code, out, _ = await icpc(
        capsys, "decide", ref, "withdraw_icpc", "--by", "sol", "--role", "social_worker",
        "--reason", "Enquiry concluded: no ICPC needed", *sol,
    )  # fmt: skip
    assert code == 0, out
    store = record_store()
    for _ in range(100):  # the record is written a moment after the case starts
        if store.find(ref):
            break
        await asyncio.sleep(0.1)
    [summary] = store.find(ref)
    for _ in range(100):  # the record is written a moment after the decision
        summary = store.summary(summary.case_id) or summary
        if not summary.is_open:
            break
        await asyncio.sleep(0.1)
    assert summary.stage == "withdrawn" and summary.closed_reason == "ICPC withdrawn"
    client = cli_env.client
    await client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=summary.case_id),
        )
    )
    for _ in range(240):  # the server deletes in the background
        try:
            await client.get_workflow_handle(summary.case_id).describe()
        except RPCError as error:
            assert error.status == RPCStatusCode.NOT_FOUND
            break
        await asyncio.sleep(0.25)
    else:
        raise AssertionError("the workflow was not deleted")

    code, out, _ = await icpc(capsys, "show", ref)
    assert code == 0
    assert "from the case record" in out and "Stage: withdrawn" in out
    assert "sol (social_worker)" in out and "ICPC confirmed" in out and "ICPC withdrawn" in out
    assert "reason: Enquiry concluded: no ICPC needed" in out
    code, out, _ = await icpc(capsys, "cases", "--status", "closed", "--reference", ref)
    assert code == 0 and summary.case_id in out and "closed ICPC withdrawn" in out
    code, out, _ = await icpc(capsys, "cases", "--reference", ref)  # open only, by default
    assert summary.case_id not in out
