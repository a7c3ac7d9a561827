"""A temporary password (set by someone else) is changed at the first sign-in: the person is
taken to "Change your password" and every other page sends them back there, the API refuses
their session (403), and their person token still works; once they choose their own, the form
is theirs. Every name here is invented."""

from __future__ import annotations

from domain.passwords import TOO_COMMON
from records.audit import Action, Outcome
from records.database import make_engine
from records.people import PeopleStore
from tests.web.conftest import PASSWORD
from tests.web.test_sessions import audit_rows, http_for
from tests.web.web_helpers import add_person, change_password, csrf_token, post_sign_in
from web.settings import Settings

TEMPORARY = "given over the phone"
CHOSEN = "marble kettle orchard"


def store(settings: Settings) -> PeopleStore:
    return PeopleStore(make_engine(settings.people_url))


async def test_a_temporary_password_is_changed_before_anything_else(
    web_settings: Settings,
) -> None:
    add_person(
        web_settings, "tara.temp", "team_manager", TEMPORARY, "Tara Temp",
        password_must_change=True,
    )  # fmt: skip
    token = store(web_settings).issue_token("tara.temp", label="test")
    async with http_for(web_settings) as tara:
        signed_in = await post_sign_in(tara, "tara.temp", TEMPORARY)
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/change-password"
        for path in ("/waiting", "/cases", "/accounts", "/procedures", "/reports"):
            moved = await tara.get(path)
            assert moved.status_code == 303, path
            assert moved.headers["location"] == "/change-password", path
        page = await tara.get("/change-password")
        assert page.status_code == 200 and "Change your password" in page.text
        assert "set by an administrator" in page.text
        # The API refuses the session until then; the token an administrator issued works.
        refused = await tara.get("/api/v1/me")
        assert refused.status_code == 403
        assert refused.json()["title"] == "Change your password first"
        by_token = await tara.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert by_token.status_code == 200

        wrong = await change_password(tara, "not my password", CHOSEN)
        assert wrong.status_code == 400 and "Your current password is not right" in wrong.text
        same = await change_password(tara, TEMPORARY, TEMPORARY)
        assert same.status_code == 400 and "different from your current one" in same.text
        common = await change_password(tara, TEMPORARY, "qwertyuiop")
        assert common.status_code == 400 and TOO_COMMON.split(":")[0] in common.text.lower()
        page = await tara.get("/change-password")
        mismatch = await tara.post(
            "/change-password",
            data={
                "current_password": TEMPORARY,
                "password": CHOSEN,
                "password_again": CHOSEN + "x",
                "csrf_token": csrf_token(page.text),
            },
        )
        assert mismatch.status_code == 400 and "The passwords do not match" in mismatch.text
        assert (await tara.get("/waiting")).status_code == 303  # still nothing else

        changed = await change_password(tara, TEMPORARY, CHOSEN)
        assert changed.status_code == 303
        assert "Your password is changed." in (await tara.get("/change-password")).text
        assert (await tara.get("/waiting")).status_code == 200
        assert (await tara.get("/api/v1/me")).status_code == 200
    person = store(web_settings).get("tara.temp")
    assert person is not None and not person.password_must_change
    async with http_for(web_settings) as again:
        assert (await post_sign_in(again, "tara.temp", TEMPORARY)).status_code == 400
        signed_in = await post_sign_in(again, "tara.temp", CHOSEN)
        assert signed_in.headers["location"] == "/waiting"
    rows = [e for e in audit_rows(web_settings, "tara.temp") if e.action == Action.ACCOUNT_CHANGE]
    assert [(e.outcome, e.actor) for e in rows][-1] == (Outcome.OK, "tara.temp")
    assert rows[-1].detail == "password changed by the person"
    assert sum(e.outcome == Outcome.REFUSED for e in rows) == 3  # wrong, same, common


async def test_a_password_of_their_own_goes_straight_in(web_settings: Settings) -> None:
    add_person(web_settings, "owen.own", "team_manager", PASSWORD, "Owen Own")
    async with http_for(web_settings) as owen:
        signed_in = await post_sign_in(owen, "owen.own", PASSWORD)
        assert signed_in.headers["location"] == "/waiting"
        assert (await owen.get("/waiting")).status_code == 200
        # The page is there for anyone with a password, when they want it.
        changed = await change_password(owen, PASSWORD, CHOSEN)
        assert changed.status_code == 303
    assert store(web_settings).verify_password("owen.own", CHOSEN) is not None


async def test_signing_out_is_still_open_to_them(web_settings: Settings) -> None:
    add_person(web_settings, "sid.temp", "team_manager", TEMPORARY, password_must_change=True)
    async with http_for(web_settings) as sid:
        await post_sign_in(sid, "sid.temp", TEMPORARY)
        page = await sid.get("/change-password")
        out = await sid.post("/sign-out", data={"csrf_token": csrf_token(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
        assert (await sid.get("/waiting")).headers["location"].startswith("/sign-in")
