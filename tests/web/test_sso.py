"""Single sign-on with OpenID Connect, end to end against a real provider on loopback: the
``oidc-provider-mock`` package (an Authlib authorization server in Flask), served by werkzeug on
127.0.0.1 in a thread, and the web form served by uvicorn on another loopback port. Every step
is a real HTTP request: the browser's (here httpx, which follows no redirect by itself) to
both, and the form's own to the provider (discovery, keys, the code exchange).

Also the authenticating-proxy mode, which looks every person up in the people table.

Every name here is invented.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import oidc_provider_mock  # type: ignore[import-untyped]
import pytest
import werkzeug.serving
from itsdangerous import URLSafeTimedSerializer
from temporalio.client import Client

from records.audit import Action, AuditEntry, AuditLog, Outcome
from records.database import make_engine
from records.people import PeopleStore
from records.sessions import SessionStore
from tests.conftest import free_port
from tests.web.web_helpers import PASSWORD, add_person, csrf_token, serve_on_loopback, settings_for
from web.app import create_app
from web.auth import COOKIE, SIGNIN_COOKIE
from web.oidc_settings import Access, OidcSettings
from web.settings import Settings

NIA = "nia.patel@council.example"  # her sign-in id: her user principal name at the council
ORGANISATION = "Example Council"
CLIENT_ID = "icpc-web-test"

# The mock provider (not the form) calls an Authlib hook Authlib has deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


async def no_temporal() -> Client:
    raise ConnectionError("no case service in these tests")


# --- the provider and the form, each on a loopback port ------------------------------------


@contextlib.contextmanager
def provider_server() -> Iterator[str]:
    """The mock OpenID provider on 127.0.0.1; it insists on a nonce, as Entra does."""
    app = oidc_provider_mock.app(require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def provider() -> Iterator[str]:
    with provider_server() as base:
        yield base


@contextlib.contextmanager
def form_server(settings: Settings, port: int) -> Iterator[str]:
    """The web form under uvicorn on 127.0.0.1:``port``."""
    app = create_app(settings, no_temporal)
    with serve_on_loopback(app, port, "uvicorn-sso") as base:
        yield base


def sso_settings(tmp_path: Path, provider: str, port: int, **oidc: Any) -> Settings:
    """The form's settings with single sign-on through ``provider``, and Nia in its people
    (no password: single sign-on only)."""
    values: dict[str, Any] = {
        "issuer": provider,
        "client_id": CLIENT_ID,
        "client_secret": "a-secret-the-mock-accepts",
        "redirect_url": f"http://127.0.0.1:{port}/sign-in/oidc/callback",
        "organisation": ORGANISATION,
    }
    values.update(oidc)
    settings = settings_for(tmp_path, signin_delay=0.0, oidc=OidcSettings(**values))
    add_person(settings, NIA, ["team_manager"], None, "Nia Patel", teams=["north-1"])
    return settings


@dataclass
class Sso:
    """A provider and a form that signs in through it."""

    provider: str
    form: str
    settings: Settings

    def user(self, sub: str, **claims: object) -> None:
        """What the provider says about ``sub`` (its ID token carries these claims)."""
        answer = httpx.put(f"{self.provider}/users/{sub}", json=claims)
        assert answer.status_code == 204, answer.text

    def people(self) -> PeopleStore:
        return PeopleStore(make_engine(self.settings.people_url))

    def live_sessions(self, person: str) -> int:
        engine = make_engine(self.settings.people_url)
        try:
            store = SessionStore(engine, lifetime=timedelta(hours=8), idle=timedelta(minutes=30))
            return store.live_count(person)
        finally:
            engine.dispose()

    def audit(self, person: str | None = None) -> list[AuditEntry]:
        engine = make_engine(self.settings.people_url)
        try:
            return list(reversed(AuditLog(engine).read(actor=person)))
        finally:
            engine.dispose()


@contextlib.contextmanager
def sso_running(tmp_path: Path, provider: str, **oidc: Any) -> Iterator[Sso]:
    port = free_port()
    settings = sso_settings(tmp_path, provider, port, **oidc)
    with form_server(settings, port) as form:
        yield Sso(provider, form, settings)


@pytest.fixture
def sso(tmp_path: Path, provider: str) -> Iterator[Sso]:
    with sso_running(tmp_path, provider) as running:
        running.user("nia-subject-1", preferred_username="Nia.Patel@council.example")
        yield running


@pytest.fixture
async def browser_http() -> AsyncIterator[httpx.AsyncClient]:
    """A browser's cookie jar over real HTTP, following no redirect by itself."""
    async with httpx.AsyncClient(timeout=20) as http:
        yield http


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Journey:
    authorize: str  # the provider's authorization URL the form sent the browser to
    callback: str  # where the provider sent the browser back
    answer: httpx.Response  # the form's answer to the callback


