"""Shared pieces for the case tests: invented contacts and invitees, decision builders, and a
case state built the way the planning activity builds it.

Every name, address and reference here is invented. Ids carry no name, date or address.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.planning import CALENDAR_AFTER, CALENDAR_BEFORE
from contracts.case import (
    CASE_WORKFLOW,
    DECIDE_SIGNAL,
    STATE_QUERY,
    CaseInput,
    CaseResult,
    DecisionRequest,
    case_workflow_id,
    initial_search_attributes,
    procedure_sha256,
)
from domain import case_invitations, case_rules, case_views
from domain.calendar import LONDON, WorkingDayTable, london_instant
from domain.case_rules import CaseDecision, Effects
from domain.case_state import CaseState
from domain.decisions import (
    BookConference,
    Booking,
    CaseStart,
    ConferenceFormat,
    Contact,
    Decider,
    Invitee,
)
from domain.planner import plan
from domain.procedure import Procedure
from procedures import get_procedure, load_all

ALL_PROCEDURES = (
    "bct-management-note",
    "man13-qarss",
    "isu-practitioner-guide",
    "cp-conference-responsibilities",
    "leicestershire-leaflet",
)


def procedure(procedure_id: str) -> Procedure:
    return get_procedure(procedure_id)


def rebook_reason(proc: Procedure) -> str:
    """A stand-down reason that keeps the case open and needs no one's permission."""
    open_ = [r.id for r in proc.stand_down_reasons if not r.ends_case and not r.permission_from]
    if proc.stand_down_reasons:
        assert open_, f"{proc.id}: no stand-down reason allows a rebooking"
        return open_[0]
    return "cannot_go_ahead"  # a procedure with no list takes any reason


def contact_email(role: str) -> str:
    return f"{role.replace('_', '.')}@staff.example.org"


def contacts_for(proc: Procedure) -> list[Contact]:
    """One invented person per role that has no shared mailbox of its own."""
    return [
        Contact(role=r.id, name=f"Staff {n}", email=contact_email(r.id), user=f"user-{r.id}")
        for n, r in enumerate(proc.roles, start=1)
        if not r.mailbox
    ]


def address_of(proc: Procedure, role: str) -> str:
    mailbox = proc.role(role).mailbox
    return mailbox or contact_email(role)


def who(role: str, user: str | None = None) -> Decider:
    return Decider(user=user or f"user-{role}", role=role)


def first_role(proc: Procedure, kind: str) -> str:
    roles = proc.roles_for(kind)  # type: ignore[arg-type]
    assert roles, f"{proc.id}: nobody may {kind}"
    return roles[0]


def decision(proc: Procedure, kind: str, role: str | None = None, **fields: Any) -> CaseDecision:
    """A decision of ``kind`` by the first role the procedure allows (or ``role``)."""
    from domain.case_rules import CASE_DECISION

    decider = who(role or first_role(proc, kind))
    return CASE_DECISION.validate_python({"kind": kind, "decided_by": decider, **fields})


def invitees(count: int = 2, *, school: bool = False) -> list[Invitee]:
    people = [
        Invitee(
            name=f"Invitee {n}",
            role_or_relationship="Parent" if n == 1 else "Health visitor",
            agency="" if n == 1 else "Example Health",
            email=f"invitee{n}@family.example.org",
            telephone="01000 000000",
            postal_address="1 Example Street, Exampleton",
        )
        for n in range(1, count + 1)
    ]
    if school:
        people.append(
            Invitee(
                name="Designated Teacher",
                role_or_relationship="School",
                agency="Example Primary School",
                email="dsl@school.example.org",
                telephone="01000 000001",
                postal_address="School Lane, Exampleton",
                is_school=True,
            )
        )
    return people


def booking(day: date, at: time = time(10, 0), **changes: Any) -> Booking:
    values: dict[str, Any] = {
        "starts_at": london_instant(day, at),
        "format": ConferenceFormat.HYBRID,
        "venue": "Room 2, Example House",
        "chair": "Chair A",
    }
    values.update(changes)
    return Booking(**values)


def book(proc: Procedure, day: date, **changes: Any) -> BookConference:
    d = decision(proc, "book_conference", booking=booking(day, **changes))
    assert isinstance(d, BookConference)
    return d


def case_start(
    proc: Procedure, strategy: datetime, reference: str = "TST-0001", **changes: Any
) -> CaseStart:
    values: dict[str, Any] = {
        "procedure_id": proc.id,
        "case_reference": reference,
        "family_reference": "FAM-0001",
        "strategy_discussion": strategy,
        "contacts": contacts_for(proc),
    }
    values.update(changes)
    return CaseStart(**values)


