"""Record workflow histories for the replay tests: ``.venv/bin/python -m tests.histories.record``.

Each workflow has one function here that runs its main paths on the time-skipping test server
(with a real SMTP server on loopback) and saves each history as JSON next to this file. Run it
again when a deliberate, versioned change to a workflow needs fresh histories; keep the old
files too, since cases started under them may still be running. Test data only: invented
references, names and addresses.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.calendar import LONDON, london_instant
from tests.case_helpers import (
    RunningCase,
    book,
    booking,
    decision,
    invitees,
    procedure,
    rebook_reason,
    start_running_case,
    unique,
)
from tests.conftest import TEST_SERVER, MailCatcher, free_port, register_search_attributes
from workers.main import build_worker

HERE = Path(__file__).resolve().parent


# --- the case workflow (IcpcCase) -----------------------------------------------------------------


async def record_case_histories(env: WorkflowEnvironment, out: Path) -> list[Path]:
    """The case's main paths: held, withdrawn, stood down and rebooked, delayed, late."""
    proc = procedure("bct-management-note")
    task_queue = unique("record-cases")
    saved: list[Path] = []

    async def new_case(reference: str, working_days_ago: int = 0) -> RunningCase:
        now = (await env.get_current_time()).astimezone(LONDON)
        if working_days_ago:
            day = proc.calendar.add_working_days(now.date(), -working_days_ago)
            strategy = london_instant(day, time(9, 30))
        else:
            strategy = now - timedelta(minutes=10)
        return await start_running_case(env, proc, strategy, task_queue, reference)

    async def save(case: RunningCase, name: str) -> None:
        if await case.is_running():
            await case.result()
        history = await case.handle.fetch_history()
        path = out / f"case_{name}.json"
        # The case's id goes with its history: the case derives ids from it (its plan's).
        data = {"workflowId": case.handle.id, **json.loads(history.to_json())}
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        saved.append(path)

    async def held(case: RunningCase) -> None:
        state = await case.state()
        assert state.booking is not None
        await case.sleep_until(state.booking.starts_at + timedelta(hours=3))
        await case.signal(decision(proc, "hold_conference", outcome="child_protection_plan"))

    async with build_worker(env.client, task_queue=task_queue):
        # Held: confirmed, sheet, booked, invitations, reminder, held.
        case = await new_case("REC-HELD")
        state = await case.signal(decision(proc, "confirm_icpc", reason="Section 47 continues"))
        await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
        day = state.calendar.add_working_days(state.strategy_day, 14)
        await case.signal(book(proc, day))
        await case.signal(decision(proc, "share_report"))
        await held(case)
        await save(case, "held")

        # Withdrawn after the chase: the day-5 escalation, then withdrawal.
        case = await new_case("REC-WITHDRAWN")
        state = await case.state()
        chase = state.milestone("confirm_or_withdraw").planned.due
        assert chase is not None
        await case.sleep_until(chase + timedelta(minutes=5))
        await case.signal(decision(proc, "withdraw_icpc", reason="No continuing risk"))
        await save(case, "withdrawn")

        # Stood down and rebooked: invitations, cancellations, new invitations, held.
        case = await new_case("REC-REBOOKED")
        state = await case.signal(decision(proc, "confirm_icpc"))
        await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
        await case.signal(book(proc, state.calendar.add_working_days(state.strategy_day, 10)))
        await case.signal(
            decision(proc, "stand_down", stand_down_reason=rebook_reason(proc), reason="Chair ill")
        )
        rebook_day = state.calendar.add_working_days(state.strategy_day, 13)
        await case.signal(decision(proc, "rebook_conference", booking=booking(rebook_day)))
        await held(case)
        await save(case, "rebooked")

        # Delay requested, a signal refused, the delay approved, booked after day 15, held.
        case = await new_case("REC-DELAYED")
        state = await case.signal(decision(proc, "confirm_icpc"))
        proposed = state.calendar.add_working_days(state.strategy_day, 18)
        await case.signal(book(proc, proposed))  # refused: no delay approved yet
        await case.signal(
            decision(
                proc,
                "request_delay",
                reason="Agency report late",
                proposed_date=proposed.isoformat(),
                safety_plan="Daily contact",
            )
        )
        await case.signal(decision(proc, "approve_delay", reason="Agreed"))
        await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
        await case.signal(book(proc, state.calendar.add_working_days(state.strategy_day, 17)))
        await held(case)
        await save(case, "delayed")

        # Registered ten working days late: two escalations at once, then withdrawn.
        case = await new_case("REC-LATE", working_days_ago=10)
        await case.signal(decision(proc, "confirm_icpc"))
        await case.sleep_until((await env.get_current_time()) + timedelta(hours=2))
        await case.signal(decision(proc, "withdraw_icpc", reason="Family moved away"))
        await save(case, "late")
    return saved


# --- the plan workflow (IcpcPlan) -----------------------------------------------------------------


