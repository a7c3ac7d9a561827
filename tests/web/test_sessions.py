"""Server-side sessions over HTTP against the app: every request loads the session and the
person from the database, so a removed account, a sign-out, a role change and both time limits
take effect on the very next request; a forged cookie is nobody. Each refusal is audited, with
the client's address. No case service is needed: the pages used read the case record only.

Every name here is invented.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from temporalio.client import Client

import records.sessions
from records.audit import Action, AuditEntry, AuditLog, Outcome
from records.database import make_engine
from records.people import PeopleStore
from tests.web.conftest import PASSWORD
from tests.web.web_helpers import add_person, csrf_token, post_sign_in
from web.app import create_app
from web.auth import COOKIE, SIGNIN_COOKIE
from web.settings import Settings

PEER = "192.0.2.10"


async def no_temporal() -> Client:
    raise ConnectionError("no case service in these tests")


def http_for(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, no_temporal)
    transport = httpx.ASGITransport(app=app, client=(PEER, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def http(web_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with http_for(web_settings) as client:
        yield client


def goes_to_sign_in(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/sign-in")


def audit_rows(settings: Settings, person: str | None = None) -> list[AuditEntry]:
    engine = make_engine(settings.people_url)
    try:
        return list(reversed(AuditLog(engine).read(actor=person)))
    finally:
        engine.dispose()


def people(settings: Settings) -> PeopleStore:
    return PeopleStore(make_engine(settings.people_url))


async def test_a_removed_account_is_refused_on_its_next_request(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    assert (await post_sign_in(http, "tmanager", PASSWORD)).status_code == 303
    page = await http.get("/waiting")
    assert page.status_code == 200 and "Signed in as Team Manager Tess" in page.text
    token = csrf_token(page.text)

    add_person(web_settings, "ses.admin", "admin", PASSWORD)
    admin = {"Authorization": f"Bearer {people(web_settings).issue_token('ses.admin')}"}
    assert (await http.delete("/api/v1/people/tmanager", headers=admin)).status_code == 200

    saved = http.cookies[COOKIE]
    assert goes_to_sign_in(await http.get("/waiting"))
    http.cookies.set(COOKIE, saved)  # the cookie was deleted: kept and sent again
    crafted = await http.post(
        "/cases/icpc-bct-management-note-X-1-20270104/decisions/confirm_icpc",
        data={"csrf_token": token, "reason": "still here?"},
    )
    assert goes_to_sign_in(crafted)
    refused = [
        e for e in audit_rows(web_settings, "tmanager") if e.action == Action.SESSION_REFUSED
    ]
    # Removing a person (`icpc users remove`, through the API) ends their sessions.
    assert [e.detail for e in refused] == ["session ended"] * 2 and refused[0].address == PEER


async def test_an_account_removed_by_another_process_is_refused_on_its_next_request(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    assert (await post_sign_in(http, "sworker", PASSWORD)).status_code == 303
    assert (await http.get("/waiting")).status_code == 200
    saved = http.cookies[COOKIE]
    assert people(web_settings).remove("sworker")  # its session row is left as it was
    assert goes_to_sign_in(await http.get("/waiting"))
    http.cookies.set(COOKIE, saved)
    assert goes_to_sign_in(await http.get("/waiting"))
    refused = [e for e in audit_rows(web_settings, "sworker") if e.action == Action.SESSION_REFUSED]
    assert [e.detail for e in refused] == ["account removed", "session ended"]


async def test_a_disabled_account_is_refused_on_its_next_request_and_cannot_sign_in(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    assert (await post_sign_in(http, "hos", PASSWORD)).status_code == 303
    assert (await http.get("/waiting")).status_code == 200
    people(web_settings).disable("hos")
    assert goes_to_sign_in(await http.get("/waiting"))
    again = await post_sign_in(http, "hos", PASSWORD)
    assert again.status_code == 403
    assert "This account is disabled" in again.text
    details = [(e.action, e.detail) for e in audit_rows(web_settings, "hos")]
    assert (Action.SESSION_REFUSED, "account disabled") in details
    assert (Action.SIGN_IN_FAILED, "account disabled") in details


async def test_a_cookie_replayed_after_sign_out_is_refused(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    await post_sign_in(http, "tmanager", PASSWORD)
    page = await http.get("/waiting")
    saved = http.cookies[COOKIE]
    out = await http.post("/sign-out", data={"csrf_token": csrf_token(page.text)})
    assert goes_to_sign_in(out)
    assert COOKIE not in http.cookies  # the browser is told to forget it

    http.cookies.set(COOKIE, saved)  # a copy kept from before
    assert goes_to_sign_in(await http.get("/waiting"))
    http.cookies.set(COOKIE, saved)
    response = await http.post(
        "/cases/icpc-bct-management-note-X-1-20270104/decisions/confirm_icpc",
        data={"csrf_token": csrf_token(page.text), "reason": "replayed"},
    )
    assert goes_to_sign_in(response)
    actions = [
        (e.action, e.outcome, e.detail)
        for e in audit_rows(web_settings, "tmanager")
        if e.action is not Action.LIST_CASES  # the list read at sign-in: test_list_audit
    ]
    assert actions[:2] == [(Action.SIGN_IN, Outcome.OK, ""), (Action.SIGN_OUT, Outcome.OK, "")]
    assert (Action.SESSION_REFUSED, Outcome.REFUSED, "session ended") in actions


async def test_a_forged_cookie_signs_nobody_in(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    http.cookies.set(COOKIE, "made-up-session-id-" + "x" * 30)
    response = await http.get("/waiting")
    assert goes_to_sign_in(response)
    assert f"{COOKIE}=" in response.headers.get("set-cookie", "")  # deleted
    # The signed cookies of before, naming a made-up area head of service, name nobody now:
    # neither with the old salt nor with the pre-sign-in cookie's.
    for salt, name in (("icpc-web-session", COOKIE), ("icpc-web-signin", SIGNIN_COOKIE)):
        forged = URLSafeTimedSerializer(web_settings.secret, salt=salt).dumps(
            {"u": "ghost", "r": "area_head_of_service", "n": "Ghost", "csrf": "x"}
        )
        http.cookies.clear()
        http.cookies.set(name, forged)
        assert goes_to_sign_in(await http.get("/waiting"))
    refused = [e for e in audit_rows(web_settings) if e.action == Action.SESSION_REFUSED]
    assert refused and all(e.detail == "unknown session" and e.actor is None for e in refused)


async def test_a_role_change_takes_effect_on_the_next_request(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    await post_sign_in(http, "tmanager", PASSWORD)
    before = await http.get("/waiting")
    assert "(team manager)" in before.text
    assert "Cases whose next decision is for a team manager" in before.text
    people(web_settings).update("tmanager", roles=["social_worker"])
    after = await http.get("/waiting")
    assert "(social worker)" in after.text and "(team manager)" not in after.text
    assert "Cases whose next decision is for a social worker" in after.text


async def test_the_absolute_lifetime_ends_a_session_even_when_used(
    http: httpx.AsyncClient, web_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert web_settings.session_hours == 8
    start = datetime.now(UTC)
    now = start
    monkeypatch.setattr(records.sessions, "utcnow", lambda: now)
    await post_sign_in(http, "hos", PASSWORD)
    for _ in range(8 * 3 - 1):  # used every 20 minutes: never idle
        now += timedelta(minutes=20)
        assert (await http.get("/waiting")).status_code == 200
    now = start + timedelta(hours=8, seconds=1)
    response = await http.get("/waiting")
    assert goes_to_sign_in(response)
    page = await http.get(response.headers["location"])
    assert "signed in for the longest time a session may last" in page.text
    refused = [e for e in audit_rows(web_settings, "hos") if e.action == Action.SESSION_REFUSED]
    assert [e.detail for e in refused] == ["absolute lifetime reached"]


async def test_the_idle_limit_ends_a_session_and_says_so_once(
    http: httpx.AsyncClient, web_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await post_sign_in(http, "hos", PASSWORD)
    assert (await http.get("/waiting")).status_code == 200
    later = datetime.now(UTC) + timedelta(minutes=web_settings.session_minutes, seconds=1)
    monkeypatch.setattr(records.sessions, "utcnow", lambda: later)
    response = await http.get("/waiting")
    assert goes_to_sign_in(response)
    page = await http.get(response.headers["location"])
    assert "because you had not used the form for a while" in page.text
    again = await http.get("/sign-in")
    assert "You were signed out" not in again.text  # told once
    refused = [e for e in audit_rows(web_settings, "hos") if e.action == Action.SESSION_REFUSED]
    assert [e.detail for e in refused] == ["idle limit reached"]


async def test_the_client_address_comes_from_the_proxy_only_when_trusted(
    web_settings: Settings,
) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.66, 198.51.100.23"}
    async with http_for(web_settings) as http:
        await post_sign_in(http, "sworker", "wrong password here", **spoofed)
    trusting = Settings(**{**web_settings.__dict__, "trusted_proxy": True})
    async with http_for(trusting) as http:
        await post_sign_in(http, "sworker", "wrong password here", **spoofed)
        await post_sign_in(http, "sworker", PASSWORD, **spoofed)
    rows = audit_rows(web_settings, "sworker")
    assert [(e.action, e.address) for e in rows] == [
        (Action.SIGN_IN_FAILED, PEER),  # the header is ignored without the setting
        (Action.SIGN_IN_FAILED, "198.51.100.23"),  # the right-most hop, not the spoofed left
        (Action.SIGN_IN, "198.51.100.23"),
    ]
    assert rows[0].actor == "sworker" and rows[0].detail == "wrong sign-in id or password"


async def test_a_failed_sign_in_is_audited_under_the_id_typed(
    http: httpx.AsyncClient, web_settings: Settings
) -> None:
    await post_sign_in(http, "No.Such.Person", "whatever it was")
    rows = audit_rows(web_settings, "no.such.person")
    assert [(e.action, e.outcome) for e in rows] == [(Action.SIGN_IN_FAILED, Outcome.REFUSED)]


async def test_junk_cookies_are_counted_not_each_audited(web_settings: Settings) -> None:
    """Anyone can send any number of made-up cookies: each is counted, and the audit trail
    has at most the first of a window, so it cannot be flooded."""

    def unknown_rows() -> int:
        return sum(
            e.action == Action.SESSION_REFUSED and e.detail == "unknown session"
            for e in audit_rows(web_settings)
        )

    before = unknown_rows()
    app = create_app(web_settings, no_temporal)
    transport = httpx.ASGITransport(app=app, client=(PEER, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for n in range(50):
            http.cookies.set(COOKIE, f"junk-{n}-" + "x" * 30)
            assert goes_to_sign_in(await http.get("/waiting"))
    assert unknown_rows() - before <= 1
    registry = app.state.metrics.registry
    assert registry.get_sample_value("icpc_web_unknown_sessions_total") == 50
