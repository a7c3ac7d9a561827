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
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.message import Message
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.case import CaseResult
from contracts.client import start_case
from domain.calendar import LONDON, WorkingDayCounting, london_instant
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
    case_start,
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
            # Ten minutes ago, on the server's clock, but never before its London midnight: a
            # case opened just after midnight would be registered a working day late.
            now = (await env.get_current_time()).astimezone(LONDON)
            strategy = max(now - timedelta(minutes=10), now.replace(hour=0, minute=0, second=0))
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


def start_notice_subject(case: RunningCase, likelihood: str = "likely") -> str:
    """000 action 3: the conference service is told of the strategy discussion at start."""
    return f"[ICPC {case.start.case_reference}] Section 47 strategy discussion: ICPC {likelihood}"


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
    # Opened; and where a step falls due on day 0 itself (001 step 1, the strategy meeting
    # form), its reminder has gone out already.
    due_today = [
        f"Reminder sent: {m.planned.title}"
        for m in state.milestones
        if m.planned.working_day == 0 and m.planned.remind_at is not None
    ]
    assert [e.summary for e in state.timeline] == ["Case opened", *due_today]
    if may(proc, DecisionKind.CONFIRM_ICPC):
        state = await case.signal(decision(proc, "confirm_icpc", reason="Section 47 continues"))
        assert state.timeline[-1].event == "confirm_icpc"
    state = await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
    assert state.stage == Stage.AWAITING_BOOKING
    # Book on working day 14: inside the limit, with notice for every procedure (001 asks 14/15).
    state = await case.signal(book(proc, day_n(state, 14)))
    assert state.stage == Stage.BOOKED, state.timeline[-1]
    method = proc.booking.format_from_step  # 003: the invitations wait for the screening
    if method is not None:
        step = proc.milestone(method)
        chosen = decision(proc, "record_step", step.responsible, step=method, choice="hybrid")
        state = await case.signal(chosen)
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
    # The start notice (000 action 3), then the withdrawal to the CP Conference Service (000
    # action 5: "contact the CP Conference Service again to confirm or withdraw the need").
    assert [subject(m) for m in smtp_server.messages] == [
        start_notice_subject(case),
        f"[ICPC {case.start.case_reference}] ICPC withdrawn",
    ]
    told = smtp_server.messages[1]
    assert told["To"] == address_of(case.proc, "cp_conference_service")
    assert "copied for information" in text_of(told)


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
    assert [subject(m) for m in smtp_server.to(service)] == [
        start_notice_subject(case),
        subject(overdue[0]),
    ]
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
    again = await start_case(
        time_skipping_env.client,
        case.start,
        case.proc,
        worker.task_queue,
        now=await time_skipping_env.get_current_time(),
    )
    assert again.case_id == case.handle.id and not again.created
    # Same person, same strategy discussion, different time of day: still the same case.
    later = case.start.model_copy(
        update={"strategy_discussion": case.start.strategy_discussion + timedelta(minutes=3)}
    )
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_case_workflow(time_skipping_env.client, later, case.proc, worker.task_queue)
    assert await case.is_running()


# --- issue 11: start data, and day 0 on a day off -------------------------------------------------
#
# A strategy discussion on a Saturday and on a bank holiday counts from its own date (day 1 is
# the first working day after it); start data the faces refuse never leaves a workflow task
# failing, even when a client skips the checks. Working days are counted here by hand, one day
# at a time, against the case's own frozen calendar.


def nth_working_day_after(calendar: WorkingDayCounting, day: date, n: int) -> date:
    """Counted by hand: step a day at a time, counting only working days after ``day``."""
    while n:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            n -= 1
    return day


async def next_day_reached(env: WorkflowEnvironment, test: Callable[[date], bool]) -> date:
    """The next day after the server's today for which ``test(day)`` holds; the server's
    clock is moved on to 12:00 that day (a discussion at 11:00 has just happened)."""
    now = await env.get_current_time()
    day = now.astimezone(LONDON).date() + timedelta(days=1)
    while not test(day):
        day += timedelta(days=1)
    await env.sleep(london_instant(day, time(12, 0)) - now)
    return day


