"""Case scoping in the web form (issue 12), over HTTP against the app and real case workflows on
the Temporal dev server: another team's case is refused (its page, its decision forms, a
crafted POST) and absent from the lists; an area head of another area is refused; a senior
role reads out of scope only by breaking glass with a reason, read-only; one person with two
roles may not approve the delay they asked for, and chooses the role they act in; reassigning
offers only the team's social workers and refuses a crafted person; every view and decision is
in the audit trail.

Each test invents its own teams and areas, so the cases other tests record never show here.
Every name and reference is invented.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.calendar import LONDON
from domain.case_state import CaseState, DelayStatus, Stage
from domain.decisions import Contact
from records.audit import Action, AuditEntry, AuditLog, Outcome
from records.database import make_engine
from tests.case_helpers import RunningCase, contacts_for, procedure, unique
from tests.web.conftest import (
    BCT,
    PASSWORD,
    after_deadline,
    open_case,
    updates_received,
)
from tests.web.test_security import make_app
from tests.web.web_helpers import (
    add_person,
    csrf_token,
    invented_summary,
    record_summaries,
    settings_for,
    sign_in,
)
from web.app import create_app
from web.settings import Settings

ROW = re.compile(r'<th scope="row"[^>]*><a href="(/cases/[^"]+)">([^<]+)</a></th>')
SUMMARY_ROW = re.compile(
    r'<dt class="govuk-summary-list__key">(.*?)</dt>\s*<dd class="govuk-summary-list__value">(.*?)</dd>',
    re.S,
)
OUT_OF_SCOPE = "This case is not in your team or area, and is not allocated to you."


class Units:
    """This test's own teams and areas (unique, so other tests' cases never match)."""

    def __init__(self) -> None:
        self.team_a = unique("north")
        self.area_a = unique("northarea")
        self.team_b = unique("south")
        self.area_b = unique("southarea")


def add_people(settings: Settings, units: Units, password: str = PASSWORD) -> None:
    """Team A (north) and team B (south), each with its managers and social workers."""
    a = {"teams": [units.team_a], "areas": [units.area_a]}
    b = {"teams": [units.team_b], "areas": [units.area_b]}
    for person_id, roles, name, unit, email in (
        ("north.tm", ["team_manager"], "Norah Manager", {"teams": [units.team_a]}, True),
        ("north.sw", ["social_worker"], "Nell Worker", {"teams": [units.team_a]}, True),
        ("north.sw2", ["social_worker"], "Ned Worker", {"teams": [units.team_a]}, True),
        ("north.quiet", ["social_worker"], "Nia Noemail", {"teams": [units.team_a]}, False),
        ("north.hos", ["area_head_of_service"], "Hana Head", {"areas": [units.area_a]}, True),
        (
            "mixed.tm",
            ["team_manager", "social_worker"],
            "Max Both",
            {"teams": [units.team_a]},
            True,
        ),
        ("nia.two", ["team_manager", "area_head_of_service"], "Nia Two", a, True),
        ("south.tm", ["team_manager"], "Sol Manager", {"teams": [units.team_b]}, True),
        ("south.sw", ["social_worker"], "Suki Worker", {"teams": [units.team_b]}, True),
        ("south.hos", ["area_head_of_service"], "Sid Head", b, True),
    ):
        email = f"{person_id}@staff.example.org" if email else None
        add_person(settings, person_id, roles, password, name, email=email, **unit)


def allocated(**users: str) -> list[Contact]:
    """The procedure's invented contacts, allocated by role to the people named."""
    return [c.model_copy(update={"user": users.get(c.role)}) for c in contacts_for(procedure(BCT))]


@pytest.fixture
def units(web_settings: Settings) -> Units:
    made = Units()
    add_people(web_settings, made)
    return made