async def through_provider(
    http: httpx.AsyncClient,
    sso: Sso,
    sub: str,
    *,
    next_page: str = "/waiting",
    nonce: str | None = None,
    state: str | None = None,
) -> Journey:
    """Sign in as ``sub`` at the provider, as a browser would; ``nonce`` and ``state`` tamper
    with the authorization request and the callback."""
    start = await http.get(f"{sso.form}/sign-in/oidc", params={"next": next_page})
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(f"{sso.provider}/oauth2/authorize?")
    if nonce is not None:
        authorize = with_query(authorize, nonce=nonce)
    page = await http.get(authorize)
    assert page.status_code == 200 and "Authorize" in page.text
    granted = await http.post(authorize, data={"sub": sub})
    assert granted.status_code == 302, granted.text
    callback = granted.headers["location"]
    assert callback.startswith(f"{sso.form}/sign-in/oidc/callback?")
    if state is not None:
        callback = with_query(callback, state=state)
    return Journey(authorize, callback, await http.get(callback))


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    found: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return found


def goes_to_sign_in(response: httpx.Response) -> bool:
    return response.status_code == 303 and "/sign-in" in response.headers["location"]


# --- signing in ---------------------------------------------------------------------------------


async def test_signing_in_through_the_provider_starts_a_session_for_the_linked_person(
    sso: Sso, browser_http: httpx.AsyncClient
) -> None:
    sign_in = await browser_http.get(f"{sso.form}/sign-in")
    assert f"Sign in with {ORGANISATION}" in sign_in.text
    assert 'for="f-password"' in sign_in.text  # local passwords stay unless hidden

    journey = await through_provider(browser_http, sso, "nia-subject-1", next_page="/cases")
    # Authorization Code with PKCE, a state and a nonce.
    asked = query_of(journey.authorize)
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32
    assert set(asked["scope"].split()) == {"openid", "profile", "email"}
    assert "code_verifier" not in journey.authorize
    assert journey.answer.status_code == 303
    assert journey.answer.headers["location"] == "/cases"

    # The same server-side session a password sign-in starts: an opaque id in the cookie.
    assert COOKIE in browser_http.cookies
    page = await browser_http.get(f"{sso.form}/waiting")
    assert page.status_code == 200
    assert "Signed in as Nia Patel (team manager)" in page.text
    people = sso.people()
    assert people.find_by_oidc_subject(f"{sso.provider}|nia-subject-1") == people.get(NIA)
    assert sso.live_sessions(NIA) == 1

    # (less the case list her sign-in lands on: every list read is audited, test_list_audit)
    rows = [r for r in sso.audit(NIA) if r.action is not Action.LIST_CASES]
    assert [(r.action, r.outcome) for r in rows] == [
        (Action.ACCOUNT_CHANGE, Outcome.OK),  # linked on her first sign-in
        (Action.SIGN_IN, Outcome.OK),
    ]
    assert "matched by preferred_username" in rows[0].detail
    assert rows[1].detail == "single sign-on" and rows[1].address == "127.0.0.1"

    # Later, she is found by her subject at the provider, whatever her name there says now.
    sso.user("nia-subject-1", preferred_username="nia.renamed@council.example")
    async with httpx.AsyncClient(timeout=20) as other:
        again = await through_provider(other, sso, "nia-subject-1")
        assert again.answer.status_code == 303
        page = await other.get(f"{sso.form}/waiting")
        assert "Signed in as Nia Patel" in page.text
    assert [r.action for r in sso.audit(NIA) if r.action is not Action.LIST_CASES][-1] is (
        Action.SIGN_IN
    )


async def test_a_person_the_form_does_not_know_is_refused_and_audited(
    sso: Sso, browser_http: httpx.AsyncClient
) -> None:
    sso.user("stranger-subject", preferred_username="stranger@council.example")
    journey = await through_provider(browser_http, sso, "stranger-subject")
    assert journey.answer.status_code == 403
    assert "You do not have an account for this form" in journey.answer.text
    assert "stranger@council.example" in journey.answer.text
    assert COOKIE not in browser_http.cookies
    assert goes_to_sign_in(await browser_http.get(f"{sso.form}/waiting"))
    [row] = sso.audit("stranger@council.example")
    assert (row.action, row.outcome) == (Action.SIGN_IN_FAILED, Outcome.REFUSED)
    assert row.detail == "single sign-on: no person for preferred_username"

    # Someone whose name at the provider matches an account already linked to another
    # identity does not take it over.
    async with httpx.AsyncClient(timeout=20) as nia:
        assert (await through_provider(nia, sso, "nia-subject-1")).answer.status_code == 303
    sso.user("impostor-subject", preferred_username=NIA)
    taken = await through_provider(browser_http, sso, "impostor-subject")
    assert taken.answer.status_code == 403
    assert "linked to another sign-on identity" in taken.answer.text
    assert sso.audit(NIA)[-1].detail == (
        "single sign-on: the person is linked to another sign-on identity"
    )


