"""The case workflow against the time-skipping test server, with a real SMTP server on loopback.

Decisions go in as signals (the test server does not skip time while an update is in flight);
the case's state is read with the ``state`` query. Strategy dates are relative to the test
server's clock, and every working day is counted with the case's own frozen calendar, so a
bank holiday on the way moves the dates and not the outcome. Every name, address and
reference is invented.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from email.message import Message
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.case import CaseResult
from contracts.client import start_case
from domain.calendar import LONDON, london_instant
from domain.case_state import CaseState, Stage
from domain.milestones import MilestoneStatus
from domain.procedure import HolidayPeriod, Procedure
from domain.vocabulary import DecisionKind
from tests.case_helpers import (
    ALL_PROCEDURES,
    RunningCase,
    address_of,
    book,
    booking,
    calendar_lines,
    contact_email,
    decision,
    ics_field,
    idempotency_keys,
    invitees,
    procedure,
    rebook_reason,
    start_case_workflow,
    start_running_case,
    unique,
)
from tests.conftest import MailCatcher
from workers.main import build_worker

BCT = "bct-management-note"
Opener = Callable[..., Awaitable[RunningCase]]


@pytest.fixture
async def worker(
    time_skipping_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> AsyncIterator[Worker]:
    async with build_worker(time_skipping_env.client, task_queue=unique("cases")) as w:
        yield w


@pytest.fixture
async def open_case(
    time_skipping_env: WorkflowEnvironment, worker: Worker, smtp_server: MailCatcher
) -> AsyncIterator[Opener]:
    """Opens cases on this test's worker; any still running at the end are terminated."""
    opened: list[RunningCase] = []

    async def opener(
        proc_id: str,
        strategy: datetime | None = None,
        proc: Procedure | None = None,
        **changes: Any,
    ) -> RunningCase:
        env = time_skipping_env
        if strategy is None:
            strategy = (await env.get_current_time() - timedelta(minutes=10)).astimezone(LONDON)
        case = await start_running_case(
            env, proc or procedure(proc_id), strategy, worker.task_queue, unique("TST"), **changes
        )
        opened.append(case)
        return case

    yield opener
    for case in opened:
        await case.clean_up()
    assert_no_duplicates(smtp_server.messages)


# --- helpers ------------------------------------------------------------------------------------


def subject(message: Message) -> str:
    return " ".join(str(message["Subject"]).split())


def assert_no_duplicates(messages: list[Message]) -> None:
    keys = idempotency_keys(messages)
    assert len(keys) == len(set(keys)), f"duplicate emails: {sorted(keys)}"
    ids = [str(m["Message-ID"]) for m in messages]
    assert len(ids) == len(set(ids))


def invitations(mail: MailCatcher, method: str = "REQUEST") -> list[Message]:
    return [
        m
        for m in mail.messages
        if any(p.get_content_type() == "text/calendar" for p in m.walk())
        and ics_field(calendar_lines(m), "METHOD") == method
    ]


def check_invitation(message: Message, case: RunningCase, state: CaseState, sequence: int) -> None:
    """The .ics: METHOD, a UTC DTSTART, one UID per case, the booking's SEQUENCE."""
    lines = calendar_lines(message)
    assert state.booking is not None
    assert ics_field(lines, "METHOD") == "REQUEST"
    assert ics_field(lines, "UID") == f"{case.handle.id}@icpc-orchestrator"
    assert ics_field(lines, "SEQUENCE") == str(sequence)
    starts = state.booking.starts_at.astimezone(UTC)
    assert ics_field(lines, "DTSTART") == starts.strftime("%Y%m%dT%H%M%SZ")
    assert ics_field(lines, "STATUS") == "CONFIRMED"


def text_of(message: Message) -> str:
    parts = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")


def day_n(state: CaseState, n: int) -> date:
    return state.calendar.add_working_days(state.strategy_day, n)


def day_at(state: CaseState, n: int, hour: int = 10) -> datetime:
    return london_instant(day_n(state, n), time(hour, 0))


def escalations(mail: MailCatcher) -> list[str]:
    return [subject(m) for m in mail.messages if "OVERDUE" in subject(m)]


def reminders(mail: MailCatcher) -> list[str]:
    return [subject(m) for m in mail.messages if "Due soon" in subject(m)]


