"""The mail server down, then back (issue 15): a real SMTP server on loopback, stopped and
started again on the same port, and the case workflow on the time-skipping server.

- Back off with a ceiling: the pause between rounds doubles from 1 minute to at most 5, so
  invitations go out within the ceiling of the server coming back (it was a fixed 30 minutes
  nothing could wake). While they wait, ``icpc cases`` and the case record say "email failing".
- A decision's own email does not wait behind the stalled batch: it wakes the pause, and goes
  out first, at once.

Each test prints its counts: emails expected, delivered, duplicates, lost.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from temporalio.testing import WorkflowEnvironment

from activities.record import record_store
from contracts.case import DECIDE_SIGNAL, DecisionRequest
from domain.calendar import LONDON
from starters.cli import main
from tests.case_helpers import (
    RunningCase,
    book,
    case_start,
    decision,
    describe_raw,
    idempotency_keys,
    invitees,
    person_token,
    procedure,
    start_case_workflow,
    unique,
)
from tests.conftest import MailCatcher, free_port
from tests.service_helpers import serving
from tests.test_delivery_failing import delivery_failing
from workers.main import build_worker
from workflows.mail_delivery import MAIL_PAUSE_CEILING

BCT = "bct-management-note"
INVITEES = 3


@dataclass
class Sink:
    """A real SMTP server on one loopback port that can be stopped and started again."""

    catcher: MailCatcher
    controller: Controller | None = field(default=None)

    def start(self) -> None:
        self.controller = Controller(
            self.catcher, hostname=self.catcher.host, port=self.catcher.port
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sink]:
    catcher = MailCatcher(host="127.0.0.1", port=free_port())
    monkeypatch.setenv("ICPC_SMTP_HOST", catcher.host)
    monkeypatch.setenv("ICPC_SMTP_PORT", str(catcher.port))
    monkeypatch.setenv("ICPC_OUTBOX_DB", str(tmp_path / "outbox.sqlite3"))
    server = Sink(catcher)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cli_service(
    time_skipping_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The web service on this server, for ``icpc cases`` (its client), as a service-wide
    operator of the conference service."""
    monkeypatch.setenv(
        "ICPC_PERSON_TOKEN", person_token("smtp-bss", "cp_conference_service", service_wide=True)
    )
    with serving(time_skipping_env.client) as url:
        monkeypatch.setenv("ICPC_SERVICE_URL", url)
        yield url


async def open_case(env: WorkflowEnvironment, queue: str) -> RunningCase:
    """A case with its invitees in, ready to be booked (the mail server still up)."""
    proc = procedure(BCT)
    now = (await env.get_current_time()).astimezone(LONDON)
    start = case_start(proc, now - timedelta(hours=1), reference=unique("SMTP"))
    case = RunningCase(env, await start_case_workflow(env.client, start, proc, queue), proc, start)
    await case.until(lambda s: bool(s.timeline))
    await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(INVITEES)))
    return case


async def book_while_down(case: RunningCase, sink: Sink) -> None:
    """Stop the server, then book: the invitations cannot go."""
    sink.stop()
    state = await case.state()
    day = state.calendar.add_working_days(state.strategy_day, 12)
    await case.handle.signal(DECIDE_SIGNAL, DecisionRequest(decision=book(case.proc, day)))


async def sending(case: RunningCase) -> bool:
    raw = await describe_raw(case.client, case.handle.id)
    return any(a.activity_type.name == "send_emails" for a in raw.pending_activities)


async def until_paused(case: RunningCase, env: WorkflowEnvironment) -> None:
    """Skip the clock a little at a time until the mail is between rounds (no send pending)."""
    for _ in range(200):
        if not await sending(case):
            return
        await env.sleep(timedelta(seconds=5))
    raise AssertionError("the mail never paused")