async def test_a_disabled_person_is_refused_whether_linked_or_not(
    sso: Sso, browser_http: httpx.AsyncClient
) -> None:
    add_person(sso.settings, "ola.off@council.example", ["social_worker"], None, "Ola Off")
    sso.people().disable("ola.off@council.example")
    sso.user("ola-subject", preferred_username="ola.off@council.example")
    first = await through_provider(browser_http, sso, "ola-subject")
    assert first.answer.status_code == 403
    assert "This account is disabled" in first.answer.text
    assert sso.people().find_by_oidc_subject(f"{sso.provider}|ola-subject") is None

    # Nia signs in once (and is linked), is disabled, and is refused on her next sign-in.
    async with httpx.AsyncClient(timeout=20) as nia:
        assert (await through_provider(nia, sso, "nia-subject-1")).answer.status_code == 303
        sso.people().disable(NIA)
        assert goes_to_sign_in(await nia.get(f"{sso.form}/waiting"))  # her session too
    again = await through_provider(browser_http, sso, "nia-subject-1")
    assert again.answer.status_code == 403
    assert "This account is disabled" in again.answer.text
    assert COOKIE not in browser_http.cookies
    for person in ("ola.off@council.example", NIA):
        last = sso.audit(person)[-1]
        assert (last.action, last.detail) == (
            Action.SIGN_IN_FAILED,
            "single sign-on: account disabled",
        )


async def test_a_tampered_state_is_refused_and_the_callback_works_only_once(
    sso: Sso, browser_http: httpx.AsyncClient
) -> None:
    journey = await through_provider(browser_http, sso, "nia-subject-1", state="forged-state")
    assert journey.answer.status_code == 400
    assert "Signing in did not complete" in journey.answer.text
    assert COOKIE not in browser_http.cookies
    # The genuine callback, replayed after: the flow was used up by the first answer.
    genuine = with_query(journey.callback, state=query_of(journey.authorize)["state"])
    replayed = await browser_http.get(genuine)
    assert replayed.status_code == 400
    assert goes_to_sign_in(await browser_http.get(f"{sso.form}/waiting"))
    details = [r.detail for r in sso.audit() if r.action is Action.SIGN_IN_FAILED]
    assert details == [
        "single sign-on: the state did not match",
        "single sign-on: no sign-in was under way in this browser",
    ]
    # A callback in another browser (no flow of its own) is refused as well.
    async with httpx.AsyncClient(timeout=20) as other:
        assert (await other.get(genuine)).status_code == 400


async def test_a_tampered_nonce_is_refused(sso: Sso, browser_http: httpx.AsyncClient) -> None:
    journey = await through_provider(browser_http, sso, "nia-subject-1", nonce="replayed-nonce")
    assert journey.answer.status_code == 400
    assert COOKIE not in browser_http.cookies
    [row] = [r for r in sso.audit() if r.action is Action.SIGN_IN_FAILED]
    assert row.detail.startswith("single sign-on: ID token refused") and "nonce" in row.detail


async def test_the_provider_refusing_is_a_plain_page(
    sso: Sso, browser_http: httpx.AsyncClient
) -> None:
    start = await browser_http.get(f"{sso.form}/sign-in/oidc")
    denied = await browser_http.post(start.headers["location"], data={"action": "deny"})
    assert denied.status_code == 302
    answer = await browser_http.get(denied.headers["location"])
    assert answer.status_code == 400 and "Signing in did not complete" in answer.text
    assert sso.audit()[-1].detail == "single sign-on: the provider answered access_denied"


# --- signing out --------------------------------------------------------------------------------