@pytest.fixture
async def http(
    web_settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app(web_settings, dev_env.client) as c:
        yield c


@pytest.fixture
async def north_case(
    dev_env: WorkflowEnvironment, web_worker: Worker, units: Units
) -> AsyncIterator[RunningCase]:
    """A case of team A in area A, allocated to Nell (social worker) and Norah (team manager)."""
    case = await open_case(
        dev_env,
        web_worker,
        prefix="SCOPE",
        team=units.team_a,
        area=units.area_a,
        contacts=allocated(social_worker="north.sw", team_manager="north.tm"),
    )
    yield case
    await case.clean_up()


async def sign_in_as(http: httpx.AsyncClient, user: str) -> str:
    """Sign in (after signing out whoever was); a CSRF token of the new session."""
    page = await http.get("/waiting")
    if "Sign out" in page.text:
        await http.post("/sign-out", data={"csrf_token": csrf_token(page.text)})
    await sign_in(http, user, PASSWORD)
    return csrf_token((await http.get("/waiting")).text)


def audit_rows(settings: Settings, case_id: str) -> list[AuditEntry]:
    """The case's audit rows, oldest first."""
    engine = make_engine(settings.people_url)
    try:
        return list(reversed(AuditLog(engine).read(case_id=case_id)))
    finally:
        engine.dispose()


def rows_of(
    settings: Settings, case_id: str, actor: str, action: Action
) -> list[tuple[Outcome, str | None, str]]:
    return [
        (e.outcome, e.actor_role, e.detail)
        for e in audit_rows(settings, case_id)
        if e.actor == actor and e.action is action
    ]


def problem(response: httpx.Response) -> str:
    found = re.search(r'<p data-testid="problem">(.*?)</p>', response.text, re.S)
    assert found, response.text
    return html.unescape(found.group(1))


NO_CASE = "icpc-bct-management-note-NOSUCHCASE-20260101"  # a well-formed id of no case


async def assert_as_if_missing(
    http: httpx.AsyncClient, response: httpx.Response, case_id: str, data: object = None
) -> None:
    """``response`` is the answer for a case that is not there, asked the same way: a case out
    of scope, for someone who may not break glass, gives away not even that it exists."""
    path = response.request.url.path.replace(case_id, NO_CASE)
    missing = await (http.get(path) if data is None else http.post(path, data=data))  # type: ignore[arg-type]
    assert (response.status_code, missing.status_code) == (404, 404), response.text
    title = re.compile(r"<title>(.*?)</title>", re.S)
    assert title.findall(response.text) == title.findall(missing.text)
    assert problem(response) == problem(missing)
    assert response.text.split("<main", 1)[1] == missing.text.split("<main", 1)[1]


def summary_rows(page: str) -> dict[str, str]:
    """A page's summary list as its keys' text to its values' text (tags dropped)."""

    def text(fragment: str) -> str:
        return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))

    return {text(key): text(value) for key, value in SUMMARY_ROW.findall(page)}


def references(html: str) -> list[str]:
    return [reference for _, reference in ROW.findall(html)]


# --- another team's case ----------------------------------------------------------------------


async def test_another_teams_case_is_refused_to_see_and_decide_and_left_out_of_lists(
    http: httpx.AsyncClient, north_case: RunningCase, web_settings: Settings
) -> None:
    case_id = north_case.handle.id
    reference = north_case.start.case_reference
    received = await updates_received(north_case)

    # In scope: the team's manager sees it, with the people it is allocated to by name.
    await sign_in_as(http, "north.tm")
    page = await http.get(f"/cases/{case_id}")
    assert page.status_code == 200
    summary = summary_rows(page.text)
    assert summary.get("Social worker") == "Nell Worker"
    assert summary.get("Team manager") == "Norah Manager"
    assert "Confirm the ICPC" in page.text
    assert rows_of(web_settings, case_id, "north.tm", Action.VIEW_CASE) == [(Outcome.OK, None, "")]
    # The record has the case (written a moment after its start): the team's lists show it.
    for _ in range(150):
        cases = await http.get("/cases", params={"reference": reference})
        if references(cases.text) == [reference]:
            break
        await asyncio.sleep(0.1)
    assert references(cases.text) == [reference]

    # Another team's manager (not senior: no break glass): every address of the case answers
    # as if there were no case there, the reason only in the audit trail.
    token = await sign_in_as(http, "south.tm")
    page = await http.get(f"/cases/{case_id}")
    await assert_as_if_missing(http, page, case_id)
    assert problem(page) == "There is no case at this address."
    assert reference not in page.text.split("<main", 1)[1]  # nothing of the case is shown
    assert "break-glass" not in page.text
    form = await http.get(f"/cases/{case_id}/decisions/confirm_icpc")
    await assert_as_if_missing(http, form, case_id)
    posted = {"csrf_token": token, "reason": "Not my team's case"}
    crafted = await http.post(f"/cases/{case_id}/decisions/confirm_icpc", data=posted)
    await assert_as_if_missing(http, crafted, case_id, posted)
    # Nor a role chosen by hand.
    posted = {"csrf_token": token, "acting_role": "team_manager", "reason": "Not mine"}
    crafted = await http.post(f"/cases/{case_id}/decisions/withdraw_icpc", data=posted)
    await assert_as_if_missing(http, crafted, case_id, posted)
    # The plan's address too: whether the child is on a plan is not told either.
    await assert_as_if_missing(http, await http.get(f"/cases/{case_id}/plan"), case_id)
    assert await updates_received(north_case) == received
    assert (await north_case.state()).stage == Stage.AWAITING_CONFIRMATION
    # Absent from the lists.
    assert reference not in (await http.get("/waiting")).text
    assert references((await http.get("/cases", params={"reference": reference})).text) == []
    all_statuses = await http.get("/cases", params={"reference": reference, "status": "all"})
    assert references(all_statuses.text) == []

    assert rows_of(web_settings, case_id, "south.tm", Action.VIEW_CASE) == [
        (Outcome.REFUSED, None, OUT_OF_SCOPE)
    ]
    decisions = rows_of(web_settings, case_id, "south.tm", Action.DECISION)
    assert decisions == [
        (Outcome.REFUSED, "team_manager", f"confirm_icpc: {OUT_OF_SCOPE}"),
        (Outcome.REFUSED, "team_manager", f"confirm_icpc: {OUT_OF_SCOPE}"),
        (Outcome.REFUSED, "team_manager", f"withdraw_icpc: {OUT_OF_SCOPE}"),
    ]
    assert all(e.address == "192.0.2.10" for e in audit_rows(web_settings, case_id))

    # A social worker of the same team, not allocated to it: refused (a caseload, not a team).
    await sign_in_as(http, "north.sw2")
    page = await http.get(f"/cases/{case_id}")
    await assert_as_if_missing(http, page, case_id)
    assert rows_of(web_settings, case_id, "north.sw2", Action.VIEW_CASE) == [
        (Outcome.REFUSED, None, "This case is not allocated to you.")
    ]


