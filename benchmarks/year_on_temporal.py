"""A year of whole cases on Temporal's time-skipping server, through the product's real worker.

The same seeded year as ``icpc simulate`` (:func:`simulation.year.scripts`): each script is
first played through the domain rules (:mod:`simulation.year`'s driver), which says which
decisions are taken at which moment and where the case stands at the as-at day. Then the year
is played again on the time-skipping server with the product's worker
(:func:`workers.main.build_worker`): the clock moves through the year, and at each moment the
cases whose strategy discussion was registered then are started and the decisions due then are
sent, through the faces' client (:mod:`contracts.client`), concurrently across cases (bounded);
then the clock moves on (``env.sleep``: timers fire on the way, and the server skips time only
once every workflow and activity task is done). Mail goes to an SMTP sink on loopback, the
case record to a throwaway SQLite file, payloads are encrypted with a throwaway key: the
product as it runs.

At the as-at moment every case's path (and the plan after it) is checked against the rules'
run: open or closed, and at the same stage; the case record must hold no refused decision.
Figures printed: cases, decisions sent, wall time, cases per second, and where the time went:
sending the starts and the decisions (signals, 64 in flight), and the clock moves, which wait
for everything the moment before set going (workflow tasks, planning, mail, record) and for the
timers on the way; the CPU seconds of this process (the worker, the client, the SMTP sink) and
of the test server say what bounds the run.

    .venv/bin/python benchmarks/year_on_temporal.py                # 1,500 cases (a large authority)
    .venv/bin/python benchmarks/year_on_temporal.py --cases 40     # the smoke test's size

Exit status 1 when a case did not reach the stage its script says, or a decision was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import tempfile
import time as clock
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from side_by_side import (  # noqa: E402
    TEST_SERVER,
    cpu_seconds,
    mail_sink,
    register_search_attributes,
    throwaway_record_and_key,
)

from domain.calendar import LONDON, WorkingDayTable, london_instant  # noqa: E402
from domain.decisions import CaseStart, DecisionBase  # noqa: E402
from domain.procedure import Procedure  # noqa: E402
from simulation.year import DEFAULT_PROCEDURE, CaseScript, _Driver, scripts  # noqa: E402

SEED = 15
CHECK_LINE = "cases at their expected stage"  # the smoke test reads this line


# --- the year, played through the rules first --------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing to do at one moment: start the case (``kind`` "start") or send a decision."""

    at: datetime  # as the rules took it
    kind: str
    decision: DecisionBase | None = None
    ends_plan: bool = False  # the plan closes with it (see release_leaked_lock)


@dataclass
class Expected:
    """Where a path stands at the as-at moment, by the rules."""

    stage: str
    open: bool


@dataclass
class CasePlay:
    script: CaseScript
    procedure: Procedure
    start: CaseStart
    case_id: str
    plan_id: str | None
    steps: list[Step]
    case: Expected
    plan: Expected | None


class _Recorder(_Driver):
    """The simulation's driver, noting every decision it takes (and when) for the replay."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.start = self.state.start
        self.steps: list[Step] = []

    def decide(self, kind: str, when: datetime, role: str | None = None, **fields: Any) -> bool:
        from domain.case_rules import CASE_DECISION

        return self._noted(CASE_DECISION, super().decide, kind, when, role, fields, False)

    def plan_decide(
        self, kind: str, when: datetime, role: str | None = None, **fields: Any
    ) -> bool:
        from domain.plan_rules import PLAN_DECISION

        return self._noted(PLAN_DECISION, super().plan_decide, kind, when, role, fields, True)

    def _noted(
        self,
        adapter: Any,
        take: Callable[..., bool],
        kind: str,
        when: datetime,
        role: str | None,
        fields: dict[str, Any],
        plan: bool,
    ) -> bool:
        if not take(kind, when, role, **fields):
            return False
        decider = role or self.proc.roles_for(kind)[0]  # type: ignore[arg-type]
        decision = adapter.validate_python(
            {"kind": kind, "decided_by": {"user": f"sim-{decider}", "role": decider}, **fields}
        )
        ends = plan and self.plan_state is not None and not self.plan_state.is_open
        self.steps.append(Step(when, kind, decision, ends_plan=ends))
        return True


def play_through_rules(count: int, year: int, as_of: datetime) -> list[CasePlay]:
    """The seeded year's scripts, each run through the rules (as ``icpc simulate`` does)."""
    from procedures import get_procedure

    procedure = get_procedure(DEFAULT_PROCEDURE)
    calendar = WorkingDayTable.from_calendar(
        procedure.calendar,
        date(year, 1, 1) - timedelta(days=31),
        as_of.astimezone(LONDON).date() + timedelta(days=550),
    )
    plays = []
    for script in scripts(count, year, SEED, [procedure], as_of, prefix="YEAR"):
        driver = _Recorder(script, procedure, calendar, as_of)
        if script.registered_late:  # when the case reaches the product (as the driver says)
            registered = driver.at(script.registered_late, 9, 30)
        else:
            registered = script.strategy + timedelta(minutes=45)
        out = driver.run()
        plan_state = driver.plan_state
        plays.append(
            CasePlay(
                script=script,
                procedure=procedure,
                start=driver.start,
                case_id=out.case_id,
                plan_id=plan_state.plan_id if plan_state is not None else None,
                steps=[Step(registered, "start"), *driver.steps],
                case=Expected(driver.state.stage.value, driver.state.is_open),
                plan=(
                    Expected(plan_state.stage.value, plan_state.is_open)
                    if plan_state is not None
                    else None
                ),
            )
        )
    return plays