def new_state(
    proc: Procedure, strategy: datetime, now: datetime | None = None, **start_changes: Any
) -> CaseState:
    """A case as the workflow builds it: the planning activity's schedule and frozen calendar."""
    day = strategy.astimezone(LONDON).date()
    calendar = WorkingDayTable.from_calendar(
        proc.calendar, day - CALENDAR_BEFORE, day + CALENDAR_AFTER
    )
    state = CaseState(
        case_id=f"icpc-{proc.id}-TST-0001-case",
        start=case_start(proc, strategy, **start_changes),
        procedure=proc,
        calendar=calendar,
    )
    state.apply_schedule(plan(proc, strategy))
    case_views.start(state, now or strategy)
    return state


def carry_out(state: CaseState, fx: Effects, now: datetime) -> Effects:
    """What the workflow does with effects: re-plan, then send invitations when due.

    Returns every email the step produced (the decision's, any re-plan's clock, invitations).
    """
    out = Effects(emails=list(fx.emails), ended=fx.ended)
    if fx.replan:
        state.apply_schedule(
            plan(state.procedure, state.start.strategy_discussion, state.anchors())
        )
        out.emails += case_rules.on_clock(state, now).emails
    if case_invitations.invitations_due(state):
        sent = case_invitations.send_invitations(state, now)
        if case_invitations.invitations_due(state):  # not held back for too little notice
            case_invitations.invitations_sent(state, now, sent.count, sent.short)
        out.emails += sent.emails
    return out


def decide(state: CaseState, d: CaseDecision, now: datetime) -> Effects:
    return carry_out(state, case_rules.apply(state, d, now), now)


# --- mail ---------------------------------------------------------------------------------------


def calendar_lines(message: Message) -> list[str]:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, "expected one calendar attachment"
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


def ics_field(lines: Sequence[str], name: str) -> str:
    found = [line.split(":", 1)[1] for line in lines if line.split(":", 1)[0].split(";")[0] == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


# --- driving a case workflow ------------------------------------------------------------------


@dataclass
class RunningCase:
    """One case workflow under test, and the ways a test talks to it."""

    env: WorkflowEnvironment
    handle: WorkflowHandle[Any, Any]
    proc: Procedure
    start: CaseStart

    @property
    def client(self) -> Client:
        return self.env.client

    async def state(self) -> CaseState:
        state: CaseState = await self.handle.query(STATE_QUERY, result_type=CaseState)
        return state

    async def signal(self, d: CaseDecision) -> CaseState:
        """Send ``d`` as a signal and wait until the case has taken it (or refused it)."""
        before = len((await self.state()).timeline)
        await self.handle.signal(DECIDE_SIGNAL, DecisionRequest(decision=d))
        state = await self.until(lambda s: len(s.timeline) > before)
        return await self.settle() if state.is_open else state

    async def until(
        self, predicate: Callable[[CaseState], bool], timeout: float = 15.0
    ) -> CaseState:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            with contextlib.suppress(RPCError, WorkflowQueryFailedError):
                state = await self.state()
                if predicate(state):
                    return state
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the case did not reach the expected state in time")
            await asyncio.sleep(0.05)

    async def settle(self, timeout: float = 15.0) -> CaseState:
        """Wait until no activity or workflow task is pending and history stops growing."""
        await settle(self.client, self.handle.id, timeout)
        return await self.state()

    async def result(self) -> CaseResult:
        """The case's result, once it has ended. Auto time-skipping stays off: the case ends in
        real time, and skipping meanwhile would throw the shared test clock years ahead."""
        with self.env.auto_time_skipping_disabled():
            result: CaseResult = await asyncio.wait_for(self.handle.result(), timeout=15)
        return result

    async def describe(self) -> DescribeWorkflowExecutionResponse:
        return await describe_raw(self.client, self.handle.id)

    async def is_running(self) -> bool:
        return await is_running(self.client, self.handle.id)

    async def clean_up(self) -> None:
        """Terminate the case if it still runs, and any plan it started: nothing may outlive
        its test's worker (its next timer would stall the shared test clock)."""
        if await self.is_running():
            # Let it finish what it started (its record of the last decision, say) first:
            # terminating a workflow mid-task leaves the test server's clock locked.
            with contextlib.suppress(AssertionError):
                await settle(self.client, self.handle.id)
            await self.handle.terminate("test finished")
            return
        with contextlib.suppress(Exception):
            plan_id = (await self.result()).plan_workflow_id
            if plan_id and await is_running(self.client, plan_id):
                # Let it finish what it started first: terminating a workflow mid-task leaves
                # the test server's clock locked.
                await settle(self.client, plan_id)
                await self.client.get_workflow_handle(plan_id).terminate("test finished")

    async def sleep_until(self, at: datetime) -> CaseState:
        """Skip the test server's clock to ``at`` (timers fire on the way), then settle."""
        now = await self.env.get_current_time()
        if at > now:
            await self.env.sleep(at - now)
        return await self.settle()


async def describe_raw(client: Client, workflow_id: str) -> DescribeWorkflowExecutionResponse:
    """The raw description (the SDK's decoded one trips over the test server's datetime
    search attributes)."""
    return await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )


