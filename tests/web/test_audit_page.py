"""``/admin/audit``: the audit trail for an administrator, by case reference or person (issue 12)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.client import Client

from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import make_engine
from records.store import RecordStore
from tests.case_helpers import unique
from tests.records.data import batch
from tests.web.conftest import PASSWORD
from tests.web.web_helpers import add_person, sign_in
from web.app import create_app
from web.settings import Settings

T = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)


@pytest.fixture
def reference(case_record: str) -> str:
    """A case reference with two cases in the case record (two strategy discussions)."""
    ref = unique("AUDIT")
    store = RecordStore(case_record)
    try:
        store.append(batch(f"icpc-{ref}-1", case_reference=ref))
        store.append(batch(f"icpc-{ref}-2", case_reference=ref))
    finally:
        store.close()
    return ref


@pytest.fixture
async def http(web_settings: Settings, reference: str) -> AsyncIterator[httpx.AsyncClient]:
    add_person(web_settings, "ada.admin", ["admin"], PASSWORD, "Ada Admin")
    engine = make_engine(web_settings.people_url)
    log = AuditLog(engine)
    for entry in [
        AuditEntry(Action.VIEW_CASE, Outcome.OK, Channel.WEB, "tmanager", "team_manager",
                   f"icpc-{reference}-1", address="192.0.2.7", at=T),
        AuditEntry(Action.DECISION, Outcome.REFUSED, Channel.CLI, "sworker", "social_worker",
                   f"icpc-{reference}-2", detail="<b>not this role</b>",
                   at=T + timedelta(hours=1)),
        AuditEntry(Action.DECISION, Outcome.OK, Channel.WEB, "tmanager", "team_manager",
                   f"icpc-{reference}-1-plan", detail="sign_off_plan", at=T + timedelta(hours=2)),
        AuditEntry(Action.VIEW_CASE, Outcome.OK, Channel.WEB, "hos", "area_head_of_service",
                   "icpc-some-other-case", at=T + timedelta(hours=3)),
    ]:  # fmt: skip
        log.write(entry)
    engine.dispose()

    async def no_temporal() -> Client:
        raise AssertionError("the audit page never talks to Temporal")

    app = create_app(web_settings, no_temporal)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.55", 50000)),
        base_url="http://testserver",
    ) as client:
        yield client


def table_rows(html: str) -> list[str]:
    body = html.split('data-testid="audit"', 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.split(r"<tr\b[^>]*>", body)[2:]]  # fmt: skip


def reads(settings: Settings) -> list[AuditEntry]:
    engine = make_engine(settings.people_url)
    try:
        return [e for e in AuditLog(engine).read() if e.action is Action.READ_AUDIT]
    finally:
        engine.dispose()


async def test_a_case_reference_shows_every_case_it_names_newest_first(
    http: httpx.AsyncClient, reference: str, web_settings: Settings
) -> None:
    await sign_in(http, "ada.admin", PASSWORD)
    page = await http.get("/admin/audit", params={"case": reference})
    assert page.status_code == 200
    rows = table_rows(page.text)
    assert len(rows) == 3
    assert rows[0].startswith("Fri 18 December 2026, 11:00:00 tmanager (team manager) Decision")
    assert f"icpc-{reference}-1-plan" in rows[0]
    assert "Refused" in rows[1] and "Cli" in rows[1]
    assert "&lt;b&gt;not this role&lt;/b&gt;" in page.text  # typed text shows as text
    assert "192.0.2.7" in rows[2]
    assert "icpc-some-other-case" not in page.text
    assert 'href="/admin/audit" aria-current="page"' in page.text

    [read] = reads(web_settings)
    assert (read.outcome, read.actor, read.actor_role, read.address) == (
        Outcome.OK,
        "ada.admin",
        "admin",
        "192.0.2.55",
    )
    assert read.detail == f"case {reference} (rows 3)"


async def test_a_person_as_actor(http: httpx.AsyncClient) -> None:
    await sign_in(http, "ada.admin", PASSWORD)
    page = await http.get("/admin/audit", params={"person": "HOS"})
    assert page.status_code == 200
    [row] = table_rows(page.text)
    assert row.startswith("Fri 18 December 2026, 12:00:00 hos (") and "View case" in row


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"case": "NO-SUCH-REF-123"}, "No case has the reference NO-SUCH-REF-123"),
        ({"person": "nobody.here"}, "No person has the sign-in id nobody.here"),
        ({"person": "Not An Id!"}, "A sign-in id is lower-case letters, digits"),
    ],
)
async def test_unknown_references_are_named_on_the_page(
    http: httpx.AsyncClient,
    web_settings: Settings,
    params: dict[str, str],
    message: str,
) -> None:
    await sign_in(http, "ada.admin", PASSWORD)
    page = await http.get("/admin/audit", params=params)
    assert page.status_code == 400
    assert "There is a problem" in page.text and message in page.text
    assert 'data-testid="audit"' not in page.text
    [read] = reads(web_settings)
    assert read.outcome is Outcome.REFUSED


async def test_only_an_administrator_reads_it(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    anonymous = await http.get("/admin/audit")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in")
    await sign_in(http, "tmanager", PASSWORD)
    page = await http.get("/admin/audit")
    assert page.status_code == 403
    assert "You cannot read the audit trail" in page.text
    assert 'data-testid="audit"' not in page.text
    assert 'href="/admin/audit"' not in page.text, "no menu link for those who may not read it"
    [refused] = reads(web_settings)
    assert (refused.outcome, refused.actor, refused.detail) == (
        Outcome.REFUSED,
        "tmanager",
        "no admin role",
    )