# Where the clock lands: two minutes after the step's time. The procedure's timers fall due on
# round times (09:00, 17:00, a booking's 10:00) plus the few milliseconds a workflow task takes;
# a landing on such a time lets a timer fire just after it, while the signals sent there are with
# the worker, and the time-skipping server strands a workflow task that cancels a timer fired
# meanwhile ("invalid history builder state for action": temporalio/sdk-java#2606, #3088).
LANDING = timedelta(minutes=2)


def moments(plays: list[CasePlay], step: timedelta) -> dict[datetime, list[tuple[CasePlay, Step]]]:
    """Each step at its moment: its time rounded up to ``step``, plus :data:`LANDING` (never
    earlier than the rules took it, never before the case's previous step). A case's steps at
    one moment stay in order."""
    origin = datetime(2000, 1, 1, tzinfo=LONDON)
    due: dict[datetime, list[tuple[CasePlay, Step]]] = defaultdict(list)
    for play in plays:
        last = origin
        for s in play.steps:
            rounded = origin + step * math.ceil((s.at - origin) / step) + LANDING
            last = max(last, rounded)
            due[last].append((play, s))
    return dict(sorted(due.items()))


# --- the year, played on Temporal -------------------------------------------------------------


@dataclass
class Timing:
    starts: float = 0.0
    decisions: float = 0.0
    clock: float = 0.0  # env.sleep: timers firing and the work they start
    check: float = 0.0
    cpu_here: float = 0.0  # this process: the worker, the client, the SMTP sink
    cpu_server: float = 0.0  # the time-skipping server
    started: int = 0
    sent: int = 0
    retries: int = 0  # the plan a hold starts not found yet: sent again a moment later
    problems: list[str] = field(default_factory=list)  # refused, not sent, at the wrong stage


async def send(client: Any, play: CasePlay, s: Step, timing: Timing) -> None:
    """As a signal, the way ``icpc decide --signal`` sends it: the time-skipping server skips
    no time while an update is in flight (tests/test_case_workflow.py), and a signal is taken
    even while the plan hands over to its next cycle. A refusal lands in the case's timeline,
    which the case record keeps: counted at the end."""
    from temporalio.service import RPCError, RPCStatusCode

    from contracts.client import send_decision

    assert s.decision is not None
    for attempt in range(100):
        try:
            await send_decision(client, play.case_id, s.decision, as_signal=True)
        except RPCError as error:  # the plan workflow the hold starts is not there yet
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            timing.retries += 1
            await asyncio.sleep(0.02 * min(attempt + 1, 10))
            continue
        timing.sent += 1
        return
    timing.problems.append(f"{play.script.reference} {s.kind}: its workflow was not found")