async def test_signing_out_ends_the_session_and_goes_on_to_the_providers_logout(
    sso: Sso, browser_http: httpx.AsyncClient
) -> None:
    journey = await through_provider(browser_http, sso, "nia-subject-1")
    assert journey.answer.status_code == 303
    saved = browser_http.cookies[COOKIE]
    page = await browser_http.get(f"{sso.form}/waiting")
    # The sign-out form may lead on to the provider (Content-Security-Policy form-action).
    assert f"form-action 'self' {sso.provider};" in page.headers["content-security-policy"]

    out = await browser_http.post(
        f"{sso.form}/sign-out", data={"csrf_token": csrf_token(page.text)}
    )
    assert out.status_code == 303
    logout = out.headers["location"]
    assert logout.startswith(f"{sso.provider}/oauth2/end_session?")
    asked = query_of(logout)
    assert asked["post_logout_redirect_uri"] == f"{sso.form}/sign-in"
    assert asked["client_id"] == CLIENT_ID
    hint = jwt_claims(asked["id_token_hint"])
    assert (hint["iss"], hint["sub"]) == (sso.provider, "nia-subject-1")
    assert CLIENT_ID in hint["aud"]

    # The provider's end-session page, then back to the form's sign-in page.
    confirm = await browser_http.get(logout)
    assert confirm.status_code == 200 and "End session" in confirm.text
    back = await browser_http.post(
        f"{sso.provider}/oauth2/end_session/confirm",
        data={"redirect_uri": asked["post_logout_redirect_uri"]},
    )
    assert back.status_code == 302 and back.headers["location"] == f"{sso.form}/sign-in"
    assert (await browser_http.get(back.headers["location"])).status_code == 200

    # The old cookie, replayed, signs nobody in.
    async with httpx.AsyncClient(timeout=20, cookies={COOKIE: saved}) as replay:
        assert goes_to_sign_in(await replay.get(f"{sso.form}/waiting"))
    actions = [(r.action, r.detail) for r in sso.audit(NIA)]
    assert actions[-2:] == [(Action.SIGN_OUT, ""), (Action.SESSION_REFUSED, "session ended")]


async def test_a_provider_without_an_end_session_endpoint_signs_out_here_only(
    tmp_path: Path, browser_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with provider_server() as provider, sso_running(tmp_path, provider) as sso:
        sso.user("nia-subject-1", preferred_username=NIA)
        assert (
            await through_provider(browser_http, sso, "nia-subject-1")
        ).answer.status_code == 303
        page = await browser_http.get(f"{sso.form}/waiting")
        # Forget the endpoint the provider advertised, as if it had none.
        import web.oidc_provider

        original = web.oidc_provider.OidcClient.metadata

        async def without_logout(self: web.oidc_provider.OidcClient) -> dict[str, Any]:
            found = dict(await original(self))
            found.pop("end_session_endpoint", None)
            self._metadata = web.oidc_provider._Cached(found, time.monotonic())
            return found

        monkeypatch.setattr(web.oidc_provider.OidcClient, "metadata", without_logout)
        out = await browser_http.post(
            f"{sso.form}/sign-out", data={"csrf_token": csrf_token(page.text)}
        )
        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
        assert goes_to_sign_in(await browser_http.get(f"{sso.form}/waiting"))


# --- what the sign-in page offers, and roles from claims ---------------------------------------


async def test_local_sign_in_can_be_hidden_when_single_sign_on_is_on(
    tmp_path: Path, provider: str, browser_http: httpx.AsyncClient
) -> None:
    with sso_running(tmp_path, provider, hide_local_signin=True) as sso:
        page = await browser_http.get(f"{sso.form}/sign-in?next=/cases")
        assert page.status_code == 200
        assert f"Sign in with {ORGANISATION}" in page.text
        assert 'href="/sign-in/oidc?next=/cases"' in page.text
        assert 'for="f-password"' not in page.text
        # A local password is refused even when right (with the form's own CSRF token).
        signin_cookie = URLSafeTimedSerializer(sso.settings.secret, salt="icpc-web-signin")
        token = signin_cookie.loads(browser_http.cookies[SIGNIN_COOKIE])["csrf"]
        refused = await browser_http.post(
            f"{sso.form}/sign-in",
            data={"user": "tess.manager", "password": PASSWORD, "csrf_token": token},
        )
        assert refused.status_code == 400 and "single sign-on only" in refused.text
        assert COOKIE not in browser_http.cookies


async def test_roles_and_teams_can_come_from_the_tokens_claims(
    tmp_path: Path, provider: str, browser_http: httpx.AsyncClient
) -> None:
    with sso_running(
        tmp_path,
        provider,
        access=Access.CLAIMS,
        teams_claim="icpc_teams",
        role_map=(("0b6e-group-object-id", "cp_conference_service"),),
    ) as sso:
        sso.user(
            "nia-subject-1",
            preferred_username=NIA,
            roles=["area_head_of_service", "made_up_role", "0b6e-group-object-id"],
            icpc_teams=["north-2", "not a team!"],
        )
        assert (
            await through_provider(browser_http, sso, "nia-subject-1")
        ).answer.status_code == 303
        nia = sso.people().get(NIA)
        assert nia is not None
        assert nia.roles == {"area_head_of_service", "cp_conference_service"}
        assert nia.teams == {"north-2"}
        change = [r for r in sso.audit(NIA) if r.action is Action.ACCOUNT_CHANGE][-1]
        assert change.detail == (
            "from single sign-on claims: roles area_head_of_service, cp_conference_service;"
            " teams north-2; areas none"
        )

        # No role the form knows: refused, and her roles are left as they were.
        sso.user("nia-subject-1", preferred_username=NIA, roles=["made_up_role"])
        async with httpx.AsyncClient(timeout=20) as other:
            refused = await through_provider(other, sso, "nia-subject-1")
        assert refused.answer.status_code == 403
        assert "You have no role in this form" in refused.answer.text
        assert sso.audit(NIA)[-1].detail == "single sign-on: no known role in the roles claim"


# --- the authenticating proxy ---------------------------------------------------------------------


@pytest.fixture
def proxied(tmp_path: Path) -> Settings:
    settings = settings_for(tmp_path, trust_proxy_headers=True)
    add_person(settings, "pat.proxy", ["team_manager"], None, "Pat Proxy", teams=["north-1"])
    add_person(settings, "dee.disabled", ["team_manager"], None, "Dee Disabled")
    PeopleStore(make_engine(settings.people_url)).disable("dee.disabled")
    return settings


def asgi(settings: Settings) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings, no_temporal), client=("192.0.2.9", 1))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def audit_of(settings: Settings, person: str) -> list[AuditEntry]:
    engine = make_engine(settings.people_url)
    try:
        return list(reversed(AuditLog(engine).read(actor=person)))
    finally:
        engine.dispose()


