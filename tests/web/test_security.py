"""The web form's guards, over HTTP against the app (httpx, in-process) and a real case workflow
on the Temporal dev server: sign-in everywhere, roles, CSRF, escaping, slowed failures, expiry.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import records.sessions
from domain.case_state import DelayStatus, Stage
from records.database import sqlite_path
from tests.case_helpers import RunningCase
from tests.web.conftest import (
    PASSWORD,
    after_deadline,
    open_case,
    request_delay,
    updates_received,
)
from tests.web.web_helpers import csrf_token, post_sign_in
from web.app import create_app
from web.settings import Settings


def make_app(settings: Settings, client: Client) -> httpx.AsyncClient:
    async def client_factory() -> Client:
        return client

    app = create_app(settings, client_factory)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.10", 50000)),
        base_url="http://testserver",
    )


@pytest.fixture
async def http(
    web_settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app(web_settings, dev_env.client) as c:
        yield c


@pytest.fixture
async def case(dev_env: WorkflowEnvironment, web_worker: Worker) -> AsyncIterator[RunningCase]:
    running = await open_case(dev_env, web_worker)
    yield running
    await running.clean_up()


def goes_to_sign_in(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/sign-in")


async def test_every_page_without_a_session_redirects_to_sign_in(
    http: httpx.AsyncClient, case: RunningCase
) -> None:
    pages = [
        "/",
        "/waiting",
        "/cases",
        f"/cases/{case.handle.id}",
        f"/cases/{case.handle.id}/decisions/request_delay",
        f"/cases/{case.handle.id}/decisions/approve_delay",
        "/no-such-page",
    ]
    for path in pages:
        response = await http.get(path)
        assert goes_to_sign_in(response), path
    assert (await http.get("/waiting")).headers["location"] == "/sign-in?next=/waiting"

    before = await updates_received(case)
    response = await http.post(
        f"/cases/{case.handle.id}/decisions/confirm_icpc", data={"reason": "no session"}
    )
    assert goes_to_sign_in(response)
    assert await updates_received(case) == before

    sign_in_page = await http.get("/sign-in")
    assert sign_in_page.status_code == 200
    assert 'for="f-user"' in sign_in_page.text and 'for="f-password"' in sign_in_page.text


async def test_proxy_headers_are_ignored_unless_the_setting_is_on(
    web_settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    headers = {"X-Remote-User": "hos", "X-Remote-Role": "area_head_of_service"}
    async with make_app(web_settings, dev_env.client) as http:
        assert goes_to_sign_in(await http.get("/waiting", headers=headers))

    trusting = Settings(**{**web_settings.__dict__, "trust_proxy_headers": True})
    async with make_app(trusting, dev_env.client) as http:
        page = await http.get("/waiting", headers=headers)
        assert page.status_code == 200
        # The person and their roles come from the people table, not the headers.
        assert "Signed in as Head of Service Hal (area head of service)" in page.text
        # Without the headers, even a trusting form lets nobody in.
        assert goes_to_sign_in(await http.get("/waiting"))
        # Someone the people table does not know is refused (tests/web/test_sso.py has more).
        unknown = {"X-Remote-User": "nobody", "X-Remote-Role": "area_head_of_service"}
        assert (await http.get("/waiting", headers=unknown)).status_code == 403


async def test_a_role_that_may_not_take_a_decision_gets_403_and_the_case_receives_nothing(
    http: httpx.AsyncClient, case: RunningCase
) -> None:
    await request_delay(case)
    received = await updates_received(case)
    timeline = len((await case.state()).timeline)

    assert (await post_sign_in(http, "sworker", PASSWORD)).status_code == 303
    path = f"/cases/{case.handle.id}/decisions/approve_delay"
    form_page = await http.get(path)
    assert form_page.status_code == 403
    assert "You cannot take this decision" in form_page.text

    token = csrf_token((await http.get(f"/cases/{case.handle.id}")).text)
    response = await http.post(path, data={"csrf_token": token, "reason": "Agreed"})
    assert response.status_code == 403
    # As the command line says it (domain.scoping.deciding_roles): the role is not theirs.
    assert "You do not hold the area head of service role." in response.text

    # The team manager who asked for it may not approve it either: also refused here.
    await http.post("/sign-out", data={"csrf_token": token})
    await post_sign_in(http, "tmanager", PASSWORD)
    token = csrf_token((await http.get(f"/cases/{case.handle.id}")).text)
    response = await http.post(path, data={"csrf_token": token, "reason": "Agreed"})
    assert response.status_code == 403

    await case.settle()
    state = await case.state()
    assert len(state.timeline) == timeline
    assert state.delay is not None and state.delay.status == DelayStatus.PENDING
    assert await updates_received(case) == received


async def test_a_post_without_the_csrf_token_is_refused(
    http: httpx.AsyncClient, case: RunningCase
) -> None:
    await post_sign_in(http, "tmanager", PASSWORD)
    path = f"/cases/{case.handle.id}/decisions/confirm_icpc"
    received = await updates_received(case)
    for data in ({"reason": "Risk confirmed"}, {"reason": "x", "csrf_token": "forged-token"}):
        response = await http.post(path, data=data)
        assert response.status_code == 403
        assert "This form has expired" in response.text
    assert await updates_received(case) == received
    assert (await case.state()).stage == Stage.AWAITING_CONFIRMATION

    # Sign-in and sign-out check it too.
    response = await http.post("/sign-out", data={})
    assert response.status_code == 403
    response = await http.post("/sign-in", data={"user": "hos", "password": PASSWORD})
    assert response.status_code == 403


async def test_a_token_from_before_sign_in_is_worthless_after_it(
    http: httpx.AsyncClient, case: RunningCase
) -> None:
    planted = csrf_token((await http.get("/sign-in")).text)
    await post_sign_in(http, "tmanager", PASSWORD)
    response = await http.post(
        f"/cases/{case.handle.id}/decisions/confirm_icpc",
        data={"csrf_token": planted, "reason": "x"},
    )
    assert response.status_code == 403


async def test_typed_html_shows_as_text_and_the_decider_comes_from_the_session(
    http: httpx.AsyncClient, case: RunningCase
) -> None:
    await post_sign_in(http, "tmanager", PASSWORD)
    path = f"/cases/{case.handle.id}/decisions/request_delay"
    token = csrf_token((await http.get(path)).text)
    reason = '<script>alert("x")</script><b>bold</b> & "quoted"'
    state = await case.state()

    # Refused by the workflow (a date within the limit): the typed text comes back, escaped.
    within = state.deadline.date().isoformat()
    refused = await http.post(
        path,
        data={
            "csrf_token": token,
            "proposed_date": within,
            "reason": reason,
            "safety_plan": "<img src=x onerror=alert(1)>",
        },
    )
    assert refused.status_code == 409
    assert "is within the statutory limit" in refused.text
    assert "<script>alert" not in refused.text and "<img src=x" not in refused.text
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp;"
        in refused.text
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in refused.text

    # Accepted, with fields that try to name someone else as the decider: ignored.
    accepted = await http.post(
        path,
        data={
            "csrf_token": token,
            "proposed_date": after_deadline(state).isoformat(),
            "reason": reason,
            "safety_plan": "Daily visits",
            "decided_by": "hos",
            "user": "hos",
            "role": "area_head_of_service",
        },
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/cases/{case.handle.id}"
    page = await http.get(accepted.headers["location"])
    assert "Decision accepted" in page.text
    assert "<script>alert" not in page.text and "<b>bold</b>" not in page.text
    assert "&lt;script&gt;" in page.text

    entry = (await case.state()).timeline[-1]
    assert entry.event == "request_delay"
    assert entry.reason == reason
    assert entry.by is not None
    assert (entry.by.user, entry.by.role) == ("tmanager", "team_manager")


async def test_missing_fields_are_named_and_linked_and_nothing_is_sent(
    http: httpx.AsyncClient, case: RunningCase
) -> None:
    await post_sign_in(http, "tmanager", PASSWORD)
    path = f"/cases/{case.handle.id}/decisions/request_delay"
    token = csrf_token((await http.get(path)).text)
    received = await updates_received(case)
    response = await http.post(
        path, data={"csrf_token": token, "proposed_date": "31/02/2031", "reason": "kept"}
    )
    assert response.status_code == 400
    assert '<a href="#f-safety_plan">Enter how the child will be kept safe until then</a>' in (
        response.text
    )
    assert (
        'aria-describedby="f-safety_plan-info f-safety_plan-hint f-safety_plan-error"'
        in response.text
    )
    assert ">kept</textarea>" in response.text
    assert await updates_received(case) == received


async def test_sign_in_failures_are_slowed_down(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    delay = web_settings.signin_delay
    timings = []
    for _ in range(3):
        started = time.monotonic()
        response = await post_sign_in(http, "hos", "not the password")
        timings.append(time.monotonic() - started)
        assert response.status_code == 400
        assert "The sign-in id or password is not right" in response.text
    # Doubling waits: about 1, 2 and 4 times the base delay.
    assert timings[0] >= delay
    assert timings[1] >= 2 * delay
    assert timings[2] >= 4 * delay

    # An unknown id is slowed the same way, and says no more than a wrong password does.
    started = time.monotonic()
    response = await post_sign_in(http, "nobody-here", "not the password")
    assert time.monotonic() - started >= delay
    assert "The sign-in id or password is not right" in response.text

    # The right password still gets in (after its wait) and clears the count.
    assert (await post_sign_in(http, "hos", PASSWORD)).status_code == 303


async def test_sessions_expire_after_the_set_minutes(
    http: httpx.AsyncClient, web_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await post_sign_in(http, "tmanager", PASSWORD)).status_code == 303
    later = datetime.now(UTC) + timedelta(minutes=web_settings.session_minutes, seconds=5)
    monkeypatch.setattr(records.sessions, "utcnow", lambda: later)
    response = await http.get("/waiting")
    assert goes_to_sign_in(response)
    page = await http.get(response.headers["location"])
    assert "You were signed out because you had not used the form for a while" in page.text


async def test_pages_forbid_framing_scripts_and_caching(http: httpx.AsyncClient) -> None:
    await post_sign_in(http, "hos", PASSWORD)
    response = await http.get("/waiting")
    assert response.status_code == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_sign_in_sends_people_only_to_this_site(http: httpx.AsyncClient) -> None:
    page = await http.get("/sign-in", params={"next": "//evil.example/steal"})
    response = await http.post(
        "/sign-in",
        data={
            "user": "hos",
            "password": PASSWORD,
            "csrf_token": csrf_token(page.text),
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/waiting"


def test_accounts_hold_no_plain_password(web_settings: Settings) -> None:
    path = sqlite_path(web_settings.people_url)
    assert path is not None
    data = path.read_bytes()
    assert PASSWORD.encode() not in data
    assert b"$argon2" in data