async def play_on_temporal(
    plays: list[CasePlay],
    as_of: datetime,
    step: timedelta,
    concurrency: int,
    say: Callable[[str], None],
) -> Timing:
    from temporalio.testing import WorkflowEnvironment

    from contracts.client import start_case
    from runtime.connection import data_converter
    from workers.main import build_worker

    timing = Timing()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter()
    )
    cpu_here = cpu_seconds(os.getpid())
    cpu_server = sum(cpu_seconds(pid) for pid in children())
    try:
        await register_search_attributes(env.client)
        client = env.client
        queue = f"year-{uuid.uuid4().hex[:6]}"
        gate = asyncio.Semaphore(concurrency)

        async def bounded(work: Awaitable[None]) -> None:
            async with gate:
                await work

        async def start(play: CasePlay, now: datetime) -> None:
            await start_case(client, play.start, play.procedure, task_queue=queue, now=now)
            timing.started += 1

        async def steps_of(play: CasePlay, todo: list[Step]) -> None:
            for s in todo:
                await send(client, play, s, timing)
                if s.ends_plan and play.plan_id is not None:
                    await release_leaked_lock(env, play.plan_id)

        due = moments(plays, step)
        async with build_worker(client, task_queue=queue):
            say(f"{len(due)} moments to play, {sum(len(v) for v in due.values())} steps")
            for n, (moment, here) in enumerate(due.items()):
                now = await move_clock(env, moment, timing)
                began = clock.monotonic()
                await asyncio.gather(
                    *(bounded(start(p, now)) for p, s in here if s.kind == "start")
                )
                timing.starts += clock.monotonic() - began
                by_case: dict[str, tuple[CasePlay, list[Step]]] = {}
                for p, s in here:
                    if s.kind != "start":
                        by_case.setdefault(p.case_id, (p, []))[1].append(s)
                began = clock.monotonic()
                await asyncio.gather(*(bounded(steps_of(p, todo)) for p, todo in by_case.values()))
                timing.decisions += clock.monotonic() - began
                if n % 500 == 0:
                    say(f"{moment:%Y-%m-%d %H:%M}: {timing.started} started, {timing.sent} sent")
            # Past the last moment too: the rules register a case whose strategy discussion
            # was on the year's last day a few working days later, after the as-at day.
            last = max(due, default=as_of)
            await move_clock(env, max(as_of, last + timedelta(minutes=1)), timing)
            began = clock.monotonic()
            mismatches = await check(client, plays, concurrency)
            timing.check = clock.monotonic() - began
        timing.cpu_here = cpu_seconds(os.getpid()) - cpu_here
        timing.cpu_server = sum(cpu_seconds(pid) for pid in children()) - cpu_server
        timing.problems += mismatches
    finally:
        await env.shutdown()
    return timing


def children() -> list[int]:
    """This process's child processes (the test server)."""
    pids = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


async def release_leaked_lock(env: Any, plan_id: str, timeout: float = 60.0) -> None:
    """The time-skipping server takes a time-skipping lock it never releases when a child
    workflow its parent abandoned (the plan, started by the case with ParentClosePolicy.ABANDON)
    completes after the parent closed: the clock would never move again. Once the plan is seen
    closed, that one lock is released. (Reproduced here with a bare parent and an abandoned
    child that waits for a signal: the product's plan is not at fault. The same shape as
    temporalio/sdk-typescript#1101 and temporalio/sdk-java#1618.)"""
    from temporalio.api.testservice.v1 import UnlockTimeSkippingRequest

    from tests.case_helpers import is_running

    deadline = asyncio.get_running_loop().time() + timeout
    while await is_running(env.client, plan_id):
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"{plan_id} did not close in {timeout:.0f}s")
        await asyncio.sleep(0.02)
    await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())


async def move_clock(env: Any, to: datetime, timing: Timing) -> datetime:
    """Skip the server's clock to ``to`` (timers on the way fire, and what they start runs);
    the server's time after."""
    from temporalio.service import RPCError

    began = clock.monotonic()
    now: datetime = await env.get_current_time()
    if to > now:
        try:
            await asyncio.wait_for(env.sleep(to - now), timeout=120)
        except (TimeoutError, RPCError):
            raise RuntimeError(f"the clock is stuck before {to:%Y-%m-%d %H:%M}") from None
        now = await env.get_current_time()
    timing.clock += clock.monotonic() - began
    return now


async def path_at(client: Any, workflow_id: str, stage_key: str) -> tuple[str | None, bool]:
    """A path's stage (its search attribute) and whether it is still running."""
    from temporalio.api.enums.v1 import WorkflowExecutionStatus

    from tests.case_helpers import describe_raw

    raw = await describe_raw(client, workflow_id)
    info = raw.workflow_execution_info
    payload = info.search_attributes.indexed_fields.get(stage_key)
    stage = json.loads(payload.data) if payload is not None else None
    running = info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    return stage, running


async def check(client: Any, plays: list[CasePlay], concurrency: int) -> list[str]:
    """Every path against the rules' run: open or closed, at the same stage."""
    from contracts import search_attributes as sa

    gate = asyncio.Semaphore(concurrency)
    wrong: list[str] = []

    async def one(play: CasePlay) -> None:
        paths = [(play.case_id, sa.STAGE.name, play.case)]
        if play.plan is not None and play.plan_id is not None:
            paths.append((play.plan_id, sa.PLAN_STAGE.name, play.plan))
        async with gate:
            for workflow_id, key, expected in paths:
                stage, running = await path_at(client, workflow_id, key)
                if (stage, running) != (expected.stage, expected.open):
                    wrong.append(
                        f"{play.script.reference} {key}: {stage} running={running},"
                        f" expected {expected.stage} running={expected.open}"
                    )

    await asyncio.gather(*(one(p) for p in plays))
    return wrong


