"""The monthly out-of-timescale emails (001 steps 16 and 20), on the Temporal dev server with a
real SMTP server on loopback: the schedule is created once however often workers start, and
left as an operator set it; the workflow emails each area's managers both lists, the table in
the body and the CSV attached, rows as the report's; run again, nothing is sent twice; on a
day that is not the first working day of the month, nothing at all.

The record is a simulated year (``starters.simulate_command``) in a database of this test's
own; every person is invented.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time
from email.message import Message
from pathlib import Path

import pytest
from temporalio.client import Client, ScheduleCalendarSpec
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.monthly_reports import (
    MonthlyReportsInput,
    MonthlyReportsResult,
    first_working_day,
    list_roles,
)
from activities.record import reset_record_store
from domain.calendar import LONDON, london_instant
from domain.reports import Period
from procedures import load_all
from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import make_engine, upgrade
from records.people import PeopleStore
from records.reports_query import out_of_timescale_report
from records.store import RecordStore
from simulation.year import simulate
from tests.case_helpers import icpc, person_token, unique
from tests.conftest import MailCatcher
from tests.service_helpers import RunningService
from workers.main import build_worker
from workers.schedules import MONTHLY_REPORTS_SCHEDULE, ensure_schedules
from workflows.monthly_reports import MONTHLY_REPORTS_WORKFLOW

PROCEDURES = load_all()
BCT = PROCEDURES["bct-management-note"]
AS_OF = london_instant(date(2026, 11, 25), time(18))
OCTOBER = Period.month("2026-10")

# (id, roles, areas, service-wide, email): bct-management-note's delay roles are the area
# head of service (approves) and the head of service safeguarding (copied in).
PEOPLE = [
    ("hos.north", ["area_head_of_service"], ["north"], False, "hos.north@example.invalid"),
    ("hos.south", ["area_head_of_service"], ["south"], False, "hos.south@example.invalid"),
    ("hoss.all", ["head_of_service_safeguarding"], [], True, "hoss@example.invalid"),
    ("tm.north", ["team_manager"], ["north"], False, "tm.north@example.invalid"),  # not a role
    ("hos.quiet", ["area_head_of_service"], ["north"], False, None),  # no email: none sent
]


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordStore]:
    """A record of this test's own, holding a simulated year and :data:`PEOPLE`; the worker's
    record activities and the monthly activity read it."""
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    upgrade(url)
    simulation = simulate(160, 2026, 11, [BCT], AS_OF)
    engine = make_engine(url)
    people = PeopleStore(engine)
    for person_id, roles, areas, service_wide, email in PEOPLE:
        people.add(person_id, roles=roles, areas=areas, service_wide=service_wide, email=email)
    engine.dispose()
    monkeypatch.setenv("ICPC_DATABASE_URL", url)
    reset_record_store()
    with RecordStore(url) as store:
        store.append_many(simulation.batches)
        yield store
    reset_record_store()  # the session's record again, after monkeypatch restores its URL


@pytest.fixture
async def client(dev_env: WorkflowEnvironment) -> AsyncIterator[Client]:
    """The dev server without the schedule (a worker another test started may have made it)."""
    handle = dev_env.client.get_schedule_handle(MONTHLY_REPORTS_SCHEDULE)
    with contextlib.suppress(RPCError):  # none yet
        await handle.delete()
    yield dev_env.client
    with contextlib.suppress(RPCError):
        await handle.delete()


async def schedule_ids(client: Client) -> list[str]:
    return [s.id async for s in await client.list_schedules()]


async def test_the_schedule_is_created_once_and_left_as_the_operator_set_it(
    client: Client,
) -> None:
    queue = unique("monthly")
    assert await ensure_schedules(client, queue) == [MONTHLY_REPORTS_SCHEDULE]
    assert await ensure_schedules(client, queue) == []  # a second worker starting
    assert await ensure_schedules(client, unique("other")) == []
    for _ in range(100):  # the list is eventually consistent
        found = await schedule_ids(client)
        if MONTHLY_REPORTS_SCHEDULE in found:
            break
        await asyncio.sleep(0.1)
    assert found.count(MONTHLY_REPORTS_SCHEDULE) == 1

    handle = client.get_schedule_handle(MONTHLY_REPORTS_SCHEDULE)
    described = await handle.describe()
    spec = described.schedule.spec
    assert spec.time_zone_name == "Europe/London"
    [calendar] = spec.calendars
    assert isinstance(calendar, ScheduleCalendarSpec)
    assert [(r.start, r.end) for r in calendar.day_of_month] == [(1, 7)]
    assert [r.start for r in calendar.hour] == [7]
    assert described.schedule.action.workflow == MONTHLY_REPORTS_WORKFLOW  # type: ignore[attr-defined]
    assert described.schedule.action.task_queue == queue  # type: ignore[attr-defined]
    assert not described.schedule.state.paused
    # No personal data anywhere: the product's names only.
    assert await described.memo() == {
        "purpose": "monthly out-of-timescale lists (001 steps 16 and 20)"
    }

    # Paused in the Web UI, it stays paused however often workers start.
    await handle.pause(note="paused by the test")
    assert await ensure_schedules(client, queue) == []
    assert (await handle.describe()).schedule.state.paused


def attachment(message: Message) -> tuple[str, str]:
    [part] = [p for p in message.walk() if p.get_filename()]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(part.get_filename()), payload.decode("utf-8")


def body(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")


async def test_each_area_manager_gets_both_lists_once_with_the_csv(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher, record: RecordStore
) -> None:
    expected = out_of_timescale_report(record, OCTOBER, PROCEDURES, AS_OF.date())
    assert expected.areas and expected.icpc and expected.rcpc  # the year has some of each
    async with build_worker(dev_env.client, task_queue=unique("monthly")) as worker:

        async def run(request: MonthlyReportsInput) -> MonthlyReportsResult:
            result: MonthlyReportsResult = await dev_env.client.execute_workflow(
                MONTHLY_REPORTS_WORKFLOW,
                request,
                id=unique("monthly-run"),
                task_queue=worker.task_queue,
                result_type=MonthlyReportsResult,
            )
            return result

        first = await run(MonthlyReportsInput(month="2026-10", today=AS_OF.date()))

        # Per area: its head of service and the service-wide head of service safeguarding.
        wanted = {
            area: ["hoss@example.invalid"]
            + ([f"hos.{area}@example.invalid"] if area in ("north", "south") else [])
            for area in expected.areas
        }
        assert first.month == "2026-10"
        assert first.sent == 2 * sum(len(v) for v in wanted.values()) == len(smtp_server.messages)
        assert first.skipped == 0
        for area, addresses in wanted.items():
            mine = expected.for_area(area)
            for address in addresses:
                got = [m for m in smtp_server.to(address) if f": {area} (" in str(m["Subject"])]
                assert len(got) == 2, (area, address)
                by_list = {attachment(m)[0].split("-")[3]: m for m in got}
                assert set(by_list) == {"icpc", "rcpc"}
                for which, message in by_list.items():
                    name, csv = attachment(message)
                    assert name == f"out-of-timescale-{which}-2026-10-{area}.csv"
                    assert csv == (mine.icpc_csv() if which == "icpc" else mine.rcpc_csv())
                    rows = mine.icpc if which == "icpc" else mine.rcpc
                    assert f"({len(rows)})" in str(message["Subject"])
                    text = body(message)
                    for row in rows:  # the table in the body
                        assert row.case_reference in text
        for quiet in ("tm.north@example.invalid",):
            assert smtp_server.to(quiet) == []

        # Run again (the same month by hand, and the schedule on the first working day of
        # November): nothing is sent twice.
        smtp_server.clear()
        again = await run(MonthlyReportsInput(month="2026-10", today=AS_OF.date()))
        assert (again.sent, again.skipped) == (0, first.sent)
        assert date(2026, 11, 2).weekday() == 0 and first_working_day(BCT, date(2026, 11, 2))
        scheduled = await run(MonthlyReportsInput(today=date(2026, 11, 2)))
        assert scheduled.month == "2026-10" and scheduled.sent == 0
        assert scheduled.skipped == first.sent
        # Any other day of the schedule's seven: nothing at all.
        quiet_day = await run(MonthlyReportsInput(today=date(2026, 11, 3)))
        assert quiet_day == MonthlyReportsResult()
        assert smtp_server.messages == []


def test_recipients_are_the_roles_the_procedure_names_for_delays() -> None:
    assert list_roles(PROCEDURES["man13-qarss"]) == {"area_manager", "ops_manager_cp"}
    assert list_roles(BCT) == {"area_head_of_service", "head_of_service_safeguarding"}
    assert list_roles(PROCEDURES["leicestershire-leaflet"]) == {"service_manager"}
    # Bank holidays: 1 January 2027 is a Friday and a bank holiday; the 4th is the first.
    assert not first_working_day(BCT, date(2027, 1, 1))
    assert first_working_day(BCT, date(2027, 1, 4))
    assert not first_working_day(BCT, date(2027, 1, 5))


def test_the_idempotency_key_holds_no_sign_in_id() -> None:
    from activities.monthly_reports import idempotency_key

    key = idempotency_key("2026-10", "icpc", "north", "hos.north")
    assert "hos.north" not in key
    assert hashlib.sha256(b"hos.north").hexdigest()[:16] in key


async def test_icpc_report_send_monthly_runs_the_same_workflow_and_sends_nothing_twice(
    record: RecordStore,
    service: RunningService,
    smtp_server: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Asked of the service, by a manager who reads the reports, with their token only."""
    expected = out_of_timescale_report(record, OCTOBER, PROCEDURES, AS_OF.date())
    monkeypatch.setenv("ICPC_PERSON_TOKEN", person_token("hos.north"))
    command = ["report", "send-monthly", "--month", "2026-10"]
    code, first, err = await icpc(capsys, *command)
    assert code == 0, err
    sent = len(smtp_server.messages)
    assert sent > 0 and first.startswith(f"2026-10: {sent} emails sent")
    assert f"to the managers of {len(expected.areas)} areas" in first
    smtp_server.clear()
    code, again, _ = await icpc(capsys, *command)
    assert again.startswith("2026-10: 0 emails sent") and f"{sent} already sent" in again
    assert smtp_server.messages == []
    [second, first_row] = sends(record)[:2]
    assert (first_row.actor, first_row.outcome, first_row.channel) == (
        "hos.north",
        Outcome.OK,
        Channel.API,
    )
    assert first_row.detail.startswith(
        f"out-of-timescale lists, month 2026-10: sent {sent}, already sent 0,"
        f" areas {len(expected.areas)}, no recipient "
    )
    assert second.detail.startswith(
        f"out-of-timescale lists, month 2026-10: sent 0, already sent {sent}"
    )