async def test_an_area_head_of_another_area_is_refused(
    http: httpx.AsyncClient, north_case: RunningCase, web_settings: Settings
) -> None:
    case_id = north_case.handle.id
    token = await sign_in_as(http, "north.tm")
    state = await north_case.state()
    requested = await http.post(
        f"/cases/{case_id}/decisions/request_delay",
        data={
            "csrf_token": token,
            "proposed_date": after_deadline(state).isoformat(),
            "reason": "Key agency cannot attend within the limit",
            "safety_plan": "Daily visits by the social worker",
        },
    )
    assert requested.status_code == 303, requested.text
    await north_case.settle()

    token = await sign_in_as(http, "south.hos")
    page = await http.get(f"/cases/{case_id}")
    assert page.status_code == 403 and problem(page) == OUT_OF_SCOPE
    form = await http.get(f"/cases/{case_id}/decisions/approve_delay")
    assert form.status_code == 403 and problem(form) == OUT_OF_SCOPE
    crafted = await http.post(
        f"/cases/{case_id}/decisions/approve_delay",
        data={"csrf_token": token, "reason": "Approving another area's delay"},
    )
    assert crafted.status_code == 403 and problem(crafted) == OUT_OF_SCOPE
    state = await north_case.state()
    assert state.delay is not None and state.delay.status == DelayStatus.PENDING
    assert (
        rows_of(web_settings, case_id, "south.hos", Action.DECISION)
        == [(Outcome.REFUSED, "area_head_of_service", f"approve_delay: {OUT_OF_SCOPE}")] * 2
    )

    # The area's own head of service approves it.
    token = await sign_in_as(http, "north.hos")
    approved = await http.post(
        f"/cases/{case_id}/decisions/approve_delay",
        data={"csrf_token": token, "reason": "The safety plan covers the extra days"},
    )
    assert approved.status_code == 303, approved.text
    assert rows_of(web_settings, case_id, "north.hos", Action.DECISION) == [
        (Outcome.OK, "area_head_of_service", "approve_delay: Delay approved")
    ]
    timeline = (await north_case.state()).timeline
    assert [(e.by.user, e.by.role) for e in timeline if e.event == "approve_delay" and e.by] == [
        ("north.hos", "area_head_of_service")
    ]


# --- break glass ----------------------------------------------------------------------------------