async def is_running(client: Client, workflow_id: str) -> bool:
    raw = await describe_raw(client, workflow_id)
    running = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    return bool(raw.workflow_execution_info.status == running)


async def settle(client: Client, workflow_id: str, timeout: float = 15.0) -> None:
    """Wait until no activity or workflow task is pending and history stops growing."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = -1
    while True:
        raw = await describe_raw(client, workflow_id)
        busy = bool(raw.pending_activities) or raw.HasField("pending_workflow_task")
        length = raw.workflow_execution_info.history_length
        if not busy and length == last:
            return
        last = -1 if busy else length
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{workflow_id} did not settle in time")
        await asyncio.sleep(0.1)


async def start_running_case(
    env: WorkflowEnvironment,
    proc: Procedure,
    strategy: datetime,
    task_queue: str,
    reference: str,
    **start_changes: Any,
) -> RunningCase:
    start = case_start(proc, strategy, reference=reference, **start_changes)
    handle = await start_case_workflow(env.client, start, proc, task_queue)
    case = RunningCase(env=env, handle=handle, proc=proc, start=start)
    await case.until(lambda s: bool(s.timeline))
    await case.settle()
    return case


@functools.cache
def installed_hashes() -> frozenset[str]:
    return frozenset(procedure_sha256(p) for p in load_all().values())


def case_input(start: CaseStart, proc: Procedure) -> CaseInput:
    """The start input as the faces send it, the procedure by its content hash, when ``proc``
    is installed as it is. A procedure a test changed goes whole (the input of cases started
    before procedures travelled by reference, still taken): no worker could find it by hash."""
    if procedure_sha256(proc) in installed_hashes():
        return CaseInput.by_reference(start, proc)
    return CaseInput(start=start, procedure=proc)


async def start_case_workflow(
    client: Client, start: CaseStart, proc: Procedure, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """Start a case as ``icpc start`` does (same id, policies, search attributes, summary)."""
    case = case_input(start, proc)
    return await client.start_workflow(
        CASE_WORKFLOW,
        case,
        id=case_workflow_id(proc.id, start.case_reference, start.strategy_discussion),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=initial_search_attributes(case),
        static_summary=f"ICPC case {start.case_reference} ({proc.id})",
        result_type=CaseResult,
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def idempotency_key(message: Message) -> str:
    """The key as the product wrote it: a long one (a milestone's, with its due instant)
    arrives RFC 2047-encoded and folded over several lines."""
    return str(make_header(decode_header(str(message["X-ICPC-Idempotency-Key"]))))


def idempotency_keys(messages: Sequence[Message]) -> list[str]:
    return [idempotency_key(m) for m in messages]


def person_token(
    person_id: str,
    *roles: str,
    teams: Sequence[str] = (),
    areas: Sequence[str] = (),
    service_wide: bool = False,
) -> str:
    """A person in the case record the session's workers share (``ICPC_DATABASE_URL``), and a
    new command-line token for them. The person is added once; later calls issue new tokens."""
    from records.database import database_url, ensure_ready, make_engine
    from records.people import PeopleStore

    url = database_url()
    # Created if need be, else only checked (once a process): Alembic's upgrade is not safe
    # beside another in a worker's activity thread of this process.
    ensure_ready(url)
    engine = make_engine(url)
    try:
        people = PeopleStore(engine)
        if people.get(person_id) is None:
            people.add(
                person_id,
                roles=roles,
                name=person_id.title(),
                email=f"{person_id}@staff.example.org",
                teams=teams,
                areas=areas,
                service_wide=service_wide,
            )
        return people.issue_token(person_id, label="test")
    finally:
        engine.dispose()


def recent_working_day() -> date:
    """A weekday two or more days ago: a strategy discussion every start check accepts."""
    day = datetime.now(LONDON).date() - timedelta(days=2)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


async def icpc(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """Run ``icpc ARGV`` in a thread (it runs its own event loop); its status and output."""
    from starters.cli import main

    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err