def sends(record: RecordStore) -> list[AuditEntry]:
    """The trail's ``send_report`` rows, newest first."""
    return [e for e in AuditLog(record.engine).read() if e.action is Action.SEND_REPORT]


async def test_a_month_not_yet_over_is_sent_only_by_an_administrator_who_forces_it(
    record: RecordStore,
    service: RunningService,
    smtp_server: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    this_month = f"{datetime.now(LONDON):%Y-%m}"
    manager, admin = person_token("hos.north"), person_token("ada.admin", "admin")
    asked = ["report", "send-monthly", "--month", this_month]
    for token, argv in ((manager, asked), (manager, [*asked, "--force"]), (admin, asked)):
        monkeypatch.setenv("ICPC_PERSON_TOKEN", token)
        code, out, err = await icpc(capsys, *argv)
        assert (code, out) == (2, ""), err
        assert err.startswith("icpc report: refused: ") and err.count("\n") == 1
    assert "is not over yet" in err or "with force" in err
    monkeypatch.setenv("ICPC_PERSON_TOKEN", admin)
    code, out, err = await icpc(capsys, *asked, "--force")
    assert code == 0, err
    assert out.startswith(f"{this_month}: ")
    rows = sends(record)
    assert [(r.actor, r.outcome, r.actor_role) for r in rows] == [
        ("ada.admin", Outcome.OK, "admin"),
        ("ada.admin", Outcome.REFUSED, "admin"),
        ("hos.north", Outcome.REFUSED, "area_head_of_service"),
        ("hos.north", Outcome.REFUSED, "area_head_of_service"),
    ]
    assert rows[0].detail.startswith(f"out-of-timescale lists, month {this_month} force: sent")
    assert "is not over yet" in rows[2].detail and "is not over yet" in rows[3].detail
    assert {r.channel for r in rows} == {Channel.API}


def test_a_reason_typed_as_a_formula_is_attached_as_text(tmp_path: Path) -> None:
    """CSV injection: the attachment is the report's CSV, each reason a spreadsheet would run
    quoted (domain.reports.tables.csv_cell)."""
    from activities.monthly_reports import area_lists, build_email
    from domain.people import Person

    formula = '=HYPERLINK("http://x","y")'
    simulation = simulate(160, 2026, 11, [BCT], AS_OF)
    for batch in simulation.batches:
        for event in batch.events:
            if event.reason:
                event.reason = formula
    url = f"sqlite:///{tmp_path / 'formula.sqlite3'}"
    upgrade(url)
    with RecordStore(url) as store:
        store.append_many(simulation.batches)
        report = out_of_timescale_report(store, OCTOBER, PROCEDURES, AS_OF.date())
    person = Person(id="hos.north", email="hos.north@example.invalid")
    attached = [
        build_email(item, person, AS_OF.date(), "icpc@example.invalid")[1].decode("utf-8")
        for item in area_lists(report)
    ]
    reasons = {
        row["reason"]
        for text in attached
        for row in csv.DictReader(io.StringIO(text))
        if row["reason"]
    }
    assert reasons == {"'" + formula}