async def test_break_glass_reads_read_only_with_a_reason_and_is_audited(
    http: httpx.AsyncClient, north_case: RunningCase, web_settings: Settings
) -> None:
    case_id = north_case.handle.id
    reference = north_case.start.case_reference
    token = await sign_in_as(http, "south.hos")
    page = await http.get(f"/cases/{case_id}")
    assert page.status_code == 403 and problem(page) == OUT_OF_SCOPE
    assert f'action="/cases/{case_id}/break-glass"' in page.text
    assert "Why do you need to read this case?" in page.text

    # Without a reason (or with too short a one): refused, said next to the box, audited.
    for typed in ("", "   ", "urgent"):
        refused = await http.post(
            f"/cases/{case_id}/break-glass", data={"csrf_token": token, "reason": typed}
        )
        assert refused.status_code == 400
        assert "<title>Error: " in refused.text and 'href="#f-reason"' in refused.text
        shown = refused.text.split("<main", 1)[1]
        assert f"Case {reference}" not in shown and "FAM-" not in shown
    # Without the CSRF token: the form has expired, nothing is read.
    forged = await http.post(
        f"/cases/{case_id}/break-glass", data={"reason": "Checking a safeguarding concern"}
    )
    assert forged.status_code == 403 and "This form has expired" in forged.text

    reason = "Police call about the child out of hours; <b>urgent</b> check"
    read = await http.post(
        f"/cases/{case_id}/break-glass", data={"csrf_token": token, "reason": reason}
    )
    assert read.status_code == 200
    assert f"Case {reference}" in read.text
    assert 'data-testid="break-glass"' in read.text
    assert "Police call about the child out of hours; &lt;b&gt;urgent&lt;/b&gt; check" in read.text
    assert "/decisions/" not in read.text  # read-only: no decision offered
    assert "Decisions you can take" not in read.text
    # Breaking glass gives sight for that read, never a decision.
    form = await http.get(f"/cases/{case_id}/decisions/confirm_icpc")
    assert form.status_code == 403
    assert (await http.get(f"/cases/{case_id}")).status_code == 403
    again = await http.get(f"/cases/{case_id}/break-glass")  # each read is its own post
    assert again.status_code == 303 and again.headers["location"] == f"/cases/{case_id}"

    glass = rows_of(web_settings, case_id, "south.hos", Action.BREAK_GLASS)
    assert [outcome for outcome, _, _ in glass] == [Outcome.REFUSED] * 3 + [Outcome.OK]
    assert glass[-1] == (
        Outcome.OK,
        "area_head_of_service",
        "Police call about the child out of hours; <b>urgent</b> check",
    )
    assert "give the reason why" in glass[0][2]

    # A role that may not break glass is refused whatever the reason, as if no case were there.
    token = await sign_in_as(http, "south.tm")
    posted = {"csrf_token": token, "reason": "I would like to read this case please"}
    refused = await http.post(f"/cases/{case_id}/break-glass", data=posted)
    assert refused.status_code == 404 and problem(refused) == "There is no case at this address."
    assert rows_of(web_settings, case_id, "south.tm", Action.BREAK_GLASS) == [
        (
            Outcome.REFUSED,
            None,
            "This case is outside your scope, and your roles may not break glass to read it.",
        )
    ]


