"""Every list and search of cases is a row of the audit trail (issue 21): who read which list,
with which filters, and how many cases it held; never what the rows say. The web pages
(``/cases``, ``/waiting``) and the API (``GET /api/v1/cases``) alike. Every account is
invented."""

from __future__ import annotations

from pathlib import Path

from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import make_engine, upgrade
from records.people import PeopleStore
from tests.web.web_helpers import PASSWORD, add_person, http_for, no_temporal, settings_for, sign_in
from web.app import create_app
from web.settings import Settings


def list_rows(settings: Settings, actor: str) -> list[AuditEntry]:
    engine = make_engine(settings.people_url)
    try:
        rows = AuditLog(engine).read(actor=actor)
        return [r for r in reversed(rows) if r.action == Action.LIST_CASES]
    finally:
        engine.dispose()


def settings_with_record(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    upgrade(url)
    return settings_for(tmp_path, record_url=url)


async def test_each_list_and_search_writes_one_row_naming_its_filters(tmp_path: Path) -> None:
    settings = settings_with_record(tmp_path)
    add_person(settings, "list.tm", "team_manager", PASSWORD, teams=["T1"])
    async with http_for(create_app(settings, no_temporal)) as http:
        await sign_in(http, "list.tm", PASSWORD)
        waiting = await http.get("/waiting")
        search = await http.get("/cases", params={"reference": "ABC-1", "status": "all"})
    assert waiting.status_code == 200 and search.status_code == 200, search.text
    rows = list_rows(settings, "list.tm")
    assert [(r.outcome, r.channel, r.case_id) for r in rows] == [
        (Outcome.OK, Channel.WEB, None),
        (Outcome.OK, Channel.WEB, None),
    ]
    assert rows[0].detail == "waiting: no filters; page 1, 0 case(s)"
    assert rows[1].detail == "cases: reference=ABC-1 status=all; page 1, 0 case(s)"


async def test_the_api_list_writes_one_row_on_its_own_channel(tmp_path: Path) -> None:
    settings = settings_with_record(tmp_path)
    add_person(settings, "list.api", "team_manager", PASSWORD, teams=["T1"])
    engine = make_engine(settings.people_url)
    try:
        token = PeopleStore(engine).issue_token("list.api", label="test")
    finally:
        engine.dispose()
    async with http_for(create_app(settings, no_temporal)) as http:
        answer = await http.get(
            "/api/v1/cases",
            params={"month": "2026-11", "status": "closed"},
            headers={"Authorization": f"Bearer {token}"},
        )
        wrong = await http.get(
            "/api/v1/cases",
            params={"procedure": "no-such-procedure"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"rows": [], "total": 0, "page": 1, "pages": 1, "page_size": 50}
    assert wrong.status_code == 422 and "no-such-procedure" in wrong.json()["detail"]
    [row] = list_rows(settings, "list.api")
    assert (row.channel, row.detail) == (
        Channel.API,
        "cases: month=2026-11 status=closed; page 1, 0 case(s)",
    )