def may(proc: Procedure, kind: DecisionKind) -> bool:
    return bool(proc.roles_for(kind))


async def hold(case: RunningCase, outcome: str = "child_protection_plan") -> CaseResult:
    state = await case.state()
    assert state.booking is not None
    await case.sleep_until(state.booking.starts_at + timedelta(hours=3))
    await case.signal(decision(case.proc, "hold_conference", outcome=outcome))
    result = await case.result()
    return result


# --- whole cases ----------------------------------------------------------------------------------


@pytest.mark.parametrize("proc_id", ALL_PROCEDURES)
async def test_a_whole_case_from_strategy_discussion_to_conference(
    proc_id: str, open_case: Opener, smtp_server: MailCatcher
) -> None:
    case = await open_case(proc_id)
    proc = case.proc
    state = await case.state()
    assert state.stage == Stage.AWAITING_CONFIRMATION
    assert [e.summary for e in state.timeline] == ["Case opened"]
    if may(proc, DecisionKind.CONFIRM_ICPC):
        state = await case.signal(decision(proc, "confirm_icpc", reason="Section 47 continues"))
        assert state.timeline[-1].event == "confirm_icpc"
    state = await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
    assert state.stage == Stage.AWAITING_BOOKING
    # Book on working day 14: inside the limit, with notice for every procedure (001 asks 14/15).
    state = await case.signal(book(proc, day_n(state, 14)))
    assert state.stage == Stage.BOOKED, state.timeline[-1]
    assert state.invitations_sent_sequence == 1
    sent = invitations(smtp_server)
    assert sorted(r for _, rs in smtp_server.envelopes for r in rs if "family" in r) == [
        "invitee1@family.example.org",
        "invitee2@family.example.org",
    ]
    assert len(sent) == 2
    assert sorted(
        smtp_server.to("invitee1@family.example.org")
        + smtp_server.to("invitee2@family.example.org"),
        key=id,
    ) == sorted(sent, key=id)
    for message in sent:
        check_invitation(message, case, state, sequence=1)
    if may(proc, DecisionKind.SHARE_REPORT):
        await case.signal(decision(proc, "share_report"))
    result = await hold(case)
    assert result.stage == Stage.HELD
    assert result.outcome == "child_protection_plan"
    state = await case.state()
    assert state.milestone("icpc_deadline").status(state.held_at) == MilestoneStatus.MET  # type: ignore[arg-type]
    assert state.timeline[-1].event == "hold_conference"
    assert state.timeline[-1].by is not None
    # Invitations went once; nothing overdue was chased for a case that kept to time.
    assert len(invitations(smtp_server)) == 2
    assert not [s for s in escalations(smtp_server) if "ICPC held within" in s]


async def test_withdrawn(open_case: Opener, smtp_server: MailCatcher) -> None:
    case = await open_case(BCT)
    state = await case.signal(
        decision(case.proc, "withdraw_icpc", reason="Enquiries found no continuing risk")
    )
    assert state.stage == Stage.WITHDRAWN
    result = await case.result()
    assert result.stage == Stage.WITHDRAWN and result.outcome is None
    entry = state.timeline[-1]
    assert (entry.event, entry.reason) == ("withdraw_icpc", "Enquiries found no continuing risk")
    assert smtp_server.messages == []


