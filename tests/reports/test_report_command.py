"""``icpc report`` and ``icpc simulate``: what they print, and their one-line refusals (exit 2).

``icpc report`` is a client of the service (the ``service`` fixture) reading a case record of
its own, filled by ``icpc simulate`` itself; the service's "today" is held at 25 November 2026
so the figures do not move with the calendar.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from activities.record import reset_record_store
from domain.reports import Period, timeliness
from procedures import load_all
from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import make_engine, upgrade
from records.store import CaseFilter, RecordStore
from starters.cli import main
from tests import case_helpers
from tests.case_helpers import person_token
from tests.records.data import batch
from tests.service_helpers import RunningService
from web import report_pages

TODAY = date(2026, 11, 25)
Run = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture(scope="module")
def record_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('report-cli')) / 'records.sqlite3'}"
    upgrade(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ICPC_DATABASE_URL", url)
        assert (
            main(
                [
                    "simulate",
                    "--cases",
                    "300",
                    "--year",
                    "2026",
                    "--seed",
                    "5",
                    "--as-of",
                    "2026-11-25",
                ]
            )
            == 0
        )
    return url


@pytest.fixture
def simulated_record(record_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The service (started after this) reads the simulated record, as on 25 November 2026."""
    monkeypatch.setenv("ICPC_DATABASE_URL", record_url)
    monkeypatch.setattr(report_pages, "today", lambda: TODAY)
    yield record_url
    reset_record_store()  # the worker's store, should anything have opened it here