async def test_break_glass_can_be_turned_off(
    http: httpx.AsyncClient,
    north_case: RunningCase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ICPC_BREAK_GLASS_ROLES", "none")
    case_id = north_case.handle.id
    token = await sign_in_as(http, "south.hos")
    page = await http.get(f"/cases/{case_id}")
    await assert_as_if_missing(http, page, case_id)
    refused = await http.post(
        f"/cases/{case_id}/break-glass",
        data={"csrf_token": token, "reason": "Checking a safeguarding concern"},
    )
    assert refused.status_code == 404


# --- one person, two roles ----------------------------------------------------------------------


async def test_one_person_with_two_roles_may_not_approve_the_delay_they_asked_for(
    dev_env: WorkflowEnvironment,
    web_worker: Worker,
    http: httpx.AsyncClient,
    units: Units,
    web_settings: Settings,
) -> None:
    case = await open_case(
        dev_env,
        web_worker,
        prefix="SOD",
        team=units.team_a,
        area=units.area_a,
        contacts=allocated(social_worker="north.sw", team_manager="nia.two"),
    )
    try:
        case_id = case.handle.id
        token = await sign_in_as(http, "nia.two")
        state = await case.state()
        requested = await http.post(
            f"/cases/{case_id}/decisions/request_delay",
            data={
                "csrf_token": token,
                "proposed_date": after_deadline(state).isoformat(),
                "reason": "Key agency cannot attend within the limit",
                "safety_plan": "Daily visits by the social worker",
            },
        )
        assert requested.status_code == 303, requested.text
        await case.settle()
        received = await updates_received(case)

        page = await http.get(f"/cases/{case_id}")
        assert "Approve a delay" not in page.text
        form = await http.get(f"/cases/{case_id}/decisions/approve_delay")
        reason = "You requested this delay; someone else must decide on it."
        assert form.status_code == 403 and problem(form) == reason
        crafted = await http.post(
            f"/cases/{case_id}/decisions/approve_delay",
            data={"csrf_token": token, "reason": "Approving my own delay"},
        )
        assert crafted.status_code == 403 and problem(crafted) == reason
        assert await updates_received(case) == received
        state = await case.state()
        assert state.delay is not None and state.delay.status == DelayStatus.PENDING

        assert rows_of(web_settings, case_id, "nia.two", Action.DECISION) == [
            (Outcome.OK, "team_manager", "request_delay: " + requested_summary(state)),
            (Outcome.REFUSED, "area_head_of_service", f"approve_delay: {reason}"),
            (Outcome.REFUSED, "area_head_of_service", f"approve_delay: {reason}"),
        ]
        assert [e.by.user for e in state.timeline if e.event == "request_delay" and e.by] == [
            "nia.two"
        ]
    finally:
        await case.clean_up()


def requested_summary(state: CaseState) -> str:
    assert state.delay is not None
    return f"Delay requested to {state.delay.proposed_date:%d %B %Y}"


async def test_a_person_who_may_decide_in_two_roles_chooses_which(
    dev_env: WorkflowEnvironment,
    web_worker: Worker,
    http: httpx.AsyncClient,
    units: Units,
    web_settings: Settings,
) -> None:
    case = await open_case(
        dev_env,
        web_worker,
        prefix="ROLES",
        team=units.team_a,
        area=units.area_a,
        contacts=allocated(social_worker="mixed.tm", team_manager="north.tm"),
    )
    try:
        case_id = case.handle.id
        token = await sign_in_as(http, "mixed.tm")
        form = await http.get(f"/cases/{case_id}/decisions/confirm_icpc")
        assert form.status_code == 200
        assert "Which of your roles are you taking this decision in?" in form.text
        assert 'name="acting_role" type="radio" value="social_worker"' in form.text
        assert 'name="acting_role" type="radio" value="team_manager"' in form.text
        path = f"/cases/{case_id}/decisions/confirm_icpc"
        missing = await http.post(path, data={"csrf_token": token, "reason": "Risk confirmed"})
        assert missing.status_code == 400 and 'href="#f-acting_role-0"' in missing.text
        # A role they do not hold, by hand: refused as the command line refuses it.
        crafted = await http.post(
            path,
            data={"csrf_token": token, "acting_role": "area_head_of_service", "reason": "x"},
        )
        assert crafted.status_code == 403
        assert "does not give this decision to the area head of service role" in problem(crafted)
        confirmed = await http.post(
            path,
            data={"csrf_token": token, "acting_role": "social_worker", "reason": "Risk confirmed"},
        )
        assert confirmed.status_code == 303, confirmed.text
        state = await case.state()
        assert [
            (e.by.user, e.by.role) for e in state.timeline if e.event == "confirm_icpc" and e.by
        ] == [("mixed.tm", "social_worker")]
        assert rows_of(web_settings, case_id, "mixed.tm", Action.DECISION)[-1] == (
            Outcome.OK,
            "social_worker",
            "confirm_icpc: ICPC confirmed",
        )
    finally:
        await case.clean_up()


# --- reassigning: a person, not an address ------------------------------------------------------


async def test_reassign_offers_only_the_teams_social_workers_and_refuses_an_outsider(
    http: httpx.AsyncClient, north_case: RunningCase, web_settings: Settings
) -> None:
    case_id = north_case.handle.id
    path = f"/cases/{case_id}/decisions/reassign_worker"
    token = await sign_in_as(http, "north.tm")
    form = await http.get(path)
    assert form.status_code == 200
    offered = re.findall(r'name="person" type="radio" value="([^"]+)"', form.text)
    # The team's social workers with an address, by name: not Nell (hers now), nor Nia (no
    # email address), nor anyone of the south team.
    assert offered == ["mixed.tm", "north.sw2"]
    assert "Ned Worker (north.sw2)" in form.text and "Max Both (mixed.tm)" in form.text
    assert "contact_email" not in form.text and 'type="email"' not in form.text
    received = await updates_received(north_case)

    outsider = await http.post(
        path, data={"csrf_token": token, "person": "south.sw", "reason": "Cover"}
    )
    assert outsider.status_code == 403
    assert problem(outsider) == f"Suki Worker is not in this case's team ({north_case.start.team})."
    nobody = await http.post(path, data={"csrf_token": token, "person": "nobody.here"})
    assert nobody.status_code == 403 and problem(nobody) == "There is no person 'nobody.here'."
    no_email = await http.post(path, data={"csrf_token": token, "person": "north.quiet"})
    assert no_email.status_code == 403 and "no email address on record" in problem(no_email)
    assert await updates_received(north_case) == received

    # The person picked, by id only: name and address come from their record, not the form.
    moved = await http.post(
        path,
        data={
            "csrf_token": token,
            "person": "north.sw2",
            "contact_email": "evil@evil.org",
            "reason": "Nell is on leave",
        },
    )
    assert moved.status_code == 303, moved.text
    state = await north_case.state()
    [worker] = [c for c in state.start.contacts if c.role == "social_worker"]
    assert (worker.user, worker.name, worker.email) == (
        "north.sw2",
        "Ned Worker",
        "north.sw2@staff.example.org",
    )
    decisions = rows_of(web_settings, case_id, "north.tm", Action.DECISION)
    assert [outcome for outcome, _, _ in decisions] == [Outcome.REFUSED] * 3 + [Outcome.OK]
    assert decisions[0][2].startswith("reassign_worker: Suki Worker is not in this case's team")

    # Ned now sees the case; Nell, no longer allocated, does not.
    await sign_in_as(http, "north.sw2")
    for _ in range(100):  # the record takes the new allocation a moment after the decision
        if (await http.get(f"/cases/{case_id}")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert (await http.get(f"/cases/{case_id}")).status_code == 200
    await sign_in_as(http, "north.sw")
    assert (await http.get(f"/cases/{case_id}")).status_code == 404


# --- the lists, from the record -----------------------------------------------------------------


async def no_temporal() -> Client:
    raise ConnectionError("no case service in this test")


async def test_lists_hold_only_the_cases_a_person_may_see_and_decide_on(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    units = Units()
    add_people(settings, units)
    prefix = unique("LIST")
    strategy = datetime.now(LONDON) - timedelta(days=2)
    soon = datetime.now(LONDON) + timedelta(days=10)

    def case(suffix: str, team: str, area: str, awaiting: str, people: dict[str, str]) -> object:
        summary = invented_summary(
            f"{prefix}-{suffix}", strategy=strategy, deadline=soon, awaiting_role=awaiting
        )
        return summary.model_copy(update={"team": team, "area": area, "allocated": people})

    a_manager = case("A1", units.team_a, units.area_a, "team_manager", {"team_manager": "north.tm"})
    a_worker = case(
        "A2", units.team_a, units.area_a, "social_worker", {"social_worker": "north.sw"}
    )
    b_manager = case("B1", units.team_b, units.area_b, "team_manager", {})
    record_summaries(settings.record_url, [a_manager, a_worker, b_manager])  # type: ignore[list-item]

    async def lists(user: str) -> tuple[list[str], list[str]]:
        await sign_in_as(http, user)
        waiting = await http.get("/waiting")
        assert waiting.status_code == 200
        cases = await http.get("/cases", params={"reference": prefix})
        assert cases.status_code == 200
        # Other tests' cases may be allocated to these sign-in ids too: this test's only.
        mine = [r for r in references(waiting.text) if r.startswith(prefix)]
        return mine, references(cases.text)

    a1, a2, b1 = (f"{prefix}-{s}" for s in ("A1", "A2", "B1"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, no_temporal)),
        base_url="http://testserver",
    ) as http:
        # A team manager who is also a social worker: the team's cases, but among those waiting
        # for a social worker only the ones allocated to them (none here).
        assert await lists("mixed.tm") == ([a1], [a1, a2])
        assert await lists("north.tm") == ([a1], [a1, a2])
        assert await lists("north.sw") == ([a2], [a2])  # a caseload: only hers
        assert await lists("north.sw2") == ([], [])
        assert await lists("south.tm") == ([b1], [b1])
        assert await lists("north.hos") == ([], [a1, a2])  # her area; none waits for her
        assert await lists("south.hos") == ([], [b1])
