"""The command line follows a child from the ICPC into the child protection plan.

Against the time-skipping server, through the service (its web service and a worker on it):
the test skips time to the conference day between decisions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts import case_input
from domain.calendar import LONDON, WorkingDayCalendar, london_instant
from starters.cli import main
from tests.case_helpers import person_token
from tests.service_helpers import running_service


@pytest.fixture
async def cli_env(
    fresh_time_skipping_env: WorkflowEnvironment,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: object,
) -> AsyncIterator[WorkflowEnvironment]:
    """The service on a time-skipping server of its own; the command line pointed at it."""
    async with running_service(fresh_time_skipping_env, monkeypatch):
        yield fresh_time_skipping_env


async def icpc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    return code, out


def acting_as(folder: Path, person_id: str, *roles: str, service_wide: bool = False) -> list[str]:
    """``--token-file`` arguments that act as the person (added once to the session's record)."""
    path = folder / f"{person_id}.token"
    path.write_text(person_token(person_id, *roles, service_wide=service_wide))
    path.chmod(0o600)
    return ["--token-file", str(path)]


async def test_decisions_reach_the_plan_after_an_icpc_that_makes_one(
    cli_env: WorkflowEnvironment,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = cli_env
    calendar = WorkingDayCalendar()
    server_now = await env.get_current_time()
    # The start checks read the clock: here, the test server's (skipped well ahead).
    monkeypatch.setattr(case_input, "clock", lambda: server_now)
    today = server_now.astimezone(LONDON).date()
    # The last working day before today: today's would be at 09:00, still ahead before then.
    strategy = calendar.previous_working_day(today - timedelta(days=1))
    conference_day = calendar.add_working_days(strategy, 10)
    ref = f"CLIP-{uuid.uuid4().hex[:6]}"
    invitees = tmp_path / "invitees.json"
    invitees.write_text(
        json.dumps(
            [
                {
                    "name": "Pat Parent",
                    "role_or_relationship": "Parent",
                    "email": "p@example.org",
                    "telephone": "01000 000000",
                    "postal_address": "1 Example Street, Exampleton",
                }
            ]
        )
    )
    # The case has no team or area: tam is allocated to it, the ISU and the chair serve every case.
    # Nor an ISU contact: the ISU organizes and has no mailbox, so the invitations are organized
    # by the sending mailbox (issue 21: they once wedged the case, and this sleep timed out).
    tam = acting_as(tmp_path, "tam", "team_manager")
    isu1 = acting_as(tmp_path, "isu1", "isu", service_wide=True)
    chair1 = acting_as(tmp_path, "chair1", "cp_chair", service_wide=True)
    _, out = await icpc(
        capsys, "start", "--procedure", "isu-practitioner-guide", "--case-reference", ref,
        "--family-reference", "FAM-9", "--strategy-date", strategy.isoformat(),
        "--contact", "team_manager:Tam Manager:tam@example.org:tam", *isu1,
    )  # fmt: skip
    case_id = out.split()[1]
    signal = ["decide", case_id]
    await icpc(capsys, *signal, "confirm_icpc", "--by", "tam", "--role", "team_manager", *tam)
    await icpc(
        capsys, *signal, "receive_convening_sheet", "--by", "isu1", "--role", "isu",
        "--invitees", str(invitees), *isu1,
    )  # fmt: skip
    await icpc(
        capsys, *signal, "book_conference", "--by", "isu1", "--role", "isu",
        "--when", f"{conference_day} 10:00", "--chair", "Chair C", *isu1,
    )  # fmt: skip
    conference = london_instant(conference_day, time(10, 0))
    await env.sleep(conference - await env.get_current_time() + timedelta(hours=2))
    _, out = await icpc(capsys, "show", case_id, "--json", *isu1)
    assert "invitations_sent" in [e["event"] for e in json.loads(out)["timeline"]]
    await icpc(
        capsys, *signal, "hold_conference", "--by", "chair1", "--role", "cp_chair",
        "--outcome", "child_protection_plan", *chair1,
    )  # fmt: skip

    case: WorkflowHandle[Any, Any] = env.client.get_workflow_handle(case_id)
    result = await case.result()
    assert result["plan_workflow_id"] == f"{case_id}-plan"

    plan = env.client.get_workflow_handle(f"{case_id}-plan")
    try:
        await icpc(
            capsys, "decide", case_id, "hold_core_group", "--by", "tam",
            "--role", "team_manager", *tam,
        )  # fmt: skip
        for _ in range(50):
            _, out = await icpc(capsys, "show", case_id, "--plan", "--json", *tam)
            timeline = [
                (e["event"], (e["by"] or {}).get("user")) for e in json.loads(out)["timeline"]
            ]
            if ("hold_core_group", "tam") in timeline:
                break
            await asyncio.sleep(0.1)
        assert ("hold_core_group", "tam") in timeline
        _, text = await icpc(capsys, "show", case_id, "--plan", *tam)
        [core_group] = [line for line in text.splitlines() if "Initial core group meeting" in line]
        assert core_group.split()[0] == "met"
    finally:
        with contextlib.suppress(RPCError):  # already ended
            await plan.terminate("test finished")