async def whole_case_from_a_day_off(open_case: Opener, strategy_day: date) -> None:
    proc = procedure(BCT)
    assert not proc.calendar.is_working_day(strategy_day)
    case = await open_case(BCT, london_instant(strategy_day, time(11, 0)))
    state = await case.state()
    # Day 0 is the discussion's own date; day 1 the first working day after it.
    day_1 = nth_working_day_after(state.calendar, strategy_day, 1)
    day_15 = nth_working_day_after(state.calendar, strategy_day, 15)
    assert all(
        not state.calendar.is_working_day(strategy_day + timedelta(days=i))
        for i in range((day_1 - strategy_day).days)
    )
    deadline = state.milestone("icpc_deadline").planned
    assert deadline.due is not None and deadline.due.astimezone(LONDON).date() == day_15
    assert deadline.working_day == 15
    # The old rule (day 0 moved to the next working day) gave one working day later.
    assert day_15 < nth_working_day_after(state.calendar, day_1, 15)
    # The whole case: confirmed, sheet in, booked on day 14, held.
    await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
    day_14 = nth_working_day_after(state.calendar, strategy_day, 14)
    state = await case.signal(book(proc, day_14))
    assert state.stage == Stage.BOOKED, state.timeline[-1]
    result = await hold(case)
    assert result.stage == Stage.HELD
    state = await case.state()
    assert not state.out_of_timescale(result.held_at)  # type: ignore[arg-type]


async def test_a_whole_case_from_a_saturday_discussion(
    open_case: Opener, time_skipping_env: WorkflowEnvironment
) -> None:
    saturday = await next_day_reached(time_skipping_env, lambda d: d.weekday() == 5)
    await whole_case_from_a_day_off(open_case, saturday)


async def test_a_whole_case_from_a_bank_holiday_discussion(
    open_case: Opener, time_skipping_env: WorkflowEnvironment
) -> None:
    cal = procedure(BCT).calendar
    holiday = await next_day_reached(
        time_skipping_env, lambda d: d.weekday() < 5 and cal.bank_holiday_name(d) is not None
    )
    await whole_case_from_a_day_off(open_case, holiday)


async def test_the_conference_service_is_told_at_start_with_the_likelihood(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    # 000 action 3: the CP Conference Service hears on the day, with the likelihood.
    case = await open_case(BCT, icpc_likelihood="possible")
    state = await case.state()
    assert [subject(m) for m in smtp_server.messages] == [start_notice_subject(case, "possible")]
    assert smtp_server.messages[0]["To"] == address_of(case.proc, "cp_conference_service")
    assert state.timeline[0].data["likelihood"] == "possible"


async def no_failed_workflow_tasks(env: WorkflowEnvironment, workflow_id: str) -> None:
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    failed = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    assert not [e for e in history.events if e.event_type == failed]


@pytest.mark.parametrize("day", [date(9999, 12, 20), date(1900, 1, 1)])
async def test_an_unplannable_start_fails_the_case_once_not_its_workflow_task(
    time_skipping_env: WorkflowEnvironment, worker: Worker, day: date
) -> None:
    # A client that skips check_start: the planning activity refuses at once (not retried)
    # and the case ends failed with the plain reason; no workflow task fails in a loop.
    proc = procedure(BCT)
    start = case_start(proc, london_instant(day, time(9)), reference=unique("OOR"))
    handle = await start_case_workflow(time_skipping_env.client, start, proc, worker.task_queue)
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    activity_error = raised.value.cause
    assert isinstance(activity_error, ActivityError)
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "CannotPlan" and cause.non_retryable
    assert cause.message.startswith(f"A strategy discussion on {day.isoformat()} cannot be planned")
    await no_failed_workflow_tasks(time_skipping_env, handle.id)


async def test_a_start_years_late_still_runs_when_a_client_skips_the_checks(
    open_case: Opener, time_skipping_env: WorkflowEnvironment
) -> None:
    # 2019-01-07 used to leave the worker failing with "outside the case's calendar".
    case = await open_case(BCT, london_instant(date(2019, 1, 7), time(9, 30)))
    state = await case.state()
    assert state.timeline[0].summary.startswith("Case opened (registered on working day")
    assert state.is_open and state.escalated()
    await no_failed_workflow_tasks(time_skipping_env, case.handle.id)
    now: datetime = await time_skipping_env.get_current_time()
    assert state.calendar.last > now.astimezone(LONDON).date()


async def test_a_booking_date_outside_any_calendar_sent_as_a_signal_is_refused_in_the_timeline(
    open_case: Opener,
) -> None:
    """Issue 22: a booking date no calendar holds, sent as a signal, failed every workflow task
    after it (the overflow was raised inside the rules), so the case answered nothing again.
    It is a refusal kept in the timeline with its reason; the case still answers and takes a
    good booking after it."""
    case = await open_case(BCT)
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    far = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    d = book(proc, day_n(state, 10))
    state = await case.signal(
        d.model_copy(update={"booking": d.booking.model_copy(update={"starts_at": far})})
    )
    assert state.booking is None
    refusal = state.timeline[-1]
    assert refusal.event == "refused"
    assert refusal.summary == (
        "Refused book_conference: booking.starts_at: 9999-12-31T23:00:00-05:00 is outside the"
        " dates a case can count (01 January 2000 to 31 December 2099)."
    )
    state = await case.signal(book(proc, day_n(state, 14)))
    assert state.booking is not None and state.stage == Stage.AWAITING_CONVENING_SHEET
