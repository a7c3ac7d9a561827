"""The Accounts pages, for the admin role, over HTTP against the app: list, add (a common
password refused with the same sentence as the command line's), change roles and teams,
disable and enable, set a temporary password, unlock; each change audited, each taking effect
on the person's very next request. Without the admin role, nothing here opens or changes.

Every name here is invented.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from domain.passwords import TOO_COMMON
from domain.wording import capitalised
from records.audit import Action, Outcome
from records.database import make_engine
from records.people import PeopleStore
from tests.web.conftest import PASSWORD
from tests.web.test_sessions import audit_rows, goes_to_sign_in, http_for
from tests.web.web_helpers import add_person, change_password, csrf_token, post_sign_in, sign_in
from web.settings import Settings

NEW_PASSWORD = "plum tractor umbrella"


@pytest.fixture
def settings(web_settings: Settings) -> Settings:
    add_person(web_settings, "ada.admin", ["admin"], PASSWORD, "Ada Admin")
    return web_settings


@pytest.fixture
async def admin(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with http_for(settings) as http:
        assert (await post_sign_in(http, "ada.admin", PASSWORD)).status_code == 303
        yield http


def people(settings: Settings) -> PeopleStore:
    return PeopleStore(make_engine(settings.people_url))


async def post(
    http: httpx.AsyncClient, path: str, data: dict[str, str | list[str]]
) -> httpx.Response:
    token = csrf_token((await http.get("/accounts")).text)
    return await http.post(path, data={"csrf_token": token, **data})


def problem_text(response: httpx.Response) -> str:
    found = re.search(r'<div class="govuk-error-summary__body">(.*?)</div>', response.text, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else ""


async def test_only_an_admin_sees_or_changes_accounts(settings: Settings) -> None:
    async with http_for(settings) as http:
        assert goes_to_sign_in(await http.get("/accounts"))
        await post_sign_in(http, "tmanager", PASSWORD)
        page = await http.get("/waiting")
        assert 'href="/accounts"' not in page.text
        for path in ("/accounts", "/accounts/new", "/accounts/hos"):
            refused = await http.get(path)
            assert refused.status_code == 403, path
            assert "Only an account administrator" in refused.text
        token = csrf_token(page.text)
        crafted = await http.post(
            "/accounts/hos/details",
            data={"csrf_token": token, "roles": "admin", "name": "Pwned"},
        )
        assert crafted.status_code == 403
        crafted = await http.post("/accounts/tmanager/status", data={"csrf_token": token})
        assert crafted.status_code == 403
    hos = people(settings).get("hos")
    assert hos is not None and hos.roles == {"area_head_of_service"} and hos.name != "Pwned"


async def test_the_list_shows_everyone_with_roles_and_status(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    people(settings).disable("sworker")
    page = await admin.get("/accounts")
    assert page.status_code == 200
    table = page.text.split('data-testid="accounts"', 1)[1]
    for person_id in ("ada.admin", "hos", "sworker", "tmanager"):
        assert f'href="/accounts/{person_id}"' in table
    sworker_row = table.split('href="/accounts/sworker"', 1)[1].split("</tr>", 1)[0]
    assert "Disabled" in sworker_row and "social_worker" in sworker_row
    assert 'href="/accounts"' in page.text  # the admin's menu has it


async def test_adding_an_account_refuses_a_common_password_then_signs_them_in(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    values: dict[str, str | list[str]] = {
        "person_id": "Nia.New",
        "name": "Nia New",
        "email": "nia@example.org",
        "roles": ["team_manager", "social_worker"],
        "teams": "north-1, north-2",
        "areas": "",
        "password": "Password123",
    }
    refused = await post(admin, "/accounts/new", values)
    assert refused.status_code == 400
    assert capitalised(TOO_COMMON) in problem_text(refused)
    assert 'value="Nia New"' in refused.text  # what was typed comes back (not the password)
    assert "Password123" not in refused.text
    assert people(settings).get("nia.new") is None

    added = await post(admin, "/accounts/new", {**values, "password": NEW_PASSWORD})
    assert added.status_code == 303 and added.headers["location"] == "/accounts/nia.new"
    page = await admin.get(added.headers["location"])
    assert "Account nia.new added." in page.text
    person = people(settings).get("nia.new")
    assert person is not None
    assert person.roles == {"team_manager", "social_worker"}
    assert person.teams == {"north-1", "north-2"} and person.email == "nia@example.org"

    async with http_for(settings) as nia:
        signed_in = await post_sign_in(nia, "nia.new", NEW_PASSWORD)
        assert signed_in.headers["location"] == "/change-password"  # the password is temporary
        assert (await change_password(nia, NEW_PASSWORD, "her own chosen words")).status_code == 303
        shown = (await nia.get("/waiting")).text
        assert "Signed in as Nia New (social worker, team manager)" in shown

    changes = [e for e in audit_rows(settings, "nia.new") if e.action == Action.ACCOUNT_CHANGE]
    assert [(e.outcome, e.actor) for e in changes] == [
        (Outcome.REFUSED, "ada.admin"),
        (Outcome.OK, "ada.admin"),
        (Outcome.OK, "nia.new"),
    ]
    assert TOO_COMMON in changes[0].detail and changes[1].detail.startswith("added with roles")


async def test_a_role_and_team_change_takes_effect_on_the_next_request(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    async with http_for(settings) as tess:
        await post_sign_in(tess, "tmanager", PASSWORD)
        assert "(team manager)" in (await tess.get("/waiting")).text
        changed = await post(
            admin,
            "/accounts/tmanager/details",
            {
                "name": "Tess Moved",
                "email": "",
                "roles": ["area_head_of_service"],
                "teams": "",
                "areas": "south",
            },
        )
        assert changed.status_code == 303
        page = (await tess.get("/waiting")).text
        assert "Signed in as Tess Moved (area head of service)" in page
    person = people(settings).get("tmanager")
    assert person is not None and person.areas == {"south"} and not person.teams
    change = [e for e in audit_rows(settings, "tmanager") if e.action == Action.ACCOUNT_CHANGE]
    assert change[-1].detail.startswith("roles team_manager -> area_head_of_service")


async def test_disabling_signs_them_out_at_once_and_enabling_lets_them_back(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    async with http_for(settings) as hal:
        await post_sign_in(hal, "hos", PASSWORD)
        assert (await hal.get("/waiting")).status_code == 200
        assert (await post(admin, "/accounts/hos/status", {"action": "disable"})).status_code == 303
        assert goes_to_sign_in(await hal.get("/waiting"))
        assert (await post_sign_in(hal, "hos", PASSWORD)).status_code == 403
        assert "Disabled" in (await admin.get("/accounts/hos")).text
        assert (await post(admin, "/accounts/hos/status", {"action": "enable"})).status_code == 303
        assert (await post_sign_in(hal, "hos", PASSWORD)).status_code == 303
    details = [e.detail for e in audit_rows(settings, "hos") if e.action == Action.ACCOUNT_CHANGE]
    assert details == ["disabled", "enabled"]


async def test_an_admin_cannot_lock_themself_out(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    refused = await post(admin, "/accounts/ada.admin/status", {"action": "disable"})
    assert refused.status_code == 400
    assert "You cannot disable your own account" in refused.text
    refused = await post(
        admin, "/accounts/ada.admin/details", {"name": "Ada", "roles": ["team_manager"]}
    )
    assert refused.status_code == 400
    assert "You cannot change your own roles" in refused.text
    me = people(settings).get("ada.admin")
    assert me is not None and me.active and me.roles == {"admin"}


async def test_an_admin_cannot_give_themself_case_roles_or_scope(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    """Keeping the admin role and adding a case role was accepted before: now another
    administrator must make the change."""
    # She is service-wide (web_helpers.add_person), as the form posts it back.
    same: dict[str, str | list[str]] = {"name": "Ada Admin", "service_wide": "yes"}
    mine = {**same, "roles": ["admin", "area_head_of_service"]}
    refused = await post(admin, "/accounts/ada.admin/details", mine)
    assert refused.status_code == 400
    assert "You cannot change your own roles: ask another administrator" in problem_text(refused)
    scope = {**same, "roles": ["admin"], "areas": "north"}
    refused = await post(admin, "/accounts/ada.admin/details", scope)
    assert refused.status_code == 400 and "your own teams, areas" in problem_text(refused)
    renamed = {**same, "name": "Ada A", "roles": ["admin"]}
    assert (await post(admin, "/accounts/ada.admin/details", renamed)).status_code == 303
    me = people(settings).get("ada.admin")
    assert me is not None and me.roles == {"admin"} and not me.areas and me.name == "Ada A"
    refusals = [
        e.detail
        for e in audit_rows(settings, "ada.admin")
        if e.action == Action.ACCOUNT_CHANGE and e.outcome == Outcome.REFUSED
    ]
    assert len(refusals) == 2 and all(d.startswith("change refused: You cannot") for d in refusals)

    add_person(settings, "bo.admin", ["admin"], PASSWORD, "Bo Admin")
    async with http_for(settings) as other:
        await sign_in(other, "bo.admin", PASSWORD)
        accepted = await post(other, "/accounts/ada.admin/details", mine)
        assert accepted.status_code == 303  # another administrator may
    me = people(settings).get("ada.admin")
    assert me is not None and me.roles == {"admin", "area_head_of_service"}


async def test_a_temporary_password_ends_their_sessions_and_replaces_the_old_one(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    async with http_for(settings) as sam:
        await post_sign_in(sam, "sworker", PASSWORD)
        common = await post(admin, "/accounts/sworker/password", {"password": "qwertyuiop"})
        assert common.status_code == 400 and capitalised(TOO_COMMON) in problem_text(common)
        assert (await sam.get("/waiting")).status_code == 200  # nothing changed yet
        reset = await post(admin, "/accounts/sworker/password", {"password": NEW_PASSWORD})
        assert reset.status_code == 303
        assert goes_to_sign_in(await sam.get("/waiting"))
        assert (await post_sign_in(sam, "sworker", PASSWORD)).status_code == 400
        signed_in = await post_sign_in(sam, "sworker", NEW_PASSWORD)
        assert signed_in.headers["location"] == "/change-password"
    details = [
        e.detail for e in audit_rows(settings, "sworker") if e.action == Action.ACCOUNT_CHANGE
    ]
    assert details[-1] == "password reset by an administrator"


async def test_an_admin_unlocks_a_locked_sign_in_id(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    unslowed = Settings(**{**settings.__dict__, "signin_delay": 0.0})  # the lock is the test
    async with http_for(unslowed) as guesser:
        for _ in range(10):
            await post_sign_in(guesser, "hos", "not the password at all")
        locked = await post_sign_in(guesser, "hos", PASSWORD)
        assert locked.status_code == 429
        assert (
            "Try again after" in locked.text and "ask an administrator to unlock it" in locked.text
        )

        listing = await admin.get("/accounts")
        locks = listing.text.split('data-testid="locks"', 1)[1]
        assert "Sign-in id hos" in locks
        assert "Locked after failed sign-ins" in (await admin.get("/accounts/hos")).text
        unlocked = await post(admin, "/accounts/hos/unlock", {})
        assert unlocked.status_code == 303
        assert "No sign-in id or address is locked." in (await admin.get("/accounts")).text
        assert (await post_sign_in(guesser, "hos", PASSWORD)).status_code == 303
    actions = [(e.action, e.detail) for e in audit_rows(settings, "hos")]
    assert sum(a == Action.SIGN_IN_FAILED for a, _ in actions) == 11
    assert (Action.ACCOUNT_CHANGE, "sign-in unlocked") in actions
    assert any(a == Action.LOCKOUT for a, _ in actions)


async def test_account_changes_need_the_forms_csrf_token(
    admin: httpx.AsyncClient, settings: Settings
) -> None:
    response = await admin.post("/accounts/hos/status", data={"action": "disable"})
    assert response.status_code == 403 and "This form has expired" in response.text
    hos = people(settings).get("hos")
    assert hos is not None and hos.active


async def test_an_unknown_account_is_a_plain_404(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/accounts/nobody.here")
    assert response.status_code == 404 and "Account not found" in response.text
