"""The Reports section over HTTP, against the app and a simulated year in a record of its own:
a team manager sees only their team's figures (page and downloads), a social worker is
refused, the charts are SVG with a title and a description beside tables of the same numbers,
and bad input gets the command line's one-line reasons.

Every name and reference is invented.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from domain.calendar import LONDON
from domain.people import Person
from domain.reports import Period
from procedures import load_all
from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import make_engine, upgrade
from records.reports_query import census_report, out_of_timescale_report, timeliness_report
from records.store import RecordStore
from simulation.year import simulate
from tests.web.web_helpers import add_person, bearer, post_sign_in, settings_for
from web.app import create_app
from web.report_pages import DOWNLOADS, last_month, months_back
from web.settings import Settings

PROCEDURES = load_all()
BCT = PROCEDURES["bct-management-note"]
PASSWORD = "correct horse battery staple"
NOW = datetime.now(LONDON)
TEAM = "north-1"


async def no_temporal() -> Client:
    raise AssertionError("the reports do not talk to Temporal")


@pytest.fixture(scope="module")
def record_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A year of simulated bct-management-note cases to today (areas north ... west)."""
    folder = tmp_path_factory.mktemp("reports-record")
    url = f"sqlite:///{folder / 'record.sqlite3'}"
    upgrade(url)
    simulation = simulate(240, NOW.year, 5, [BCT], NOW)
    with RecordStore(url) as store:
        store.append_many(simulation.batches)
    return url


@pytest.fixture
def settings(tmp_path: Path, record_url: str) -> Settings:
    settings = settings_for(tmp_path, record_url=record_url)
    add_person(settings, "tm.north", ["team_manager"], PASSWORD, teams=[TEAM])
    add_person(settings, "hos.all", ["area_head_of_service"], PASSWORD)  # service-wide
    add_person(settings, "sw.north", ["social_worker"], PASSWORD, teams=[TEAM])
    add_person(settings, "hos.north", ["area_head_of_service"], PASSWORD, areas=["north"])
    return settings


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, no_temporal)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.10", 50000)),
        base_url="http://testserver",
    ) as client:
        yield client


@pytest.fixture
def store(record_url: str) -> Iterator[RecordStore]:
    with RecordStore(record_url) as opened:
        yield opened


def team_manager() -> Person:
    return Person(id="tm.north", roles=frozenset({"team_manager"}), teams=frozenset({TEAM}))


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_a_team_manager_sees_only_their_teams_figures(
    http: httpx.AsyncClient, store: RecordStore
) -> None:
    await post_sign_in(http, "tm.north", PASSWORD)
    page = await http.get("/reports")
    assert page.status_code == 200, page.text
    assert (
        '<a class="govuk-service-navigation__link" href="/reports" aria-current="page">'
        in (page.text)
        or 'href="/reports"' in page.text
    )

    today = NOW.date()
    period = months_back(last_month(today), 12)
    mine = timeliness_report(store, period, PROCEDURES, visible_to=team_manager())
    everyone = timeliness_report(store, period, PROCEDURES)
    assert 0 < mine.icpc.held < everyone.icpc.held
    summary = re.search(r'data-testid="kpi-summary">([^<]+)<', page.text)
    assert summary and f": {mine.icpc.held} ICPC" in summary.group(1)
    assert f", {mine.icpc.within_15} within 15 working days" in summary.group(1)

    late = out_of_timescale_report(store, last_month(today), PROCEDURES, today)
    others = {r.case_reference for r in [*late.icpc, *late.rcpc] if r.team != TEAM}
    assert others, "the simulated month has other teams' late conferences"
    for reference in others:
        assert f">{reference}<" not in page.text

    for name in ("out-of-timescale-icpc", "out-of-timescale-rcpc", "audit-sample", "census"):
        answer = await http.get(f"/reports/{name}.csv")
        assert answer.status_code == 200, (name, answer.text)
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment;" in answer.headers["content-disposition"]
        for row in rows_of(answer.text):
            reference = row.get("case_reference") or row.get("LAchildID") or ""
            assert reference not in others, (name, reference)
            if "team" in row:
                assert row["team"] == TEAM, (name, row)
    census = rows_of((await http.get("/reports/census.csv")).text)
    year = Period.year_to_march(today.year if today.month <= 3 else today.year + 1)
    assert 0 < len(census) == len(census_report(store, year, visible_to=team_manager()).rows)
    assert len(census) < len(census_report(store, year).rows)
    months = rows_of((await http.get("/reports/kpi-by-month.csv")).text)
    assert sum(int(m["held"]) for m in months) == mine.icpc.held
    assert [m["month"] for m in months] == [m.month for m in mine.icpc_by_month]


