"""The product beside a bare workflow of the same shape, on one Temporal dev server, in one run.

Every figure is a ratio to the bare workflow (``benchmarks/bare_case.py``: five timers, one
activity, search attributes, one update) measured in the same run on the same machine, because
absolute figures on a shared machine mean little. Both sides use the product's data converter
(pydantic, payloads encrypted with a throwaway key), and each worker is a process of its own so
its memory is measured alone: the product's is ``icpc worker`` itself, with a throwaway case
record (SQLite) and a mail sink on loopback.

What it measures, one side at a time (the other side's worker idle):

- **starts**: N cases started through the command line's client path
  (``contracts.client.start_case``, 16 in flight) after a few warm-up starts; the rate until
  every case is set up (planned: its stage is no longer ``starting`` in visibility), and until
  the worker is idle again (the product's record and start notice done too); and the CPU time
  each start cost the worker and the Temporal dev server (user and system, from ``/proc``),
  which a busy machine disturbs far less than the rates;
- **worker memory**: the worker's RSS with every case cached (``max_cached_workflows`` is set
  above N on purpose, for both), less its RSS after the warm-up, per 1,000 cases;
- **decision round trips**, in interleaved rounds on fresh cases: the bare update; a decision
  (``reassign_worker``) by the command line's client path (``contracts.client.send_decision``,
  what ``icpc decide`` calls once it has checked the person); and by the web form: an HTTP POST
  to the decision page of the real app (uvicorn on loopback) by a signed-in team manager, which
  reads the case, checks the person, sends the update and writes the audit trail (the query
  of the case's state it starts with is timed on its own too);
- **history bytes** (the protobuf events, payloads encrypted): after start (the median of a few
  of the cases above) on the dev server, and when the conference is held, on the time-skipping
  test server (a whole case needs days to pass): confirmed, convening sheet, booked, report
  shared, held with a plan (which starts the plan workflow) and without;
- **reports**: each report's median time over a simulated authority's year of cases, from
  ``benchmarks/reports.py`` (no bare counterpart).

Then where the product's history bytes go, by kind of event, after start and when held.

    .venv/bin/python benchmarks/side_by_side.py            # the full mode: N=1,000 (minutes)
    .venv/bin/python benchmarks/side_by_side.py --quick    # a smoke test: well under a minute
    make bench                                             # the full mode (BENCH_ARGS=--quick)

Figures only; the targets (issue 15) are printed beside them, never asserted. ``--keep``
keeps the work folder (the workers' logs, the held cases' histories as JSON); with
``ICPC_BENCH_PYSPY`` naming a py-spy binary, each worker is sampled during its start burst.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time as clock
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

BIN = Path(sys.executable).parent
DEV_SERVER = BIN / "temporal"
TEST_SERVER = BIN / "temporal-test-server"
ICPC = BIN / "icpc"
PROCEDURE = "bct-management-note"
TEAM = "north-1"
PASSWORD = "bench-password-nobody-else-uses"
MANAGER = "bench.tess"
WORKERS = ("bench.sam", "bench.sol")  # social workers a case is reassigned between
IN_FLIGHT = 16  # concurrent starts

# Every row the table prints, in order (the smoke test checks each is there).
ROWS = (
    "case starts per second, until set up",
    "case starts per second, until the worker is idle",
    "worker CPU per case start (ms)",
    "Temporal server CPU per case start (ms)",
    "decision round trip p50, command line client (ms)",
    "decision round trip p50, web form POST (ms)",
    "  the case's state query the form makes first (ms)",
    "worker RSS per 1,000 cached cases (MB)",
    "worker RSS with every case cached (MB)",
    "history right after start (KB)",
    "history when the conference is held, plan (KB)",
    "history when the conference is held, no plan (KB)",
)
REPORTS_ROW = "reports over a year of cases"


@dataclass(frozen=True)
class Mode:
    name: str
    cases: int  # starts measured, per side
    warmup: int
    rounds: int  # round-trip rounds, each on fresh cases
    per_round: int  # decisions per round and path
    history_samples: int
    report_cases: int
    report_runs: int


FULL = Mode("full", 1000, 10, 15, 20, 5, 1500, 5)
QUICK = Mode("quick", 20, 3, 2, 5, 2, 60, 1)


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dev_server_pid(port: int) -> int | None:
    """The Temporal dev server listening on ``port`` (started by the SDK's test environment)."""
    wanted = ["start-dev", "--port", str(port)]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "start-dev" in args and any(args[i : i + 2] == wanted[1:] for i in range(len(args))):
            return int(proc.name)
    return None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for {pid}")


async def until_idle(pid: int, timeout: float = 180.0) -> float:
    """Wait until the process uses under 5% of a core for a second; the seconds waited."""
    started = clock.monotonic()
    quiet = 0
    while clock.monotonic() - started < timeout:
        before = cpu_seconds(pid)
        await asyncio.sleep(0.5)
        quiet = quiet + 1 if cpu_seconds(pid) - before < 0.025 else 0
        if quiet >= 2:
            break
    return clock.monotonic() - started


@dataclass
class WorkerProcess:
    name: str
    command: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.log.parent
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the {self.name} worker exited:\n{tail}")
        return self.process.pid

    def stop(self) -> None:
        from tests.process_helpers import stop_process

        if self.process is not None:
            stop_process(self.process)


# --- the two sides ------------------------------------------------------------------------------


@dataclass
class Figures:
    starts_set_up: float = 0.0  # per second
    starts_idle: float = 0.0
    cpu_per_start: float = 0.0  # ms of the worker's CPU (user and system) per case started
    server_cpu_per_start: float = 0.0  # ms of the dev server's CPU per case started
    rss_idle: float = 0.0
    rss_full: float = 0.0
    cached: int = 0
    history_start: list[int] = field(default_factory=list)
    start_history: Any = None  # the last sampled, for where its bytes go
    round_trip: list[float] = field(default_factory=list)  # ms

    @property
    def rss_per_1000(self) -> float:
        return (self.rss_full - self.rss_idle) / max(self.cached, 1) * 1000


class Side:
    """One shape under test: how to start a case of it and take a decision on it."""

    name: str
    worker: WorkerProcess
    task_queue: str
    server_pid: int | None = None  # the dev server both sides share, for its CPU per start

    def __init__(self, client: Any, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.figures = Figures()
        self.started: list[str] = []

    async def start_one(self, n: int) -> str:
        raise NotImplementedError

    async def count_set_up(self) -> int:
        query = f"TaskQueue = '{self.task_queue}' AND IcpcStage != 'starting'"
        return (await self.client.count_workflows(query)).count  # type: ignore[no-any-return]

    async def start_many(self, first: int, count: int) -> None:
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(n: int) -> None:
            async with gate:
                self.started.append(await self.start_one(n))

        await asyncio.gather(*(one(n) for n in range(first, first + count)))

    async def until_set_up(self, total: int, timeout: float = 600.0) -> None:
        deadline = clock.monotonic() + timeout
        while await self.count_set_up() < total:
            assert self.worker.pid  # raises, with the worker's last words, if it exited
            if clock.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: cases not set up in {timeout:.0f}s")
            await asyncio.sleep(0.2)


class BareSide(Side):
    name = "bare"

    async def start_one(self, n: int) -> str:
        from bare_case import BARE_WORKFLOW, BareStart, bare_search_attributes

        start = BareStart(
            case_reference=f"BARE-{n:05d}-{self.task_queue[-6:]}",
            family_reference="FAM-BENCH",
            strategy_discussion=datetime.now().astimezone() - timedelta(hours=1),
        )
        handle = await self.client.start_workflow(
            BARE_WORKFLOW,
            start,
            id=f"bare-{start.case_reference}",
            task_queue=self.task_queue,
            search_attributes=bare_search_attributes(start),
        )
        return str(handle.id)

    async def decide(self, workflow_id: str, n: int) -> None:
        from bare_case import BareDecision, BareResult

        await self.client.get_workflow_handle(workflow_id).execute_update(
            "decide", BareDecision(kind="note", by=MANAGER), result_type=BareResult
        )


class ProductSide(Side):
    name = "product"

    def __init__(self, client: Any, task_queue: str) -> None:
        from procedures import get_procedure

        super().__init__(client, task_queue)
        self.procedure = get_procedure(PROCEDURE)

    def case_start(self, n: int) -> Any:
        from domain.calendar import LONDON
        from domain.decisions import CaseStart, Contact

        contacts = [
            Contact(
                role=r.id,
                name=f"Staff {r.id}",
                email=f"{r.id.replace('_', '.')}@staff.example.org",
                user=WORKERS[0] if r.id == "social_worker" else None,
            )
            for r in self.procedure.roles
            if not r.mailbox
        ]
        return CaseStart(
            procedure_id=self.procedure.id,
            case_reference=f"BENCH-{n:05d}-{self.task_queue[-6:]}",
            family_reference="FAM-BENCH",
            strategy_discussion=datetime.now(LONDON) - timedelta(hours=1),
            contacts=contacts,
            team=TEAM,
        )

    async def start_one(self, n: int) -> str:
        from contracts.client import start_case

        started = await start_case(
            self.client, self.case_start(n), self.procedure, task_queue=self.task_queue
        )
        return started.case_id

    async def decide(self, case_id: str, n: int) -> None:
        """What ``icpc decide CASE reassign_worker --person ...`` sends once it has checked."""
        from contracts.client import send_decision
        from domain.decisions import Contact, Decider, ReassignWorker

        person = WORKERS[(n + 1) % 2]
        decision = ReassignWorker(
            decided_by=Decider(user=MANAGER, role="team_manager"),
            contact=Contact(
                role="social_worker",
                name=person,
                email=f"{person}@staff.example.org",
                user=person,
            ),
        )
        outcome = await send_decision(self.client, case_id, decision)
        if not outcome.accepted:
            raise RuntimeError(f"the decision was refused: {outcome.message}")


# --- the web form -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def web_form(client: Any, record_url: str) -> AsyncIterator[str]:
    """The real app (``web.app.create_app``) served by uvicorn on loopback; its address."""
    import uvicorn

    from web.app import create_app
    from web.settings import Settings

    async def client_factory() -> Any:
        return client

    settings = Settings(secret="bench-" + uuid.uuid4().hex * 2, signin_delay=0.0)
    app = create_app(settings, client_factory)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class WebSession:
    def __init__(self, http: Any) -> None:
        self.http = http
        self.token = ""

    async def sign_in(self, user: str) -> None:
        page = await self.http.get("/sign-in")
        response = await self.http.post(
            "/sign-in",
            data={"user": user, "password": PASSWORD, "csrf_token": csrf(page.text)},
        )
        if response.status_code != 303:
            raise RuntimeError(f"sign-in refused ({response.status_code})")
        self.token = csrf((await self.http.get("/waiting")).text)

    async def decide(self, case_id: str, n: int) -> None:
        response = await self.http.post(
            f"/cases/{case_id}/decisions/reassign_worker",
            data={
                "csrf_token": self.token,
                "person": WORKERS[(n + 1) % 2],
                "reason": "Caseload",
            },
        )
        if response.status_code != 303:
            raise RuntimeError(f"the web form answered {response.status_code}")


def csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


# --- setting up ---------------------------------------------------------------------------------


def add_people(url: str) -> None:
    from records.database import make_engine
    from records.people import PeopleStore

    engine = make_engine(url)
    try:
        people = PeopleStore(engine)
        people.add(
            MANAGER,
            roles=["team_manager"],
            name="Tess Bench",
            email=f"{MANAGER}@staff.example.org",
            teams=[TEAM],
            password=PASSWORD,
        )
        for person in WORKERS:
            people.add(
                person,
                roles=["social_worker"],
                name=person.split(".")[1].title() + " Bench",
                email=f"{person}@staff.example.org",
                teams=[TEAM],
            )
    finally:
        engine.dispose()


def throwaway_record_and_key(folder: Path) -> str:
    """This process's environment (and its workers'): a new case record (SQLite) in ``folder``
    and a throwaway payload key, with nothing of the caller's own settings left; the record's
    URL."""
    from records.database import upgrade

    record = f"sqlite:///{folder / 'records.sqlite3'}"
    os.environ.update(
        ICPC_DATABASE_URL=record,
        ICPC_PAYLOAD_KEY=base64.b64encode(os.urandom(32)).decode(),
        ICPC_PAYLOAD_KEY_FILE="",
    )
    for name in ("ICPC_PAYLOAD_ENCRYPTION", "ICPC_OUTBOX_DB", "ICPC_PAYLOAD_OLD_KEYS"):
        os.environ.pop(name, None)
    upgrade(record)
    return record


@contextlib.contextmanager
def mail_sink() -> Iterator[int]:
    """An SMTP server on loopback that takes every message and keeps none; its port."""
    from aiosmtpd.controller import Controller

    class Drop:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 Message accepted for delivery"

    port = free_port()
    controller = Controller(Drop(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def history_bytes(history: Any) -> int:
    return sum(event.ByteSize() for event in history.events)


async def register_search_attributes(client: Any) -> None:
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from contracts.search_attributes import ALL

    request = AddSearchAttributesRequest(namespace=client.namespace)
    for key in ALL:
        request.search_attributes[key.name] = IndexedValueType.ValueType(
            key.indexed_value_type.value
        )
    await client.operator_service.add_search_attributes(request)


# --- the phases ---------------------------------------------------------------------------------


@contextlib.contextmanager
def profiled(pid: int, out: Path) -> Iterator[None]:
    """With ICPC_BENCH_PYSPY naming a py-spy binary (not a dependency: a developer's tool),
    sample the worker while it takes the start burst, as collapsed stacks (kept with --keep)."""
    pyspy = os.environ.get("ICPC_BENCH_PYSPY")
    if not pyspy:
        yield
        return
    sampler = subprocess.Popen(
        [pyspy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--threads"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        sampler.send_signal(2)
        sampler.wait(timeout=60)


async def measure_starts(side: Side, mode: Mode, say: Callable[[str], None]) -> None:
    pid = side.worker.pid
    await side.start_many(0, mode.warmup)
    await side.until_set_up(mode.warmup, timeout=180)
    await until_idle(pid)
    side.figures.rss_idle = rss_mb(pid)
    cpu_before = cpu_seconds(pid)
    server_before = cpu_seconds(side.server_pid) if side.server_pid else 0.0
    with profiled(pid, side.worker.log.with_name(f"{side.name}-starts.pyspy.txt")):
        began = clock.monotonic()
        await side.start_many(mode.warmup, mode.cases)
        await side.until_set_up(mode.warmup + mode.cases)
        set_up = clock.monotonic() - began
    await until_idle(pid)
    idle = clock.monotonic() - began - 1.0  # less the idle second until_idle waits to be sure
    # Less sensitive to a busy machine than the rates: what each start cost the worker itself.
    side.figures.cpu_per_start = (cpu_seconds(pid) - cpu_before) / mode.cases * 1000
    if side.server_pid:
        server_cpu = cpu_seconds(side.server_pid) - server_before
        side.figures.server_cpu_per_start = server_cpu / mode.cases * 1000
    side.figures.starts_set_up = mode.cases / set_up
    side.figures.starts_idle = mode.cases / max(idle, set_up)
    side.figures.rss_full = rss_mb(pid)
    side.figures.cached = mode.cases
    say(
        f"{side.name}: {mode.cases} starts set up in {set_up:.1f}s, worker idle after"
        f" {idle:.1f}s, {side.figures.cpu_per_start:.1f} ms of its CPU each"
        f" ({side.figures.server_cpu_per_start:.1f} ms of the server's);"
        f" RSS {side.figures.rss_idle:.0f} -> {side.figures.rss_full:.0f} MB"
    )
    for workflow_id in side.started[-mode.history_samples :]:
        history = await side.client.get_workflow_handle(workflow_id).fetch_history()
        side.figures.history_start.append(history_bytes(history))
        side.figures.start_history = history


async def measure_round_trips(
    bare: BareSide, product: ProductSide, web: WebSession, mode: Mode
) -> dict[str, list[float]]:
    """Interleaved rounds, each on fresh cases (a timeline that grows for hundreds of
    decisions would slow the web form's read of the case, which real cases never see). Beside
    them, the query of a case's state the web form makes before it sends a decision, on a case
    of its own (a case still carrying out a decision's effects answers after them)."""
    from contracts.client import read_case

    times: dict[str, list[float]] = {"web": [], "query": []}

    async def query(case_id: str, n: int) -> None:
        await read_case(product.client, case_id)

    for r in range(mode.rounds):
        first = 100_000 + r * 10
        await bare.start_many(first, 1)
        bare_case = bare.started[-1]
        await product.start_many(first, 3)
        cli_case, web_case, read_case_id = product.started[-3:]
        await bare.until_set_up(mode.warmup + mode.cases + r + 1)
        await product.until_set_up(mode.warmup + mode.cases + 3 * (r + 1))
        for n in range(mode.per_round):
            for into, send, case in (
                (bare.figures.round_trip, bare.decide, bare_case),
                (times["query"], query, read_case_id),
                (product.figures.round_trip, product.decide, cli_case),
                (times["web"], web.decide, web_case),
            ):
                began = clock.perf_counter()
                await send(case, n)
                into.append((clock.perf_counter() - began) * 1000)
    return times


async def conference_histories(
    say: Callable[[str], None], keep_in: Path | None = None
) -> tuple[dict[str, Any], Any]:
    """A whole case to its conference on the time-skipping server (days pass in seconds), with
    a plan and without; and the bare workflow to its ``hold``."""
    from bare_case import BareCase, BareDecision, BareResult, BareStart, bare_due_dates
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from contracts.case import CaseResult
    from contracts.client import start_case
    from domain.calendar import LONDON
    from runtime.connection import data_converter
    from tests.case_helpers import (
        RunningCase,
        book,
        case_start,
        decision,
        invitees,
        procedure,
        settle,
    )
    from workers.main import build_worker

    proc = procedure(PROCEDURE)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter()
    )
    histories: dict[str, Any] = {}
    try:
        await register_search_attributes(env.client)
        queue = f"bench-ts-{uuid.uuid4().hex[:6]}"
        async with (
            build_worker(env.client, task_queue=queue),
            Worker(
                env.client,
                task_queue=queue + "-bare",
                workflows=[BareCase],
                activities=[bare_due_dates],
            ),
        ):
            for outcome in ("no_plan", "child_protection_plan"):
                now = (await env.get_current_time()).astimezone(LONDON)
                start = case_start(
                    proc, now - timedelta(minutes=10), reference=f"BENCH-HELD-{outcome[:2]}"
                )
                started = await start_case(env.client, start, proc, task_queue=queue, now=now)
                handle = env.client.get_workflow_handle(started.case_id, result_type=CaseResult)
                case = RunningCase(env=env, handle=handle, proc=proc, start=start)
                await case.until(lambda s: bool(s.timeline))
                await case.settle()
                state = await case.signal(decision(proc, "confirm_icpc", reason="Continues"))
                await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
                await case.signal(
                    book(proc, state.calendar.add_working_days(state.strategy_day, 14))
                )
                state = await case.signal(decision(proc, "share_report"))
                assert state.booking is not None
                await case.sleep_until(state.booking.starts_at + timedelta(hours=3))
                await case.signal(decision(proc, "hold_conference", outcome=outcome))
                result = await case.result()
                history = await handle.fetch_history()
                histories[outcome] = history
                if keep_in is not None:  # --keep: for reading where the bytes go
                    (keep_in / f"history-held-{outcome}.json").write_text(history.to_json())
                if result.plan_workflow_id:
                    # Settled first: terminating a workflow mid-task locks the server's clock.
                    await settle(env.client, result.plan_workflow_id)
                    await env.client.get_workflow_handle(result.plan_workflow_id).terminate(
                        "benchmark finished"
                    )
            bare_start = BareStart(
                case_reference="BARE-HELD",
                family_reference="FAM-BENCH",
                strategy_discussion=await env.get_current_time(),
            )
            handle = await env.client.start_workflow(
                "BareCase", bare_start, id="bare-held", task_queue=queue + "-bare"
            )
            await handle.execute_update(
                "decide", BareDecision(kind="hold", by=MANAGER), result_type=BareResult
            )
            with env.auto_time_skipping_disabled():
                await asyncio.wait_for(handle.result(), timeout=30)
            bare_history = await handle.fetch_history()
    finally:
        await env.shutdown()
    say("conference histories recorded")
    return histories, bare_history


def report_times(mode: Mode, folder: Path) -> list[tuple[str, float]]:
    """Each report's median over a simulated year, through ``benchmarks/reports.py``'s own
    ``fill`` and ``measure``; a row saying why when that script cannot be used."""
    from records.database import upgrade
    from records.store import RecordStore

    try:
        import reports as report_bench

        url = f"sqlite:///{folder / 'reports.sqlite3'}"
        upgrade(url)
        with RecordStore(url) as store:
            report_bench.fill(store, mode.report_cases, range(1, 2))
            measured = report_bench.measure(store, mode.report_runs)
    except Exception as error:  # another script's: its failure must not hide the table
        return [(f"not measured: {type(error).__name__}: {error}"[:120], float("nan"))]
    return [(name, median) for name, median, *_ in measured]


# --- the run ------------------------------------------------------------------------------------


def ratio(product: float, bare: float) -> str:
    return f"{product / bare:.2f}" if bare else "-"


def where_the_bytes_go(history: Any, top: int = 5) -> str:
    """The event kinds holding most of a history's bytes (activities by name)."""
    sizes: dict[str, int] = {}
    for event in history.events:
        kind = event.WhichOneof("attributes").removesuffix("_event_attributes")
        if kind == "activity_task_scheduled":
            kind = event.activity_task_scheduled_event_attributes.activity_type.name + " input"
        elif kind == "activity_task_completed":
            kind = "activity results"
        sizes[kind] = sizes.get(kind, 0) + event.ByteSize()
    biggest = sorted(sizes.items(), key=lambda item: -item[1])[:top]
    return ", ".join(f"{kind} {size / 1024:.1f}" for kind, size in biggest)


def held_back(
    product: Figures,
    bare: Figures,
    times: dict[str, list[float]],
    bare_p50: float,
    start_ratio: float,
) -> list[str]:
    """For each target missed in this run, what this run measured of its cause."""
    lines = ["what holds the missed targets back, from this run's own figures:"]
    if bare.starts_set_up and product.starts_set_up / bare.starts_set_up < 0.9:
        spent = product.cpu_per_start + product.server_cpu_per_start
        bare_spent = bare.cpu_per_start + bare.server_cpu_per_start
        lines.append(
            f"  starts: worker + server CPU per start {spent:.0f} ms against {bare_spent:.0f} ms"
            f" bare ({ratio(spent, bare_spent)}x); with the cores busy the rate follows it"
        )
    web = statistics.median(times["web"])
    if bare_p50 and web / bare_p50 > 1.2:
        query = statistics.median(times["query"])
        update = statistics.median(product.round_trip)
        lines.append(
            f"  web decision: two round trips before any of the form's own work, the state"
            f" query {query:.1f} ms and the update {update:.1f} ms: a floor of"
            f" {ratio(query + update, bare_p50)}x; the form's own work (session, scope, audit)"
            f" {max(web - query - update, 0):.1f} ms"
        )
    if bare.rss_per_1000 and product.rss_per_1000 / bare.rss_per_1000 > 1.3:
        lines.append(
            f"  memory: {product.rss_per_1000 / 1000:.2f} MB per cached case against"
            f" {bare.rss_per_1000 / 1000:.2f} MB bare (where it goes is not measured here)"
        )
    if start_ratio > 3:
        lines.append("  history at start: see where its bytes go, below")
    return lines if len(lines) > 1 else []


def activity_count(history: Any) -> int:
    return sum(1 for e in history.events if e.HasField("activity_task_scheduled_event_attributes"))


def table(
    mode: Mode,
    bare: Figures,
    product: Figures,
    times: dict[str, list[float]],
    conference: dict[str, Any],
    bare_held: Any,
    reports: list[tuple[str, float]],
) -> list[str]:
    bare_p50 = statistics.median(bare.round_trip)
    start_p = statistics.median(product.history_start) / 1024
    start_b = statistics.median(bare.history_start) / 1024
    held_b = history_bytes(bare_held) / 1024
    plan = conference["child_protection_plan"]
    no_plan = conference["no_plan"]
    rows: list[tuple[str, float, float, str]] = [
        (ROWS[0], product.starts_set_up, bare.starts_set_up, ">= 0.9"),
        (ROWS[1], product.starts_idle, bare.starts_idle, ""),
        (ROWS[2], product.cpu_per_start, bare.cpu_per_start, ""),
        (ROWS[3], product.server_cpu_per_start, bare.server_cpu_per_start, ""),
        (ROWS[4], statistics.median(product.round_trip), bare_p50, ""),
        (ROWS[5], statistics.median(times["web"]), bare_p50, "<= 1.2"),
        (ROWS[6], statistics.median(times["query"]), bare_p50, ""),
        (ROWS[7], product.rss_per_1000, bare.rss_per_1000, "<= 1.3"),
        (ROWS[8], product.rss_full, bare.rss_full, ""),
        (ROWS[9], start_p, start_b, "<= 3"),
        (ROWS[10], history_bytes(plan) / 1024, held_b, "<= 25 KB"),
        (ROWS[11], history_bytes(no_plan) / 1024, held_b, "<= 25 KB"),
    ]
    lines = [
        f"side by side, {mode.name} mode: {mode.cases} cases per side, round trips"
        f" {mode.rounds}x{mode.per_round} each, on {os.cpu_count()} cores (load average"
        f" {', '.join(f'{x:.1f}' for x in os.getloadavg())})",
        f"{'figure':<52} {'product':>9} {'bare':>9} {'ratio':>7}  target",
    ]
    for name, p, b, target in rows:
        lines.append(f"{name:<52} {p:>9.1f} {b:>9.1f} {ratio(p, b):>7}  {target}")
    lines += held_back(product, bare, times, bare_p50, start_p / start_b if start_b else 0.0)
    started = product.start_history
    lines += [
        "where the product's history goes (KB):",
        f"  after start ({activity_count(started)} activities; bare"
        f" {activity_count(bare.start_history)}): {where_the_bytes_go(started)}",
        f"  held, with a plan ({activity_count(plan)} activities): {where_the_bytes_go(plan)}",
        f"{REPORTS_ROW} ({mode.report_cases:,} cases, SQLite, median ms):",
    ]
    for name, median in reports:
        lines.append(f"  {name:<50} {median:>9.0f}")
    return lines


async def run(mode: Mode, keep: bool) -> None:
    from temporalio.testing import WorkflowEnvironment

    from contracts.search_attributes import ALL as SEARCH_ATTRIBUTES
    from runtime.connection import data_converter
    from runtime.log_setup import configure_logging

    began = clock.monotonic()
    # This process's own logs (the web form's, the time-skipping run's worker): warnings only,
    # on stderr. The worker processes log as in production (ICPC_LOG_LEVEL as set, INFO).
    worker_log_level = os.environ.get("ICPC_LOG_LEVEL", "INFO")
    os.environ["ICPC_LOG_LEVEL"] = "WARNING"
    configure_logging()

    def say(text: str) -> None:
        print(f"[{clock.monotonic() - began:6.1f}s] {text}", file=sys.stderr, flush=True)

    folder = Path(tempfile.mkdtemp(prefix="icpc-bench-"))
    try:
        record = throwaway_record_and_key(folder)
        add_people(record)
        with mail_sink() as smtp_port:
            os.environ.update(ICPC_SMTP_HOST="127.0.0.1", ICPC_SMTP_PORT=str(smtp_port))
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(DEV_SERVER),
                data_converter=data_converter(),
                search_attributes=SEARCH_ATTRIBUTES,
                ui=False,
            )
            async with env:
                client = env.client
                address = client.service_client.config.target_host
                cache = mode.warmup + mode.cases + 4 * mode.rounds + 50
                child_env = {
                    **os.environ,
                    "TEMPORAL_ADDRESS": address,
                    "ICPC_WORKER_MAX_CACHED_WORKFLOWS": str(cache),
                    "ICPC_LOG_LEVEL": worker_log_level,
                    # The checkout's packages, whatever the installed finder maps.
                    "PYTHONPATH": os.pathsep.join(
                        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
                    ),
                }
                bare = BareSide(client, f"bench-bare-{uuid.uuid4().hex[:6]}")
                bare.worker = WorkerProcess(
                    "bare",
                    [
                        sys.executable,
                        str(HERE / "bare_case.py"),
                        "--task-queue",
                        bare.task_queue,
                        "--max-cached-workflows",
                        str(cache),
                    ],
                    folder / "bare-worker.log",
                )
                product = ProductSide(client, f"bench-case-{uuid.uuid4().hex[:6]}")
                product.worker = WorkerProcess(
                    "product",
                    [str(ICPC), "worker", "--task-queue", product.task_queue],
                    folder / "product-worker.log",
                )
                bare.server_pid = product.server_pid = dev_server_pid(
                    int(address.rsplit(":", 1)[1])
                )
                say(f"dev server on {address}; work folder {folder}")
                try:
                    for side in (bare, product):
                        side.worker.start(child_env)
                        await measure_starts(side, mode, say)
                    async with web_form(client, record) as base:
                        import httpx

                        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                            web = WebSession(http)
                            await web.sign_in(MANAGER)
                            times = await measure_round_trips(bare, product, web, mode)
                    say("round trips done")
                finally:
                    for side in (bare, product):
                        side.worker.stop()
        with mail_sink() as smtp_port:
            os.environ.update(ICPC_SMTP_PORT=str(smtp_port))
            conference, bare_held = await conference_histories(say, folder if keep else None)
        reports = report_times(mode, folder)
        say("reports timed")
    finally:
        if keep:
            print(f"work folder kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    for line in table(mode, bare.figures, product.figures, times, conference, bare_held, reports):
        print(line)
    print(f"finished in {clock.monotonic() - began:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N: a smoke test (CI)")
    parser.add_argument("--cases", type=int, default=None, help="starts per side")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    if args.cases:
        mode = Mode(**{**mode.__dict__, "cases": args.cases})
    asyncio.run(run(mode, args.keep))


if __name__ == "__main__":
    main()