async def test_the_proxy_mode_refuses_an_unknown_or_disabled_person(proxied: Settings) -> None:
    async with asgi(proxied) as http:
        for who, title in (
            ("someone.else", "You do not have an account for this form"),
            ("dee.disabled", "Your account is disabled"),
            ("no such id!", "You do not have an account for this form"),
        ):
            page = await http.get(
                "/waiting", headers={"X-Remote-User": who, "X-Remote-Role": "team_manager"}
            )
            assert page.status_code == 403, who
            assert title in page.text
            [row] = audit_of(proxied, who)
            assert (row.action, row.outcome, row.address) == (
                Action.SESSION_REFUSED,
                Outcome.REFUSED,
                "192.0.2.9",
            )
            assert row.detail.startswith("proxy headers: ")


async def test_the_proxy_mode_takes_roles_from_the_people_table(proxied: Settings) -> None:
    claims_admin = {"X-Remote-User": "Pat.Proxy", "X-Remote-Role": "admin"}
    async with asgi(proxied) as http:
        page = await http.get("/waiting", headers=claims_admin)
        assert page.status_code == 200
        assert "Signed in as Pat Proxy (team manager)" in page.text
        assert (await http.get("/accounts", headers=claims_admin)).status_code == 403

    # Only when the setting says so do the header's roles count (known role ids only).
    from_header = replace(proxied, proxy_roles_from_header=True)
    async with asgi(from_header) as http:
        page = await http.get(
            "/waiting", headers={"X-Remote-User": "pat.proxy", "X-Remote-Role": "social_worker"}
        )
        assert "Signed in as Pat Proxy (social worker)" in page.text
        refused = await http.get(
            "/waiting", headers={"X-Remote-User": "pat.proxy", "X-Remote-Role": "made_up_role"}
        )
        assert refused.status_code == 403 and "You have no role in this form" in refused.text
        assert audit_of(proxied, "pat.proxy")[-1].detail == "proxy headers: no known role"


async def test_a_provider_that_cannot_be_reached_is_a_plain_page(
    tmp_path: Path, browser_http: httpx.AsyncClient
) -> None:
    with sso_running(tmp_path, f"http://127.0.0.1:{free_port()}") as sso:
        page = await browser_http.get(f"{sso.form}/sign-in/oidc")
        assert page.status_code == 503
        assert f"The form cannot reach {ORGANISATION}&#39;s sign-in service" in page.text
        # Local sign-in still works meanwhile.
        sign_in = await browser_http.get(f"{sso.form}/sign-in")
        signed = await browser_http.post(
            f"{sso.form}/sign-in",
            data={
                "user": "tess.manager",
                "password": PASSWORD,
                "csrf_token": csrf_token(sign_in.text),
            },
        )
        assert signed.status_code == 303 and COOKIE in browser_http.cookies