async def test_the_service_wide_head_sees_everything_and_the_charts_are_described(
    http: httpx.AsyncClient, store: RecordStore
) -> None:
    await post_sign_in(http, "hos.all", PASSWORD)
    page = await http.get("/reports", params={"month": f"{last_month(NOW.date()).start:%Y-%m}"})
    assert page.status_code == 200
    for chart in ("chart-kpi", "chart-capacity"):
        svg = re.search(rf'<svg [^>]*id="{chart}"[^>]*>(.*?)</svg>', page.text, re.S)
        assert svg, chart
        assert 'role="img"' in svg.group(0)
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in svg.group(0)
        assert f'<title id="{chart}-title">' in svg.group(1)
        assert f'<desc id="{chart}-desc">' in svg.group(1)
    assert "England 2024-25" in page.text and "81.4%" in page.text
    assert 'data-testid="kpi-table"' in page.text and 'data-testid="capacity-table"' in page.text


async def test_a_social_worker_has_no_reports(http: httpx.AsyncClient) -> None:
    await post_sign_in(http, "sw.north", PASSWORD)
    waiting = await http.get("/waiting")
    assert 'href="/reports"' not in waiting.text
    assert (await http.get("/reports")).status_code == 403
    assert (await http.get("/reports/census.csv")).status_code == 403


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"month": "2099-01"}, "January 2099 is in the future (today is"),
        (
            {"from": "2026-10-10", "to": "2026-10-01"},
            "the period is inverted: it ends (2026-10-01)",
        ),
        ({"from": "", "to": "2026-10-01"}, "from is empty: give a date (YYYY-MM-DD)"),
        ({"month": "October"}, "'October' is not a month (YYYY-MM, for example 2026-05)"),
        ({"month": "2026-10", "quarter": "2026-Q3"}, "give one period, not --month and --quarter"),
        ({"procedure": "nope"}, "unknown procedure 'nope' (installed: "),
        ({"month": "0001-01"}, "'0001-01' is out of range: a report counts 2001 to 2099"),
        (
            {"from": "2026-01-01", "to": "9999-12-31"},
            "2026-01-01 to 9999-12-31 is outside the years a report can count",
        ),
        ({"quarter": "0001-Q1"}, "'0001-Q1' is out of range: a report counts 2001 to 2099"),
    ],
)
async def test_bad_input_gets_the_command_lines_reason(
    http: httpx.AsyncClient, params: dict[str, str], reason: str
) -> None:
    await post_sign_in(http, "hos.all", PASSWORD)
    page = await http.get("/reports", params=params)
    assert page.status_code == 400
    assert reason in page.text.replace("&#39;", "'")
    assert "There is a problem" in page.text
    download = await http.get("/reports/timeliness.csv", params=params)
    assert download.status_code == 400
    assert reason in download.text.replace("&#39;", "'")  # the same plain page


async def test_a_missing_static_file_is_the_plain_not_found_page(http: httpx.AsyncClient) -> None:
    for signed_in in (False, True):
        if signed_in:
            await post_sign_in(http, "hos.all", PASSWORD)
        missing = await http.get("/static/nope.css")
        assert missing.status_code == 404
        assert "Page not found" in missing.text and "There is no such file" in missing.text


FORMULA = '=HYPERLINK("http://x","y")'


async def test_a_reason_typed_as_a_formula_is_downloaded_as_text(tmp_path: Path) -> None:
    """CSV injection: a reason a spreadsheet would run comes out quoted, in every download
    that carries reasons (the monthly attachments are the same CSV: test_schedule)."""
    url = f"sqlite:///{tmp_path / 'formula.sqlite3'}"
    upgrade(url)
    simulation = simulate(120, NOW.year, 5, [BCT], NOW, prefix="CSV")
    for batch in simulation.batches:
        for event in batch.events:
            if event.reason:
                event.reason = FORMULA
    with RecordStore(url) as store:
        store.append_many(simulation.batches)
    settings = settings_for(tmp_path, record_url=url)
    add_person(settings, "hos.all", ["area_head_of_service"], PASSWORD)
    app = create_app(settings, no_temporal)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await post_sign_in(http, "hos.all", PASSWORD)
        reasons: dict[str, set[str]] = {}
        month = last_month(NOW.date())
        for _ in range(6):
            for name in ("out-of-timescale-icpc", "audit-sample"):
                answer = await http.get(
                    f"/reports/{name}.csv", params={"month": f"{month.start:%Y-%m}"}
                )
                assert answer.status_code == 200, answer.text
                found = {row["reason"] for row in rows_of(answer.text)}
                reasons.setdefault(name, set()).update(found - {""})
            month = last_month(month.start)
    assert reasons["out-of-timescale-icpc"] == {"'" + FORMULA}, reasons
    assert reasons["audit-sample"] == {"'" + FORMULA}, reasons


def report_reads(settings: Settings) -> list[AuditEntry]:
    """The trail's ``read_report`` rows, oldest first."""
    engine = make_engine(settings.people_url)
    try:
        rows = AuditLog(engine).read(limit=1000)
    finally:
        engine.dispose()
    return [e for e in reversed(rows) if e.action is Action.READ_REPORT]


