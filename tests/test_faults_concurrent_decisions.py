"""Twenty decisions on one case at once (issue 15): identical, then conflicting.

Through the product's own client path (``contracts.client``: what ``icpc decide`` and the web
form use), against the dev server, with ``icpc worker`` as a subprocess, a real SMTP server on
loopback and the case record:

- 20 identical confirmations sent together: exactly one taken, the 19 others refused, each
  with the plain reason (already confirmed, and when);
- 20 bookings for 20 different slots sent together: exactly one taken, the 19 others refused
  with the reason (already booked: stand it down to rebook);
- the case's timeline and the case record hold one of each; the invitations the booking sends
  reach each invitee once, for the booked slot (0 duplicates, 0 lost).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path
from subprocess import Popen

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.record import record_store
from contracts.client import DecisionOutcome, send_decision, start_case
from domain.calendar import LONDON, london_instant
from domain.case_record import Stream
from domain.case_state import CaseState, Stage
from domain.decisions import BookConference, DecisionBase
from records.database import upgrade
from tests.case_helpers import (
    book,
    calendar_lines,
    case_start,
    decision,
    ics_field,
    idempotency_keys,
    invitees,
    procedure,
    settle,
    unique,
)
from tests.conftest import MailCatcher
from tests.process_helpers import invitations, spawn_worker, state_of, until, worker_env

BCT = "bct-management-note"
AT_ONCE = 20
INVITEES = 4


@pytest.fixture
def worker(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher, case_record: str, tmp_path: Path
) -> Iterator[tuple[str, Popen[bytes]]]:
    upgrade(case_record)  # the worker refuses a record that is not there yet
    queue = unique("at-once")
    env = worker_env(dev_env.client, smtp_server, case_record)
    process = spawn_worker(env, queue, tmp_path / "worker.log")
    try:
        yield queue, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def slots(state: CaseState, count: int) -> list[datetime]:
    """``count`` different conference slots within the statutory limit: three a working day,
    on working days 8 to 14."""
    days = [state.calendar.add_working_days(state.strategy_day, n) for n in range(8, 15)]
    times = [time(10, 0), time(14, 0), time(11, 30)]
    every = [london_instant(day, at) for at in times for day in days]
    assert len(every) >= count
    return every[:count]


def tally(outcomes: list[DecisionOutcome]) -> tuple[list[DecisionOutcome], list[str]]:
    return [o for o in outcomes if o.accepted], [o.message for o in outcomes if not o.accepted]


async def all_at_once(
    dev_env: WorkflowEnvironment, case_id: str, decisions: Sequence[DecisionBase]
) -> list[DecisionOutcome]:
    """Every decision sent at the same moment, each as its own ``send_decision`` call."""
    return await asyncio.gather(*(send_decision(dev_env.client, case_id, d) for d in decisions))


async def test_twenty_decisions_at_once_one_taken_the_others_refused_with_the_reason(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher, worker: tuple[str, Popen[bytes]]
) -> None:
    queue, process = worker
    proc = procedure(BCT)
    strategy = (datetime.now(LONDON) - timedelta(hours=1)).replace(microsecond=0)
    start = case_start(proc, strategy, reference=unique("ONCE"))
    case_id = (await start_case(dev_env.client, start, proc, task_queue=queue)).case_id
    handle = dev_env.client.get_workflow_handle(case_id)
    try:
        state = await until(partial(state_of, handle), timeout=60)

        # --- 20 identical confirmations -------------------------------------------------------
        confirmations = await all_at_once(
            dev_env, case_id, [decision(proc, "confirm_icpc") for _ in range(AT_ONCE)]
        )
        taken, refused = tally(confirmations)
        sheet = decision(proc, "receive_convening_sheet", invitees=invitees(INVITEES))
        assert (await send_decision(dev_env.client, case_id, sheet)).accepted

        # --- 20 bookings, each for a different slot -----------------------------------------
        wanted = slots(state, AT_ONCE)
        bookings = [book(proc, at.date(), starts_at=at) for at in wanted]
        booked = await all_at_once(dev_env, case_id, bookings)
        booked_taken, booked_refused = tally(booked)
        chosen = [b for b, o in zip(bookings, booked, strict=True) if o.accepted]

        async def invited() -> bool:
            s = await state_of(handle)
            return s is not None and s.invitations_sent_sequence == 1

        await until(invited, timeout=60)
        await settle(dev_env.client, case_id, timeout=30)  # nothing more on its way
        state = await until(partial(state_of, handle), timeout=30)
        sent = invitations(smtp_server)
        keys = Counter(idempotency_keys(smtp_server.messages))
        duplicates = sum(n - 1 for n in keys.values())
        invitation_keys = {key for key, _ in sent}
        lost = INVITEES - len(invitation_keys)
        events = Counter(e.event for e in state.timeline)
        # Refused by the validator, an update leaves no trace; refused by the handler (it passed
        # the validator while the one taken was still being applied), it is in history.
        in_history = len(
            [
                event
                async for event in handle.fetch_history_events()
                if event.HasField("workflow_execution_update_accepted_event_attributes")
            ]
        )
        print(
            f"{AT_ONCE} identical confirmations at once: {len(taken)} taken, {len(refused)}"
            f" refused ({Counter(refused).most_common(1)[0][0]!r});"
            f" {AT_ONCE} conflicting bookings: {len(booked_taken)} taken, {len(booked_refused)}"
            f" refused ({Counter(booked_refused).most_common(1)[0][0]!r}); timeline:"
            f" {events['confirm_icpc']} confirmation, {events['book_conference']} booking;"
            f" invitations {len(sent)} for {INVITEES} invitees, {duplicates} duplicate(s),"
            f" {lost} lost; {in_history} of the {2 * AT_ONCE + 1} updates in history"
        )
        assert len(taken) == 1 and len(refused) == AT_ONCE - 1
        assert all("already confirmed" in reason for reason in refused), refused
        assert len(booked_taken) == 1 and len(booked_refused) == AT_ONCE - 1
        assert all("already booked" in reason for reason in booked_refused), booked_refused
        assert events["confirm_icpc"] == 1 and events["book_conference"] == 1
        [accepted] = chosen
        assert isinstance(accepted, BookConference)
        assert state.booking == accepted.booking and state.stage == Stage.BOOKED
        assert duplicates == 0 and lost == 0 and len(sent) == INVITEES
        for message in smtp_server.messages:  # every invitation is for the slot booked
            if "Invitation" in str(message["Subject"]):
                starts = ics_field(calendar_lines(message), "DTSTART")
                assert starts == f"{accepted.booking.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        store = record_store()  # the case record holds one of each, too

        async def recorded() -> bool:
            kinds = [e.event for s, e in store.timeline(case_id) if s == Stream.CASE]
            return kinds == [e.event for e in state.timeline]

        await until(recorded, timeout=30, every=0.1)
        assert process.poll() is None
    finally:
        await handle.terminate("test finished")
