"""The Temporal dev server killed (SIGKILL) with timers pending, and started again on its
database file (issue 15).

Real processes on loopback: a dev server of the test's own (``make run``'s command line, its
database file in a temporary folder), ``icpc worker`` as a subprocess, a real SMTP server and
the case record. Thirty confirmed cases are booked; each booking starts a timer for the report
to the family, due seconds later. Twenty bookings are answered before the kill; ten are in
flight as the server dies (and sent again if their answer was lost). The server stays down
while a part of the timers fall due, then comes back on the same file and port; the worker is
never restarted.

Timers that fall due seconds after the restart, at any time of day: Leicestershire's leaflet
wants the report with the family 24 hours before the conference; the cases run an invented
variant of it where the report is due a whole number of hours before (the fewest that put the
conference on a working day, in working time as the product counts them), and each conference
is booked that many hours after the moment its report's timer is meant to fire.

Printed and asserted: cases intact, stages and decisions kept (each in-flight booking taken
exactly once), timers fired after the restart, emails sent, duplicates, lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.record import record_store
from contracts import search_attributes as sa
from contracts.client import DecisionOutcome, send_decision
from domain.calendar import LONDON
from domain.case_record import Stream
from domain.case_state import CaseState
from domain.outbox import EmailPurpose
from domain.planner import working_hours_from
from domain.procedure import Procedure
from records.database import upgrade
from tests.case_helpers import (
    book,
    case_start,
    decision,
    idempotency_key,
    procedure,
    settle,
    start_case_workflow,
    unique,
)
from tests.conftest import MailCatcher
from tests.process_helpers import DevServer, spawn_worker, state_of, until, worker_env

LEICS = "leicestershire-leaflet"
REPORT = "report_shared_with_family"
CASES = 30  # every third booking is in flight as the server dies
FIRST_DUE = 12.0  # seconds after the bookings start: the first report falls due
SPREAD = 0.25  # seconds between one case's report and the next (30 cases: 7.25 s)
KILL_AFTER = 8.0  # seconds after the bookings start (later if those answered are not planned)
DOWN_FOR = 6.0  # seconds the server stays dead: a part of the timers fall due then
FIRE_LIMIT = 60.0  # seconds from the restart until every report's timer has fired


def report_hours(now: datetime) -> int:
    """Hours before the conference the variant's report is due: the fewest that put a
    conference booked for a few minutes after ``now`` plus those hours on a working day, with
    the report (counted back in working time) due those same elapsed hours before it."""
    calendar = procedure(LEICS).calendar
    for hours in range(1, 24 * 10):
        first = (now + timedelta(hours=hours)).astimezone(LONDON)
        last = first + timedelta(minutes=10)
        if (
            first.date() == last.date()
            and calendar.is_working_day(first.date())
            and all(
                working_hours_from(calendar, at, -hours) == at - timedelta(hours=hours)
                for at in (first, last)
            )
        ):
            return hours
    # Hour-based steps fall due on working days only (docs/working-days.md): from a weekend,
    # a bank holiday or the last hour before one, no report falls due seconds from now.
    pytest.skip("no hour-based step can fall due now: it is not working time")


def report_due_hours_before(hours: int) -> Procedure:
    """The leaflet with the report due ``hours`` before the conference (it says 24). Not
    installed, so each case carries it whole and its history keeps it."""
    leics = procedure(LEICS)
    milestones = [
        m.model_copy(update={"hours": -hours}) if m.id == REPORT else m for m in leics.milestones
    ]
    return leics.model_copy(update={"milestones": milestones})


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[DevServer]:
    dev = DevServer(tmp_path)
    await dev.start()
    try:
        yield dev
    finally:
        dev.stop()


def count(state: CaseState, event: str, milestone: str | None = None) -> int:
    return sum(
        1
        for e in state.timeline
        if e.event == event and (milestone is None or e.data.get("milestone") == milestone)
    )


def keys_of(sink: MailCatcher, case_id: str, purpose: EmailPurpose) -> list[str]:
    """The idempotency keys of the report's reminders or escalations that reached the sink."""
    prefix = f"{case_id}/{purpose}/{REPORT}/"
    return [k for k in map(idempotency_key, list(sink.messages)) if k.startswith(prefix)]


def subjects_of(sink: MailCatcher, reference: str, topic: str) -> int:
    """How many emails about ``topic`` for this case arrived (a long subject comes folded)."""
    subjects = [" ".join(s.split()) for s in sink.subjects()]
    return sum(1 for s in subjects if f"[ICPC {reference}]" in s and topic in s)