async def test_the_page_and_every_download_are_audited(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    await post_sign_in(http, "tm.north", PASSWORD)
    assert (await http.get("/reports", params={"month": "2026-10"})).status_code == 200
    for name in DOWNLOADS:
        assert (await http.get(f"/reports/{name}.csv")).status_code == 200, name
    reads = report_reads(settings)
    assert [r.detail for r in reads] == [
        "reports page month=2026-10",
        *(f"{name}.csv" for name in DOWNLOADS),
    ]
    assert {(r.actor, r.actor_role, r.channel, r.outcome) for r in reads} == {
        ("tm.north", "team_manager", Channel.WEB, Outcome.OK)
    }
    assert reads[0].address == "192.0.2.10"


async def test_a_refused_reader_is_audited_as_refused(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    await post_sign_in(http, "sw.north", PASSWORD)
    assert (await http.get("/reports/census.csv")).status_code == 403
    [refused] = report_reads(settings)
    assert (refused.actor, refused.outcome) == ("sw.north", Outcome.REFUSED)
    assert refused.detail == "/reports/census.csv: no role that reads reports"


async def test_a_month_no_report_counts_is_refused_in_words_and_audited(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    await post_sign_in(http, "hos.all", PASSWORD)
    page = await http.get("/reports", params={"month": "0001-01"})
    assert page.status_code == 400
    assert "is out of range: a report counts 2001 to 2099" in page.text
    [refused] = report_reads(settings)
    assert (refused.actor, refused.outcome) == ("hos.all", Outcome.REFUSED)
    assert refused.detail.startswith("reports page month=0001-01: '0001-01' is out of range")


REPORTS_ASKED = [
    ("timeliness", {"year": str(NOW.year + 1 if NOW.month > 3 else NOW.year)}),
    ("out-of-timescale", {}),
    ("capacity", {"weeks": "6"}),
    ("audit-sample", {"size": "500"}),
    ("census", {"year": str(NOW.year + 1 if NOW.month > 3 else NOW.year)}),
]


async def test_the_api_gives_an_area_head_only_their_areas_cases_and_audits_each_read(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    north = bearer(settings, "hos.north")
    for name, params in REPORTS_ASKED:
        answer = await http.get(f"/api/v1/reports/{name}", params=params, headers=north)
        assert answer.status_code == 200, (name, answer.text)
        one_list = {"list": "icpc"} if name == "out-of-timescale" else {}
        csv_answer = await http.get(
            f"/api/v1/reports/{name}",
            params={**params, "format": "csv", **one_list},
            headers=north,
        )
        assert csv_answer.status_code == 200, (name, csv_answer.text)
        assert csv_answer.headers["content-type"].startswith("text/csv")
        for row in rows_of(csv_answer.text):
            assert row.get("area", "north") == "north", (name, row)
    timeliness = (
        await http.get("/api/v1/reports/timeliness", params=REPORTS_ASKED[0][1], headers=north)
    ).json()
    assert timeliness["icpc"]["held"] > 0 and set(timeliness["icpc_by"]["area"]) == {"north"}
    late = (await http.get("/api/v1/reports/out-of-timescale", headers=north)).json()
    assert late["icpc"] and {r["area"] for r in [*late["icpc"], *late["rcpc"]]} == {"north"}
    sample = (
        await http.get("/api/v1/reports/audit-sample", params={"size": 500}, headers=north)
    ).json()
    assert set(sample["by_area"]) == {"north"}
    # Asking for another area gives nothing of it: the area narrows what they may see.
    south = await http.get(
        "/api/v1/reports/timeliness",
        params={**REPORTS_ASKED[0][1], "area": "south"},
        headers=north,
    )
    assert south.json()["icpc"]["held"] == 0 and not south.json()["icpc_by"]["area"]
    reads = [r for r in report_reads(settings) if r.channel is Channel.API]
    assert [r.detail.split(" ")[0] for r in reads[: 2 * len(REPORTS_ASKED)]] == [
        name for name, _ in REPORTS_ASKED for _ in (1, 2)
    ]
    assert reads[-1].detail == (
        f"timeliness area=south format=json year={REPORTS_ASKED[0][1]['year']}"
    )
    assert {(r.actor, r.actor_role, r.outcome) for r in reads} == {
        ("hos.north", "area_head_of_service", Outcome.OK)
    }


@pytest.mark.parametrize(
    ("month", "reason"),
    [
        ("0001-01", "'0001-01' is out of range"),
        ("2026-13", "'2026-13' is not a month"),
        ("2099-01", "January 2099 is in the future"),
    ],
)
async def test_the_api_refuses_a_month_it_cannot_count_as_a_plain_problem(
    http: httpx.AsyncClient, settings: Settings, month: str, reason: str
) -> None:
    answer = await http.get(
        "/api/v1/reports/timeliness",
        params={"month": month},
        headers=bearer(settings, "hos.all"),
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["title"] == "The report cannot be made" and reason in problem["detail"]
    [read] = report_reads(settings)
    assert (read.outcome, read.channel) == (Outcome.REFUSED, Channel.API)


async def test_the_api_refuses_someone_who_reads_no_reports(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    answer = await http.get(
        "/api/v1/reports/census",
        params={"year": "2026"},
        headers=bearer(settings, "sw.north"),
    )
    assert answer.status_code == 403 and answer.json()["title"] == "You cannot read the reports"
    [read] = report_reads(settings)
    assert (read.actor, read.outcome, read.channel) == ("sw.north", Outcome.REFUSED, Channel.API)
