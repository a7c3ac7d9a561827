"""People administration over the API (web.api_people): administrators only, the Accounts
pages' own rules (nobody changes their own roles or scope, nor disables or removes themselves)
and audit (channel api). Every name here is invented."""

from __future__ import annotations

from pathlib import Path

from records.audit import Action, AuditLog
from records.database import make_engine
from tests.web.web_helpers import add_person, bearer, http_for, no_temporal, settings_for
from web.app import create_app
from web.settings import Settings


def account_rows(settings: Settings, person_id: str) -> list[tuple[str, str, str, str]]:
    engine = make_engine(settings.people_url)
    try:
        rows = reversed(AuditLog(engine).read(actor=person_id))
        return [
            (r.actor or "", r.outcome.value, r.channel.value, r.detail)
            for r in rows
            if r.action == Action.ACCOUNT_CHANGE
        ]
    finally:
        engine.dispose()


async def test_only_an_administrator_is_answered_and_a_refusal_is_audited(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    add_person(settings, "api.tm", "team_manager", name="Api Tm", teams=["T1"])
    tm = bearer(settings, "api.tm")
    async with http_for(create_app(settings, no_temporal)) as http:
        listing = await http.get("/api/v1/people", headers=tm)
        minted = await http.post("/api/v1/people/api.tm/tokens", json={}, headers=tm)
        raised = await http.patch("/api/v1/people/api.tm", json={"roles": ["admin"]}, headers=tm)
    for answer in (listing, minted, raised):
        assert answer.status_code == 403
        assert answer.json()["detail"].startswith("Only an account administrator")
    rows = account_rows(settings, "api.tm")
    assert [(actor, outcome, channel) for actor, outcome, channel, _ in rows] == [
        ("api.tm", "refused", "api")
    ] * 3
    assert rows[1][3] == "POST /api/v1/people/api.tm/tokens: refused: not an administrator"


async def test_an_administrator_cannot_change_their_own_account_another_one_can(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    add_person(settings, "api.ada", "admin", name="Api Ada", service_wide=False)
    add_person(settings, "api.bo", "admin", name="Api Bo", service_wide=False)
    ada, bo = bearer(settings, "api.ada"), bearer(settings, "api.bo")
    own = "/api/v1/people/api.ada"
    async with http_for(create_app(settings, no_temporal)) as http:
        refusals = [
            await http.patch(own, json={"roles": ["admin", "team_manager"]}, headers=ada),
            await http.patch(own, json={"teams": ["T1"]}, headers=ada),
            await http.patch(own, json={"service_wide": True}, headers=ada),
            await http.post(f"{own}/disable", headers=ada),
            await http.delete(own, headers=ada),
            await http.post(f"{own}/password", json={"password": "fresh tulip 99"}, headers=ada),
        ]
        renamed = await http.patch(own, json={"name": "Ada Renamed"}, headers=ada)
        by_bo = await http.patch(own, json={"roles": ["admin", "team_manager"]}, headers=bo)
    for refused in refusals:
        assert refused.status_code == 403, refused.text
        assert "ask another administrator" in refused.json()["detail"] or (
            "Change your password page" in refused.json()["detail"]
        )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Ada Renamed"
    assert by_bo.status_code == 200 and by_bo.json()["roles"] == ["admin", "team_manager"]
    rows = account_rows(settings, "api.ada")
    assert sum(outcome == "refused" for _, outcome, _, _ in rows) == 6
    assert rows[-1][:3] == ("api.bo", "ok", "api")
    assert rows[-1][3].startswith("roles admin -> admin, team_manager")


async def test_people_are_added_changed_and_given_tokens(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    add_person(settings, "api.admin", "admin", name="Api Admin")
    admin = bearer(settings, "api.admin")
    async with http_for(create_app(settings, no_temporal)) as http:
        added = await http.post(
            "/api/v1/people",
            json={
                "id": "Api.New",
                "roles": ["team_manager"],
                "teams": ["T1"],
                "password": "river lantern 77",
            },
            headers=admin,
        )
        sso = await http.post(
            "/api/v1/people", json={"id": "api.sso", "roles": ["social_worker"]}, headers=admin
        )
        again = await http.post(
            "/api/v1/people", json={"id": "api.new", "roles": ["team_manager"]}, headers=admin
        )
        issued = await http.post(
            "/api/v1/people/api.new/tokens", json={"label": "laptop"}, headers=admin
        )
        token = {"Authorization": f"Bearer {issued.json()['token']}"}
        me = await http.get("/api/v1/me", headers=token)
        revoked = await http.delete("/api/v1/people/api.new/tokens", headers=admin)
        after = await http.get("/api/v1/me", headers=token)
        missing = await http.get("/api/v1/people/nobody", headers=admin)
        document = await http.get("/api/v1/openapi.json")
    assert added.status_code == 201, added.text
    assert added.json()["id"] == "api.new" and added.json()["password_must_change"]
    assert sso.status_code == 201 and not sso.json()["has_password"]
    assert again.status_code == 400 and "already has an account" in again.json()["detail"]
    assert issued.status_code == 201 and me.json()["id"] == "api.new"
    assert revoked.json() == {"person_id": "api.new", "revoked": 1}
    assert after.status_code == 401
    assert missing.status_code == 404
    paths = document.json()["paths"]
    assert "/people/{person_id}/tokens" in paths and "/people" in paths
    assert paths["/people"]["post"]["summary"].startswith("Add a person")
    details = [d for _, _, channel, d in account_rows(settings, "api.new") if channel == "api"]
    assert details[0].startswith("added with roles team_manager")
    assert "command-line token issued (laptop)" in details
    assert "command-line tokens revoked (1)" in details