def what_the_record_holds(url: str) -> tuple[list[tuple[str, str]], int, int]:
    """From the case record: the decisions the cases refused (a refusal is a timeline entry),
    how many timeline entries it holds, and how many emails the SMTP server accepted."""
    from sqlalchemy import func, select

    from records.database import make_engine
    from records.schema import CaseEventRow, OutboxSentRow

    engine = make_engine(url)
    try:
        with engine.connect() as db:
            refused = db.execute(
                select(CaseEventRow.case_id, CaseEventRow.summary).where(
                    CaseEventRow.event == "refused"
                )
            ).all()
            events = db.execute(select(func.count()).select_from(CaseEventRow)).scalar_one()
            emails = db.execute(select(func.count()).select_from(OutboxSentRow)).scalar_one()
    finally:
        engine.dispose()
    return [(case_id, summary) for case_id, summary in refused], events, emails


# --- the run ----------------------------------------------------------------------------------


def outcomes(plays: list[CasePlay]) -> Counter[str]:
    """How the year ends, by the rules: held, withdrawn, ... and whether the plan is open."""
    tally: Counter[str] = Counter()
    for p in plays:
        tally[("open " if p.case.open else "") + p.case.stage] += 1
        if p.plan is not None:
            tally["plan " + ("open " if p.plan.open else "") + p.plan.stage] += 1
    return tally


async def run(args: argparse.Namespace) -> int:
    from runtime.log_setup import configure_logging

    began = clock.monotonic()
    os.environ["ICPC_LOG_LEVEL"] = os.environ.get("ICPC_YEAR_LOG_LEVEL", "WARNING")
    configure_logging()

    def say(text: str) -> None:
        print(f"[{clock.monotonic() - began:6.1f}s] {text}", file=sys.stderr, flush=True)

    year = args.year or datetime.now(LONDON).year + 1  # the test server's clock starts today
    as_of = london_instant(date(year + 1, 1, 1), time(0))
    plays = play_through_rules(args.cases, year, as_of)
    rules_s = clock.monotonic() - began
    say(f"{len(plays)} cases of {year} played through the rules in {rules_s:.1f}s")
    folder = Path(tempfile.mkdtemp(prefix="icpc-year-"))
    try:
        record = throwaway_record_and_key(folder)
        with mail_sink() as smtp_port:
            os.environ.update(ICPC_SMTP_HOST="127.0.0.1", ICPC_SMTP_PORT=str(smtp_port))
            wall = clock.monotonic()
            timing = await play_on_temporal(
                plays, as_of, timedelta(minutes=args.step_minutes), args.concurrency, say
            )
            wall = clock.monotonic() - wall
        refused, events, emails = what_the_record_holds(record)
        reference = {p.case_id: p.script.reference for p in plays}
        timing.problems += [
            f"{reference.get(case_id, case_id)} {what}" for case_id, what in refused
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    expected_decisions = sum(len(p.steps) - 1 for p in plays)
    ok = len(plays) - len({line.split()[0] for line in timing.problems})
    print(
        f"a year on the time-skipping server: {len(plays)} cases of {year}, as at"
        f" {as_of:%Y-%m-%d}; {os.cpu_count()} cores shared (load average"
        f" {', '.join(f'{x:.1f}' for x in os.getloadavg())}); concurrency {args.concurrency},"
        f" clock step {args.step_minutes} min"
    )
    print(f"  cases started           {timing.started:>8}")
    print(f"  decisions sent          {timing.sent:>8}  (of {expected_decisions} the rules took)")
    print(f"  timeline entries in the case record {events:>8}")
    print(f"  emails accepted by the SMTP sink {emails:>8}")
    print(f"  signals sent again      {timing.retries:>8}  (the plan not started yet)")
    print(f"  wall time (s)           {wall:>8.1f}  (target: 1,500 cases under 60 s)")
    print(f"  cases per second        {len(plays) / wall:>8.1f}")
    print(f"  starts (s)              {timing.starts:>8.1f}")
    print(f"  decisions (s)           {timing.decisions:>8.1f}")
    print(f"  clock moves (s)         {timing.clock:>8.1f}")
    print(f"  CPU (s), this process   {timing.cpu_here:>8.1f}  (worker, client, SMTP sink)")
    print(f"  CPU (s), test server    {timing.cpu_server:>8.1f}")
    print(f"  final check (s)         {timing.check:>8.1f}")
    print(f"  the rules' run (s)      {rules_s:>8.1f}")
    print(
        "  how the year ends: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes(plays).items()))
    )
    print(f"{CHECK_LINE}: {ok}/{len(plays)}")
    for line in timing.problems[:20]:
        print(f"  WRONG: {line}")
    return 0 if not timing.problems and timing.sent == expected_decisions else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1500, help="cases in the year (1,500)")
    parser.add_argument("--year", type=int, default=None, help="default: next year")
    parser.add_argument(
        "--concurrency", type=int, default=64, help="starts and decisions in flight (64)"
    )
    parser.add_argument(
        "--step-minutes",
        type=int,
        default=30,
        help="the clock's step: each step's time is rounded up to it (30)",
    )
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