async def record_plan_histories(env: WorkflowEnvironment, out: Path) -> list[Path]:
    """Two reviews then the end; a review moved out of timescale with approvals. One file per
    run: a plan continues as new at each review."""
    from temporalio.api.enums.v1 import EventType

    from tests.test_plan_workflow import moved_out_of_timescale, ts_start, two_reviews_then_end

    task_queue = unique("record-plans")
    saved: list[Path] = []

    async def save_runs(plan_id: str, run_id: str | None, name: str) -> None:
        number = 1
        while run_id:
            history = await env.client.get_workflow_handle(plan_id, run_id=run_id).fetch_history()
            path = out / f"plan_{name}_run{number}.json"
            path.write_text(history.to_json() + "\n", encoding="utf-8")
            saved.append(path)
            last = history.events[-1]
            run_id = None
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                attrs = last.workflow_execution_continued_as_new_event_attributes
                run_id = attrs.new_execution_run_id
            number += 1

    async with build_worker(env.client, task_queue=task_queue):
        plan = await ts_start(env, task_queue)
        first = (await plan.handle.describe()).run_id
        await two_reviews_then_end(plan)
        await save_runs(plan.plan_id, first, "two_reviews")

        plan = await ts_start(env, task_queue)
        first = (await plan.handle.describe()).run_id
        await moved_out_of_timescale(plan)
        await plan.handle.terminate("recorded")
        await save_runs(plan.plan_id, first, "moved_out_of_timescale")
    return saved


# --- a procedure file edited mid-case (procedures by reference) ----------------------------------


async def record_procedure_edited_history(env: WorkflowEnvironment, out: Path) -> list[Path]:
    """A case started by reference (its procedure's id and content hash), whose worker then no
    longer has that version (the file edited, the worker restarted): the plan by reference is
    refused, sent again with the whole procedure, and the case's later plans go whole."""
    from activities import planning

    proc = procedure("bct-management-note")
    task_queue = unique("record-edited")
    known = planning.INSTALLED
    with tempfile.TemporaryDirectory() as nothing_installed:
        async with build_worker(env.client, task_queue=task_queue):
            now = (await env.get_current_time()).astimezone(LONDON)
            case = await start_running_case(
                env, proc, now - timedelta(minutes=10), task_queue, "REC-EDITED"
            )
            planning.INSTALLED = planning.InstalledProcedures(Path(nothing_installed))
            try:
                state = await case.signal(decision(proc, "confirm_icpc"))
                await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
                await case.signal(
                    book(proc, state.calendar.add_working_days(state.strategy_day, 12))
                )
                await case.signal(decision(proc, "withdraw_icpc", reason="No longer needed"))
                await case.result()
            finally:
                planning.INSTALLED = known
            history = await case.handle.fetch_history()
    path = out / "case_procedure_edited_mid_case.json"
    data = {"workflowId": case.handle.id, **json.loads(history.to_json())}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return [path]


async def record_plan_by_reference_history(env: WorkflowEnvironment, out: Path) -> list[Path]:
    """A plan started by a held case of an installed procedure: its plans go by reference (the
    plan histories above use an invented procedure no worker has, so theirs go whole)."""
    from tests.case_helpers import settle

    proc = procedure("bct-management-note")
    task_queue = unique("record-plan-ref")
    async with build_worker(env.client, task_queue=task_queue):
        now = (await env.get_current_time()).astimezone(LONDON)
        case = await start_running_case(
            env, proc, now - timedelta(minutes=10), task_queue, "REC-PLAN-REF"
        )
        state = await case.signal(decision(proc, "confirm_icpc"))
        await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
        await case.signal(book(proc, state.calendar.add_working_days(state.strategy_day, 12)))
        state = await case.state()
        assert state.booking is not None
        await case.sleep_until(state.booking.starts_at + timedelta(hours=3))
        await case.signal(decision(proc, "hold_conference", outcome="child_protection_plan"))
        plan_id = (await case.result()).plan_workflow_id
        assert plan_id is not None
        await settle(env.client, plan_id)
        plan = env.client.get_workflow_handle(plan_id)
        await plan.terminate("recorded")
        history = await plan.fetch_history()
    path = out / "plan_by_reference_run1.json"
    path.write_text(history.to_json() + "\n", encoding="utf-8")
    return [path]


RECORDERS: list[Callable[[WorkflowEnvironment, Path], Awaitable[list[Path]]]] = [
    record_case_histories,
    record_plan_histories,
    record_procedure_edited_history,
    record_plan_by_reference_history,
]


async def main(out: Path = HERE) -> None:
    catcher = MailCatcher(host="127.0.0.1", port=free_port())
    controller = Controller(catcher, hostname=catcher.host, port=catcher.port)
    controller.start()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["ICPC_SMTP_HOST"] = catcher.host
        os.environ["ICPC_SMTP_PORT"] = str(catcher.port)
        os.environ.pop("ICPC_OUTBOX_DB", None)
        # The case record (and the email ledger) in a scratch SQLite file.
        os.environ["ICPC_DATABASE_URL"] = f"sqlite:///{Path(scratch) / 'records.sqlite3'}"
        os.environ["ICPC_PAYLOAD_ENCRYPTION"] = "off"
        os.environ.pop("ICPC_PAYLOAD_KEY", None)
        try:
            for recorder in RECORDERS:
                # Each workflow's recorder gets a fresh test server, so one recorder's clock
                # (skipped months ahead) or leftover workflows never change another's histories.
                env = await WorkflowEnvironment.start_time_skipping(
                    test_server_existing_path=str(TEST_SERVER),
                    data_converter=pydantic_data_converter,
                )
                try:
                    await register_search_attributes(env.client)
                    for path in await recorder(env, out):
                        shown = (
                            path.relative_to(Path.cwd())
                            if path.is_relative_to(Path.cwd())
                            else path
                        )
                        print(shown)
                finally:
                    await env.shutdown()
        finally:
            controller.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