def missing(sink: MailCatcher, case_id: str, reference: str, state: CaseState) -> int:
    """The emails the case sent that never reached the sink: its start notice, its booking's
    short-notice flag, the report's reminder (when its timeline says one went) and escalation."""
    wanted = {
        "Section 47": (1, subjects_of(sink, reference, "Section 47")),
        "Short notice": (1, subjects_of(sink, reference, "Short notice")),
        EmailPurpose.REMINDER: (
            count(state, "reminder", REPORT),
            len(keys_of(sink, case_id, EmailPurpose.REMINDER)),
        ),
        EmailPurpose.ESCALATION: (1, len(keys_of(sink, case_id, EmailPurpose.ESCALATION))),
    }
    return sum(max(0, sent - arrived) for sent, arrived in wanted.values())


async def escalated_attribute(client: Client, case_id: str) -> bool:
    described = await client.get_workflow_handle(case_id).describe()
    return described.typed_search_attributes.get(sa.ESCALATED) is True


async def test_a_server_killed_with_timers_pending_fires_them_after_its_restart(
    server: DevServer, smtp_server: MailCatcher, case_record: str, tmp_path: Path
) -> None:
    upgrade(case_record)  # the worker refuses a record that is not there yet
    client = await Client.connect(server.address, data_converter=pydantic_data_converter)
    queue = unique("restart")
    worker = spawn_worker(worker_env(client, smtp_server, case_record), queue, tmp_path / "w.log")
    now = datetime.now(UTC)  # elapsed time: hours across a clock change are still hours
    hours = report_hours(now)
    proc = report_due_hours_before(hours)
    handles: list[WorkflowHandle[Any, Any]] = []
    references: dict[str, str] = {}
    try:
        for _ in range(CASES):
            strategy = (now - timedelta(hours=1)).astimezone(LONDON)
            start = case_start(proc, strategy, reference=unique("RST"))
            handle = await start_case_workflow(client, start, proc, queue)
            handles.append(handle)
            references[handle.id] = start.case_reference
        ids = [h.id for h in handles]

        async def confirmed(handle: WorkflowHandle[Any, Any]) -> DecisionOutcome:
            await until(partial(state_of, handle), timeout=60)
            return await send_decision(client, handle.id, decision(proc, "confirm_icpc"))

        for outcome in await asyncio.gather(*map(confirmed, handles)):
            assert outcome.accepted, outcome.message

        async def noticed() -> bool:  # every case's start notice is out
            return all(subjects_of(smtp_server, references[c], "Section 47") for c in ids)

        await until(noticed, timeout=60, every=0.1)

        # --- the bookings: each report's timer due FIRST_DUE + k * SPREAD seconds from here --
        booked_at = time.monotonic()
        base = datetime.now(UTC) + timedelta(hours=hours, seconds=FIRST_DUE)
        conference = {
            c: (base + timedelta(seconds=k * SPREAD)).astimezone(LONDON) for k, c in enumerate(ids)
        }
        bookings = {c: book(proc, at.date(), starts_at=at) for c, at in conference.items()}
        kept = [case_id for k, case_id in enumerate(ids) if k % 3 != 2]
        flying_ids = [case_id for k, case_id in enumerate(ids) if k % 3 == 2]
        for case_id in kept:
            outcome = await send_decision(client, case_id, bookings[case_id])
            assert outcome.accepted, outcome.message

        async def planned(case_id: str) -> bool:  # its report's timer is set: reminder sent
            state = await state_of(client.get_workflow_handle(case_id))
            return state is not None and count(state, "reminder", REPORT) == 1

        for case_id in kept:  # killed a second before the first report falls due at the latest
            remaining = booked_at + FIRST_DUE - 1 - time.monotonic()
            with contextlib.suppress(AssertionError):  # a slow machine: some still planning
                await until(partial(planned, case_id), timeout=max(remaining, 0.0), every=0.05)
        planned_in = time.monotonic() - booked_at
        before = {case_id: await state_of(client.get_workflow_handle(case_id)) for case_id in ids}
        timers_set = sum(
            1 for c in kept if (old := before[c]) is not None and count(old, "reminder", REPORT)
        )
        await asyncio.sleep(max(0.0, KILL_AFTER - (time.monotonic() - booked_at)))

        # --- the kill, with bookings in flight ------------------------------------------------
        flying = [
            asyncio.create_task(send_decision(client, case_id, bookings[case_id]))
            for case_id in flying_ids
        ]
        await asyncio.sleep(0.02)  # sent, most not answered yet
        server.kill()
        killed_at = time.monotonic()
        in_flight_at_kill = sum(1 for task in flying if not task.done())
        fired_before_kill = sum(1 for c in ids if keys_of(smtp_server, c, EmailPurpose.ESCALATION))
        await asyncio.sleep(DOWN_FOR)
        fired_while_down = sum(1 for c in ids if keys_of(smtp_server, c, EmailPurpose.ESCALATION))
        await server.start()
        restarted = time.monotonic()
        due_while_down = sum(
            1 for k in range(CASES) if booked_at + FIRST_DUE + k * SPREAD < restarted
        )
        answers = await asyncio.wait_for(asyncio.gather(*flying, return_exceptions=True), 60)
        resent = Counter[str]()
        errors = Counter(
            f"{type(a).__name__}: {getattr(a, 'message', a)}"
            for a in answers
            if isinstance(a, BaseException)
        )
        for case_id, answer in zip(flying_ids, answers, strict=True):
            if isinstance(answer, DecisionOutcome) and answer.accepted:
                resent["answered (the client's own retries)"] += 1
                continue
            again = await send_decision(client, case_id, bookings[case_id])
            if again.accepted:
                resent["taken when sent again"] += 1
            else:  # taken before the server died; only its answer was lost
                assert "already booked" in again.message, again.message
                resent["refused as already booked"] += 1

        # --- every timer fires after the restart, through the same worker process -------------
        async def all_fired() -> bool:
            return all(keys_of(smtp_server, c, EmailPurpose.ESCALATION) for c in ids)

        await until(all_fired, timeout=FIRE_LIMIT, every=0.2)
        fired_in = time.monotonic() - restarted
        # Nothing more on its way (a duplicate would arrive by now), then each case as it is.
        await asyncio.gather(*(settle(client, case_id, timeout=60) for case_id in ids))
        after: dict[str, CaseState] = {}
        for case_id in ids:
            state = await state_of(client.get_workflow_handle(case_id))
            assert state is not None
            after[case_id] = state

        keys = Counter(map(idempotency_key, smtp_server.messages))
        duplicates = sum(n - 1 for n in keys.values())
        lost = sum(missing(smtp_server, c, references[c], after[c]) for c in ids)
        intact = sum(  # open, and everything it had before the kill is still there
            1
            for c in ids
            if (old := before[c]) is not None
            and after[c].is_open
            and after[c].timeline[: len(old.timeline)] == old.timeline
        )
        kept_count = sum(
            1
            for c in kept
            if (old := before[c]) is not None
            and after[c].stage == old.stage
            and after[c].booking == old.booking == bookings[c].booking
            and count(after[c], "book_conference") == 1
        )
        print(
            f"server killed with {timers_set} of {len(kept)} booked cases' timers set and pending"
            f" ({fired_before_kill} fired before; planned {planned_in:.1f} s after booking) and"
            f" {in_flight_at_kill} of {len(flying_ids)} bookings in flight; down"
            f" {restarted - killed_at:.1f} s ({due_while_down} timers fell due meanwhile,"
            f" {fired_while_down} fired): {intact}/{CASES} cases intact, {kept_count}/{len(kept)}"
            f" bookings kept with their stage; in flight: {dict(resent)} (errors seen by their"
            f" senders: {dict(errors)}); {CASES} timers fired,"
            f" the last {fired_in:.1f} s after the restart; {len(smtp_server.messages)} emails,"
            f" {duplicates} duplicate(s), {lost} lost"
        )
        assert timers_set > 0 and fired_before_kill == 0 and fired_while_down == 0
        assert 0 < due_while_down < CASES  # some fell due while it was down, some after
        assert in_flight_at_kill > 0
        assert intact == CASES and kept_count == len(kept)
        assert duplicates == 0 and lost == 0
        for case_id in ids:
            state = after[case_id]
            assert count(state, "book_conference") == 1
            assert state.booking == bookings[case_id].booking
            assert count(state, "overdue", REPORT) == 1  # the timer fired, once
            assert state.stage == after[kept[0]].stage

            async def shown(case_id: str = case_id) -> bool:
                return await escalated_attribute(client, case_id)

            await until(shown, timeout=15, every=0.1)
        # The worker reconnected by itself: the one process on the queue, never restarted,
        # served every timer (and is still running).
        assert worker.poll() is None

        store = record_store()  # and the case record has each case's whole timeline
        for case_id in ids:

            async def recorded(case_id: str = case_id) -> bool:
                events = [e.event for s, e in store.timeline(case_id) if s == Stream.CASE]
                return events == [e.event for e in after[case_id].timeline]

            await until(recorded, timeout=30, every=0.2)
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):
                await handle.terminate("test finished")
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
