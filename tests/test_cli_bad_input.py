"""Bad input gets one plain line, never a traceback (issue 15: 7 of about 50 bad inputs showed
one). Each case here runs the real command (``starters.cli.main``), and the closed case goes
through the same client the web form uses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.mail import send_emails
from activities.planning import PlanRequest, PlanResult, plan_case
from activities.record import record_case_events
from contracts import case_input
from contracts.case import STATE_QUERY, DecisionRequest
from contracts.case_input import BadRow, read_batch
from contracts.client import send_decision
from domain.calendar import LONDON
from domain.case_state import CaseState
from starters.cli import main
from tests.case_helpers import (
    case_start,
    contacts_for,
    decision,
    icpc,
    person_token,
    procedure,
    start_case_workflow,
    unique,
)
from tests.conftest import MailCatcher
from tests.service_helpers import RunningService
from workers.main import WORKFLOWS, build_worker

BCT = "bct-management-note"
HEADER = "procedure,case_reference,family_reference,strategy_date,strategy_time\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_plain_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def recent_day() -> str:
    day = datetime.now(LONDON).date() - timedelta(days=2)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day.isoformat()


# --- icpc plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ["--strategy-date", "9999-12-31"],
        ["--strategy-date", "9999-12-31", "--strategy-time", "23:59"],
        ["--strategy-date", "0001-01-01", "--strategy-time", "00:00"],
    ],
)
def test_plan_with_a_date_out_of_range_says_so_in_one_line(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "plan", "--procedure", BCT, *extra)
    assert code == 2 and out == ""
    line = one_plain_line(err)
    assert line.startswith("icpc plan: a strategy discussion on ") and "cannot be planned" in line


# --- icpc import --------------------------------------------------------------------------------


def test_a_field_over_the_csv_limit_is_a_bad_row_named_by_its_line(tmp_path: Path) -> None:
    day = recent_day()
    batch = tmp_path / "cases.csv"
    batch.write_text(
        HEADER
        + f"{BCT},BIG-1,FAM-1,{day},09:00\n"
        + f"{BCT},BIG-2,{'x' * 140_000},{day},09:00\n"
        + f"{BCT},BIG-3,FAM-3,{day},09:00\n",
        encoding="utf-8",
    )
    from procedures import load_all

    rows = list(read_batch(batch, load_all(), case_input.clock()))
    assert [r.line if isinstance(r, BadRow) else r[0] for r in rows] == [2, 3, 4]
    bad = rows[1]
    assert isinstance(bad, BadRow) and "longer than 131,072 characters" in bad.reason
    assert not isinstance(rows[0], BadRow) and not isinstance(rows[2], BadRow)  # still started


@pytest.fixture
def operator(service: RunningService, monkeypatch: pytest.MonkeyPatch) -> RunningService:
    """The service; the command line as a service-wide operator of the conference service."""
    token = person_token("bad-input-bss", "cp_conference_service", service_wide=True)
    monkeypatch.setenv("ICPC_PERSON_TOKEN", token)
    return service


async def test_import_of_a_field_over_the_csv_limit_prints_one_line(
    operator: RunningService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "cases.csv"
    batch.write_text(HEADER + f"{BCT},BIG-2,{'x' * 140_000},{recent_day()},09:00\n")
    code, out, err = await icpc(capsys, "import", str(batch))
    assert code == 1  # bad rows, as for any bad row
    line = one_plain_line(err)
    assert line.startswith(f"{batch}:2: a value is longer than 131,072 characters")
    assert out.strip() == "0 started, 0 already existed, 1 bad row(s) of 1"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (HEADER.encode() + "bct,Ré-1,FAM,2026-11-02,09:00\n".encode("latin-1"), "not UTF-8"),
        (("x" * 140_000 + "\n").encode(), ": line 1: a value is longer than 131,072"),
    ],
)
async def test_import_of_a_file_that_is_not_csv_text_prints_one_line(
    operator: RunningService,
    content: bytes,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    batch = tmp_path / "cases.csv"
    batch.write_bytes(content)
    code, _, err = await icpc(capsys, "import", str(batch))
    assert code == 2  # nothing started: the file as a whole cannot be read
    assert expected in one_plain_line(err)


# --- icpc show on a case still being set up -------------------------------------------------------


planning = asyncio.Event()
release = asyncio.Event()


@activity.defn(name="plan_case")
async def slow_plan_case(request: PlanRequest) -> PlanResult:
    """The real planning, held back until the test has looked at the case."""
    planning.set()
    await release.wait()
    return await plan_case(request)


async def test_show_on_a_case_still_being_set_up_says_so_in_one_line(
    dev_env: WorkflowEnvironment,
    operator: RunningService,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proc = procedure(BCT)
    queue = unique("setting-up")
    start = case_start(proc, datetime.now(LONDON) - timedelta(hours=1), reference=unique("SET"))
    planning.clear()
    release.clear()
    async with Worker(
        dev_env.client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[slow_plan_case, send_emails, record_case_events],
    ):
        handle = await start_case_workflow(dev_env.client, start, proc, queue)
        try:
            await asyncio.wait_for(planning.wait(), 30)
            code, out, err = await asyncio.to_thread(
                lambda: run(capsys, "show", handle.id)  # its own event loop: a thread
            )
            assert code == 2 and out == ""
            line = one_plain_line(err)
            assert line == (
                f"icpc show: {handle.id}: the case is still being set up; try again in a moment."
            )
        finally:
            release.set()
            await handle.terminate("test finished")


# --- decisions on a closed case -------------------------------------------------------------------

SOCIAL_WORKER = unique("sw").lower()  # the person allocated to the case, who decides by token


@pytest.fixture
async def withdrawn_case(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> AsyncIterator[WorkflowHandle[Any, Any]]:
    proc = procedure(BCT)
    queue = unique("closed")
    contacts = [
        c.model_copy(update={"user": SOCIAL_WORKER}) if c.role == "social_worker" else c
        for c in contacts_for(proc)
    ]
    start = case_start(
        proc, datetime.now(LONDON) - timedelta(hours=1), reference=unique("CLO"), contacts=contacts
    )
    async with build_worker(dev_env.client, queue):
        handle = await start_case_workflow(dev_env.client, start, proc, queue)
        for _ in range(300):
            with contextlib.suppress(Exception):
                state = await handle.query(STATE_QUERY, result_type=CaseState)
                if state.timeline:
                    break
            await asyncio.sleep(0.1)
        withdraw = decision(proc, "withdraw_icpc", reason="No longer needed")
        await handle.execute_update("decide", DecisionRequest(decision=withdraw))
        await handle.result()
        yield handle


def today_in_words() -> str:
    today = datetime.now(LONDON)
    return f"{today.day} {today:%B %Y}"


@pytest.mark.parametrize("as_signal", [False, True])
async def test_a_decision_on_a_closed_case_says_how_and_when_it_closed(
    dev_env: WorkflowEnvironment, withdrawn_case: WorkflowHandle[Any, Any], as_signal: bool
) -> None:
    outcome = await send_decision(
        dev_env.client,
        withdrawn_case.id,
        decision(procedure(BCT), "confirm_icpc"),
        as_signal=as_signal,
    )
    assert not outcome.accepted
    assert outcome.message == (
        f"This case is closed (withdrawn on {today_in_words()}): it takes no more decisions."
    )
    assert "workflow execution" not in outcome.message


@pytest.fixture
def social_worker(service: RunningService, monkeypatch: pytest.MonkeyPatch) -> None:
    """``icpc decide`` acts as a person: the invented social worker the case is allocated to."""
    token = person_token(SOCIAL_WORKER, "social_worker")
    monkeypatch.setenv("ICPC_PERSON_TOKEN", token)


async def test_icpc_decide_on_a_closed_case_prints_the_sentence(
    dev_env: WorkflowEnvironment,
    social_worker: None,
    withdrawn_case: WorkflowHandle[Any, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = await asyncio.to_thread(
        lambda: run(capsys, "decide", withdrawn_case.id, "confirm_icpc", "--role", "social_worker")
    )
    assert code == 1, err
    assert out.strip() == (
        f"refused: This case is closed (withdrawn on {today_in_words()}):"
        " it takes no more decisions."
    )
    assert "Traceback" not in err and "workflow execution" not in out + err


# --- icpc decide ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "kind"), [('[{"reason": "x"}]', "a list"), ('"x"', "a string")]
)
def test_decide_with_a_payload_that_is_not_an_object_says_so_in_one_line(
    content: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 22, section 5: a JSON list as ``--payload`` printed a traceback."""
    payload = tmp_path / "payload.json"
    payload.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "decide", "REF-1", "confirm_icpc", "--payload", str(payload))
    assert code == 2 and out == ""
    assert one_plain_line(err) == (
        f"icpc decide: {payload}: must hold one JSON object of the decision's fields, like"
        f' {{"reason": "..."}}, not {kind}'
    )


def test_plan_with_a_strategy_time_carrying_an_offset_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The time is read as London's: an offset it would drop is refused, not ignored."""
    with pytest.raises(SystemExit):
        main(
            [
                "plan",
                "--procedure",
                BCT,
                "--strategy-date",
                "2026-03-02",
                "--strategy-time",
                "10:30+05:00",
            ]
        )
    assert "--strategy-time 10:30+05:00 carries a UTC offset" in capsys.readouterr().err