async def until_delivered(sink: Sink, count: int, timeout: float = 20.0) -> None:
    """Wait in real time (the test clock is not skipped meanwhile)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(sink.catcher.messages) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{len(sink.catcher.messages)} of {count} emails arrived")
        await asyncio.sleep(0.05)


def cases_line(capsys: pytest.CaptureFixture[str], reference: str) -> str:
    code = main(["cases", "--reference", reference])
    out, _ = capsys.readouterr()
    assert code == 0
    [line] = [line for line in out.splitlines() if reference in line]
    return line


def counts(name: str, expected: int, keys: list[str]) -> tuple[int, int]:
    """Invitations delivered (their idempotency keys) against those expected."""
    duplicates = len(keys) - len(set(keys))
    lost = expected - len(set(keys))
    print(
        f"{name}: {expected} invitations expected, {len(keys)} delivered,"
        f" {duplicates} duplicate(s), {lost} lost"
    )
    return duplicates, lost


def invitation_keys(sink: Sink) -> list[str]:
    return [
        key
        for key, message in zip(
            idempotency_keys(sink.catcher.messages), sink.catcher.messages, strict=True
        )
        if "Invitation" in str(message["Subject"])
    ]


async def test_invitations_go_out_within_the_ceiling_of_the_server_coming_back(
    time_skipping_env: WorkflowEnvironment,
    sink: Sink,
    cli_service: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = time_skipping_env
    queue = unique("smtp-down")
    async with build_worker(env.client, queue):
        case = await open_case(env, queue)
        reference = case.start.case_reference
        try:
            sink.catcher.clear()  # the start notice went while the server was up
            await book_while_down(case, sink)
            await env.sleep(timedelta(minutes=20))  # rounds fail; pauses of 1, 2, 4, 5, 5 min
            await until_paused(case, env)
            assert await delivery_failing(env, case.handle.id) is True
            assert not sink.catcher.messages

            # The case record (and so `icpc cases`, the web form's lists) says so meanwhile.
            summary = record_store().summary(case.handle.id)
            assert summary is not None and summary.email_failing
            assert cases_line(capsys, reference).endswith("email failing")

            sink.start()  # the server is back, in the middle of a pause
            await env.sleep(MAIL_PAUSE_CEILING + timedelta(seconds=30))
            await until_delivered(sink, INVITEES)
            state = await case.settle()
            with capsys.disabled():  # the counts are for the test log, not for capsys
                duplicates, lost = counts(
                    "smtp down 20 min then back", INVITEES, invitation_keys(sink)
                )
            assert len(sink.catcher.messages) == INVITEES and duplicates == 0 and lost == 0
            assert state.invitations_sent_sequence == 1
            assert await delivery_failing(env, case.handle.id) is False
            events = [entry.event for entry in state.timeline]
            assert events.count("delivery_failing") == 1
            assert events.count("delivery_restored") == 1

            for _ in range(100):  # the record catches up a moment later
                summary = record_store().summary(case.handle.id)
                if summary is not None and not summary.email_failing:
                    break
                await asyncio.sleep(0.1)
            assert summary is not None and not summary.email_failing
            assert "email failing" not in cases_line(capsys, reference)
            code = main(["cases", "--reference", reference, "--json"])
            out = capsys.readouterr().out
            [row] = json.loads(out[out.index("[") :])
            assert code == 0 and row["email_failing"] is False
        finally:
            if sink.controller is None:
                sink.start()
            await case.clean_up()


async def test_a_decision_email_wakes_the_pause_and_goes_out_first(
    time_skipping_env: WorkflowEnvironment, sink: Sink
) -> None:
    env = time_skipping_env
    queue = unique("smtp-wake")
    async with build_worker(env.client, queue):
        case = await open_case(env, queue)
        try:
            sink.catcher.clear()
            await book_while_down(case, sink)
            await env.sleep(timedelta(minutes=3))  # a round or two fail
            await until_paused(case, env)
            assert not sink.catcher.messages

            sink.start()
            state = await case.state()
            later = state.calendar.add_working_days(state.strategy_day, 18)
            delay = decision(
                case.proc,
                "request_delay",
                reason="Agency report late",
                proposed_date=later.isoformat(),
                safety_plan="Daily contact",
            )
            await case.handle.signal(DECIDE_SIGNAL, DecisionRequest(decision=delay))
            # In real time, the clock not skipped: well inside the pause (at least a minute).
            # The decision's own emails (to the approver, and to those copied in) go out first.
            await until_delivered(sink, 2 + INVITEES)
            subjects = sink.catcher.subjects()
            assert ["Delay requested" in s for s in subjects[:2]] == [True, True], subjects
            assert all("Invitation" in s for s in subjects[2:]), subjects
            keys = idempotency_keys(sink.catcher.messages)
            duplicates, lost = counts(
                "smtp back, woken by a decision", INVITEES, invitation_keys(sink)
            )
            assert len(keys) == len(set(keys)) == 2 + INVITEES and duplicates == 0 and lost == 0

            state = await case.settle()
            assert state.invitations_sent_sequence == 1
            # Its own turn later sends nothing again: the ledger skips it.
            assert idempotency_keys(sink.catcher.messages) == keys
        finally:
            if sink.controller is None:
                sink.start()
            await case.clean_up()