async def test_no_response_by_the_chase_day_escalates_to_the_social_worker_and_the_service(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    case = await open_case(BCT)
    state = await case.state()
    chase = state.milestone("confirm_or_withdraw").planned
    assert chase.due is not None and chase.working_day == 5
    await case.sleep_until(chase.due - timedelta(minutes=1))
    assert escalations(smtp_server) == []
    assert reminders(smtp_server) == [f"[ICPC {case.start.case_reference}] Due soon: {chase.title}"]
    state = await case.sleep_until(chase.due + timedelta(minutes=5))
    overdue = [m for m in smtp_server.messages if "OVERDUE" in subject(m)]
    assert [subject(m) for m in overdue] == [
        f"[ICPC {case.start.case_reference}] OVERDUE: {chase.title}"
    ]
    social_worker = contact_email("social_worker")
    service = address_of(case.proc, "cp_conference_service")
    assert smtp_server.to(social_worker)[-1] is overdue[0]
    assert smtp_server.to(service) == [overdue[0]]
    assert state.milestone("confirm_or_withdraw").escalated
    assert state.escalated()
    assert [e.event for e in state.timeline].count("overdue") == 1
    # The timers read plainly in the Temporal UI: named after the milestone they wait for.
    history = await case.handle.fetch_history()
    timers = [
        json.loads(e.user_metadata.summary.data)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    assert f"Reminder: {chase.title}" in timers
    assert f"Due: {chase.title}" in timers
    # Time goes on: still only one escalation for the chase, then the sheet's own.
    await case.sleep_until(chase.due + timedelta(hours=20))
    assert len([s for s in escalations(smtp_server) if chase.title in s]) == 1


async def test_delay_requested_and_approved(open_case: Opener, smtp_server: MailCatcher) -> None:
    case = await open_case(BCT)
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    proposed = day_n(state, 18)
    state = await case.signal(
        decision(
            proc,
            "request_delay",
            reason="Key agency report cannot be ready before day 15",
            proposed_date=proposed.isoformat(),
            safety_plan="Child stays with grandparent; daily contact from the social worker",
        )
    )
    assert state.stage == Stage.AWAITING_DELAY_DECISION
    head = contact_email("area_head_of_service")
    assert [subject(m) for m in smtp_server.to(head)] == [
        f"[ICPC {case.start.case_reference}] Delay requested: your decision is needed"
    ]
    state = await case.signal(
        decision(proc, "approve_delay", reason="Agreed; safety plan reviewed")
    )
    assert state.delay is not None and state.delay.status == "approved"
    assert state.delay.decided_by is not None
    assert state.delay.decided_by.role == "area_head_of_service"
    assert [subject(m) for m in smtp_server.to(contact_email("team_manager"))][-1].endswith(
        "Delay approved"
    )
    state = await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
    state = await case.signal(book(proc, day_n(state, 17)))
    assert state.stage == Stage.BOOKED, state.timeline[-1]
    assert len(invitations(smtp_server)) == 1
    result = await hold(case, outcome="no_plan")
    assert result.stage == Stage.HELD and result.outcome == "no_plan"
    state = await case.state()
    assert state.out_of_timescale(state.held_at)  # type: ignore[arg-type]
    # Day 15 passed with the conference still to come: the statutory milestone escalated once.
    late = [s for s in escalations(smtp_server) if proc.milestone("icpc_deadline").title in s]
    assert len(late) == 1
    assert state.milestone("icpc_deadline").status(state.held_at) == MilestoneStatus.MET_LATE  # type: ignore[arg-type]


async def test_delay_rejected(open_case: Opener, smtp_server: MailCatcher) -> None:
    case = await open_case(BCT)
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(
        decision(
            proc,
            "request_delay",
            reason="Parents unavailable",
            proposed_date=day_n(state, 19).isoformat(),
            safety_plan="Written agreement",
        )
    )
    state = await case.signal(decision(proc, "reject_delay", reason="Hold it within timescale"))
    assert state.delay is not None and state.delay.status == "rejected"
    assert subject(smtp_server.to(contact_email("team_manager"))[-1]).endswith("Delay rejected")
    # A booking after the limit is now refused, and the refusal is kept in the timeline.
    state = await case.signal(book(proc, day_n(state, 17)))
    assert state.booking is None
    refusal = state.timeline[-1]
    assert refusal.event == "refused"
    assert "after the statutory limit" in refusal.summary
    assert "needs a delay approved by an area head of service first" in refusal.summary
    state = await case.signal(book(proc, day_n(state, 14)))
    assert state.booking is not None and state.stage == Stage.AWAITING_CONVENING_SHEET


async def test_stood_down_and_rebooked(open_case: Opener, smtp_server: MailCatcher) -> None:
    case = await open_case(BCT)
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
    state = await case.signal(book(proc, day_n(state, 10)))
    assert len(invitations(smtp_server)) == 2
    state = await case.signal(
        decision(
            proc,
            "stand_down",
            stand_down_reason=rebook_reason(proc),
            reason="Chair taken ill; rebooking",
        )
    )
    assert state.stage == Stage.STOOD_DOWN
    cancels = invitations(smtp_server, "CANCEL")
    assert len(cancels) == 2
    for message in cancels:
        lines = calendar_lines(message)
        assert ics_field(lines, "UID") == f"{case.handle.id}@icpc-orchestrator"
        assert ics_field(lines, "SEQUENCE") == "1"
        assert ics_field(lines, "STATUS") == "CANCELLED"
    state = await case.signal(
        decision(proc, "rebook_conference", booking=booking(day_n(state, 13), time(14, 0)))
    )
    assert state.stage == Stage.BOOKED and state.booking_sequence == 2
    rebooked = [
        m for m in invitations(smtp_server) if ics_field(calendar_lines(m), "SEQUENCE") == "2"
    ]
    assert len(rebooked) == 2
    for message in rebooked:
        check_invitation(message, case, state, sequence=2)
    assert len(invitations(smtp_server)) == 4
    result = await hold(case)
    assert result.stage == Stage.HELD
    assert result.held_at == state.booking.starts_at  # type: ignore[union-attr]


async def test_late_registration_escalates_each_past_milestone_once(
    open_case: Opener, time_skipping_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> None:
    proc = procedure(BCT)
    now = (await time_skipping_env.get_current_time()).astimezone(LONDON)
    day = proc.calendar.add_working_days(now.date(), -10)
    strategy = london_instant(day, time(9, 30))
    case = await open_case(BCT, strategy)
    state = await case.state()
    assert state.timeline[0].summary.startswith("Case opened (registered on working day")
    past = [m.planned.title for m in state.milestones if m.planned.due and m.planned.due < now]
    assert len(past) == 2
    expected = sorted(f"[ICPC {case.start.case_reference}] OVERDUE: {t}" for t in past)
    assert sorted(escalations(smtp_server)) == expected
    assert not [s for s in reminders(smtp_server) if any(t in s for t in past)]
    assert [e.event for e in state.timeline].count("overdue") == 2
    # Decisions and time going by bring no flood.
    await case.signal(decision(proc, "confirm_icpc"))
    await case.sleep_until(now + timedelta(hours=2))
    assert sorted(escalations(smtp_server)) == expected
    state = await case.state()
    assert [e.event for e in state.timeline].count("overdue") == 2


async def test_school_invitations_go_to_the_school_holiday_mailbox(
    open_case: Opener, time_skipping_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> None:
    env = time_skipping_env
    installed_rule = procedure(BCT).school_holidays
    assert installed_rule is not None
    cal = procedure(BCT).calendar
    now = (await env.get_current_time()).astimezone(LONDON)
    conference = cal.add_working_days(now.date(), 3)
    # The installed file lists real term dates; a holiday over the next weeks keeps this test
    # independent of the date it runs on. The routing rule is the file's own.
    rule = installed_rule.model_copy(
        update={
            "periods": [
                HolidayPeriod(
                    name="Test holiday", start=now.date(), end=conference + timedelta(days=7)
                )
            ]
        }
    )
    proc = procedure(BCT).model_copy(update={"school_holidays": rule})
    strategy = (now - timedelta(minutes=5)).astimezone(LONDON)
    case = await open_case(BCT, strategy, proc=proc)
    await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1, school=True)))
    state = await case.signal(book(proc, conference))
    assert state.stage == Stage.BOOKED, state.timeline[-1]
    sent = invitations(smtp_server)
    assert len(sent) == 2
    to_mailbox = smtp_server.to(rule.school_invitations_to)
    assert len(to_mailbox) == 1
    assert "School holiday" in text_of(to_mailbox[0])
    assert smtp_server.to("dsl@school.example.org") == []
    assert len(smtp_server.to("invitee1@family.example.org")) == 1


async def test_starting_the_same_case_twice_never_makes_a_second(
    open_case: Opener, time_skipping_env: WorkflowEnvironment, worker: Worker
) -> None:
    case = await open_case(BCT)
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_case_workflow(
            time_skipping_env.client, case.start, case.proc, worker.task_queue
        )
    again = await start_case(time_skipping_env.client, case.start, case.proc, worker.task_queue)
    assert again.case_id == case.handle.id and not again.created
    # Same person, same strategy discussion, different time of day: still the same case.
    later = case.start.model_copy(
        update={"strategy_discussion": case.start.strategy_discussion + timedelta(minutes=3)}
    )
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_case_workflow(time_skipping_env.client, later, case.proc, worker.task_queue)
    assert await case.is_running()