@pytest.fixture
async def icpc(
    simulated_record: str,
    service: RunningService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> AsyncIterator[Run]:
    """``icpc`` as a manager who sees every area (service-wide), by token."""
    token = person_token("reports-all", "area_head_of_service", service_wide=True)
    monkeypatch.setenv("ICPC_PERSON_TOKEN", token)

    async def run(*argv: str) -> tuple[int, str, str]:
        return await case_helpers.icpc(capsys, *argv)

    yield run


async def test_simulate_wrote_a_year_that_icpc_cases_can_list(icpc: Run, record_url: str) -> None:
    with RecordStore(record_url) as store:
        assert store.count() == 300
        found = store.find("SIM-2026-00001")
        assert [s.case_reference for s in found] == ["SIM-2026-00001"]


async def test_timeliness_as_text_json_and_csv(icpc: Run, record_url: str) -> None:
    code, out, err = await icpc("report", "timeliness", "--month", "2026-06")
    assert (code, err) == (0, "")
    assert out.startswith("Timeliness, June 2026: 2026-06-01 to 2026-06-30\n")
    assert "England 2024-25: 81.4%" in out and "Cases not placed: none." in out
    code, out, _ = await icpc("report", "timeliness", "--month", "2026-06", "--json")
    figures = json.loads(out)
    with RecordStore(record_url) as store:
        from records.reports_query import load_histories

        expected = timeliness(
            load_histories(store, date(2026, 6, 1), date(2026, 6, 30)),
            Period.month("2026-06"),
            load_all(),
        )
    assert figures["icpc"] == expected.icpc.model_dump(mode="json")
    assert figures["period"] == {"start": "2026-06-01", "end": "2026-06-30", "label": "June 2026"}
    code, out, _ = await icpc("report", "timeliness", "--quarter", "2026-Q2", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["scope"] == "all" and int(rows[0]["icpc_held"]) > 0
    code, out, _ = await icpc("report", "timeliness", "--year", "2026", "--area", "north", "--json")
    assert set(json.loads(out)["icpc_by"]["area"]) <= {"north"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["timeliness", "--month", "2026-06", "--procedure", "nope"], "unknown procedure 'nope'"),
        (["timeliness", "--from", "2026-05-01", "--to", "2026-04-01"], "the period is inverted"),
        (["timeliness", "--from", "", "--to", "2026-04-01"], "--from is empty"),
        (["timeliness", "--from", "2026-05-01"], "give both --from and --to"),
        (["timeliness"], "give a period: --month, --quarter, --year, or --from and --to"),
        (["timeliness", "--month", "2026-12"], "December 2026 is in the future"),
        (["timeliness", "--month", "2026-6"], "'2026-6' is not a month"),
        (["timeliness", "--month", "2026-06", "--year", "2026"], "give one period"),
        (["out-of-timescale", "--month", "2027-01"], "January 2027 is in the future"),
        (["out-of-timescale", "--csv"], "--csv writes one list"),
        (["capacity", "--weeks", "0"], "--weeks must be 1 to 26"),
        (["audit-sample", "--size", "0"], "--size must be at least 1"),
        (["census", "--year", "2028"], "is in the future"),
    ],
)
async def test_bad_input_is_refused_in_one_line(icpc: Run, argv: list[str], message: str) -> None:
    code, out, err = await icpc("report", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("icpc report: ") and message in err


async def test_the_out_of_timescale_lists_default_to_last_month(icpc: Run) -> None:
    code, out, _ = await icpc("report", "out-of-timescale")
    assert code == 0 and out.startswith("Out of timescale, October 2026 (as at 2026-10-31)")
    assert "ICPCs: " in out and "Review conferences (RCPC): " in out
    code, out, _ = await icpc("report", "out-of-timescale", "--list", "icpc", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["status"] for r in rows} <= {"held late", "not held"}
    late = [r for r in rows if r["status"] == "held late"]
    assert late and all(r["approval"] == "approved" and r["approver"] for r in late)


async def test_capacity_audit_sample_and_census(icpc: Run) -> None:
    code, out, _ = await icpc("report", "capacity", "--json")
    forecast = json.loads(out)
    assert [w["week_start"] for w in forecast["total"]] == [
        "2026-11-23",
        "2026-11-30",
        "2026-12-07",
        "2026-12-14",
    ]
    code, first, _ = await icpc(
        "report", "audit-sample", "--month", "2026-10", "--size", "2", "--json"
    )
    code, again, _ = await icpc(
        "report", "audit-sample", "--month", "2026-10", "--size", "2", "--json"
    )
    assert first == again
    sample = json.loads(first)
    assert sample["window"]["start"] == "2026-09-01" and sample["window"]["end"] == "2026-10-31"
    code, out, _ = await icpc("report", "census", "--year", "2027", "--xml")
    root = ET.fromstring(out)
    assert root.attrib["ReferenceDate"] == "2027-03-31" and root.findall("Case")
    code, out, _ = await icpc("report", "census", "--year", "2027", "--csv")
    assert code == 0
    assert out.splitlines()[0].startswith("case_reference,S47ActualStartDate,InitialCPCtarget")


async def test_an_audit_review_is_recorded_once_as_the_person_whose_token_it_is(
    icpc: Run, record_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICPC_DATABASE_URL", record_url)
    token = person_token("hos-north", "area_head_of_service", areas=["north"])
    path = tmp_path / "hos.token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    with RecordStore(record_url) as store:
        # A closed case of the north: its strategy-to-ICPC decision was taken in 2026.
        case = store.list_cases(CaseFilter(is_open=False, area="north")).rows[0]
    argv = [
        "report",
        "audit-review",
        case.case_reference,
        "--finding",
        "Threshold met: right call.",
        "--date",
        "2026-11-20",
        "--token-file",
        str(path),
    ]
    code, out, err = await icpc(*argv)
    assert code == 0, err
    assert out.startswith(f"Recorded: the review of {case.case_id} by hos-north")
    code, out, _ = await icpc(*argv)
    assert out.startswith("Already recorded")
    with RecordStore(record_url) as store:
        reviews = [e for s, e in store.timeline(case.case_id) if s.value == "review"]
    assert [(e.event, e.by.user if e.by else None, e.reason) for e in reviews] == [
        ("audit_review", "hos-north", "Threshold met: right call.")
    ]
    code, out, _ = await icpc(
        "report",
        "audit-sample",
        "--from",
        "2026-01-01",
        "--to",
        "2026-11-25",
        "--size",
        "500",
        "--area",
        "north",
        "--json",
    )
    drawn = {d["case_id"]: d for d in json.loads(out)["by_area"]["north"]}
    assert [r["finding"] for r in drawn[case.case_id]["reviews"]] == ["Threshold met: right call."]
    # Someone who may not see the case, or gives no token, is refused in one line.
    other = person_token("hos-south", "area_head_of_service", areas=["south"])
    path.write_text(other + "\n")
    code, _, err = await icpc(*argv)
    assert code == 2 and err.count("\n") == 1
    monkeypatch.delenv("ICPC_PERSON_TOKEN")
    code, _, err = await icpc(*argv[:-2])
    assert code == 2 and "no person token" in err


async def test_simulate_refuses_a_year_ahead_and_an_unknown_procedure(icpc: Run) -> None:
    code, _, err = await icpc("simulate", "--year", "2030", "--as-of", "2026-11-25")
    assert code == 2 and "--year 2030 is in the future" in err
    code, _, err = await icpc("simulate", "--year", "2026", "--procedure", "nope")
    assert code == 2 and "unknown procedure 'nope'" in err


CLEAN_CLI = """
import sys
from starters.cli import main
code = main(sys.argv[1:])
server_side = {m.split(".")[0] for m in sys.modules} & {
    "records", "workers", "sqlalchemy", "temporalio", "workflows", "activities"
}
print("server-side modules:", sorted(server_side), file=sys.stderr)
sys.exit(code)
"""


async def test_a_report_needs_only_the_service_url_and_a_token(
    icpc: Run, service: RunningService
) -> None:
    """On a person's machine: no database address, no Temporal, no payload key, and none of
    the service's own modules loaded."""
    token = person_token("reports-all", "area_head_of_service", service_wide=True)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "HOME": os.environ.get("HOME", "/nonexistent"),
        "ICPC_SERVICE_URL": service.url,
        "ICPC_PERSON_TOKEN": token,
    }
    argv = [sys.executable, "-c", CLEAN_CLI, "report", "timeliness", "--month", "2026-06"]
    done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Timeliness, June 2026: 2026-06-01 to 2026-06-30\n")
    assert "server-side modules: []" in done.stderr


async def test_a_csv_written_to_a_file_is_its_owners_only(icpc: Run, tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("old\n")
    path.chmod(0o644)
    argv = ["report", "out-of-timescale", "--list", "icpc", "--csv", "--output", str(path)]
    code, out, err = await icpc(*argv)
    assert (code, out) == (0, ""), err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("case_reference,")


def simulate_rows(url: str) -> list[AuditEntry]:
    engine = make_engine(url)
    try:
        return [e for e in AuditLog(engine).read() if e.action is Action.SIMULATE]
    finally:
        engine.dispose()


def test_simulate_refuses_a_record_holding_a_real_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    upgrade(url)
    with RecordStore(url) as store:
        store.append(batch("icpc-bct-management-note-REAL-1-20261102", case_reference="REAL-1"))
    monkeypatch.setenv("ICPC_DATABASE_URL", url)
    code = main(["simulate", "--cases", "5", "--year", "2026", "--as-of", "2026-11-25"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    assert "the case record holds 1 cases no simulation wrote" in err
    with RecordStore(url) as store:
        assert store.count() == 1  # nothing invented was written beside it
    [refused] = simulate_rows(url)
    assert (refused.outcome, refused.channel, refused.actor) == (Outcome.REFUSED, Channel.CLI, None)
    assert refused.detail.startswith("icpc simulate: cases 5, year 2026, seed 1")


def test_simulate_into_a_record_of_its_own_is_audited(record_url: str) -> None:
    [done] = simulate_rows(record_url)
    assert (done.outcome, done.channel) == (Outcome.OK, Channel.CLI)
    assert done.detail.startswith("icpc simulate: cases 300, year 2026, seed 5")
    assert "events written " in done.detail
