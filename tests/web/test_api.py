"""The JSON API's door (web.api): a person token as a bearer token, or the session; JSON errors;
its own OpenAPI document. Every account here is invented."""

from __future__ import annotations

from pathlib import Path

from records.database import make_engine
from records.people import PeopleStore
from tests.web.web_helpers import (
    PASSWORD,
    add_person,
    bearer,
    http_for,
    no_temporal,
    settings_for,
    sign_in,
)
from web.app import create_app


async def test_a_person_token_names_its_person(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    add_person(settings, "api.tm", "team_manager", name="Api Team Manager", teams=["T1"])
    headers = bearer(settings, "api.tm")
    async with http_for(create_app(settings, no_temporal)) as http:
        answer = await http.get("/api/v1/me", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == "api.tm"
    assert answer.json()["teams"] == ["T1"]


async def test_no_token_or_a_wrong_one_is_a_json_401(tmp_path: Path) -> None:
    async with http_for(create_app(settings_for(tmp_path), no_temporal)) as http:
        missing = await http.get("/api/v1/me")
        wrong = await http.get("/api/v1/me", headers={"Authorization": "Bearer icpc_nonsense"})
        nowhere = await http.get("/api/v1/nothing-here")
    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["status"] == 401
    assert "not accepted" in wrong.json()["title"]
    # Not the pages' sign-in redirect: the API answers JSON even for an unknown address.
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"] == "application/problem+json"


async def test_a_disabled_persons_token_is_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    add_person(settings, "api.gone", "team_manager", name="Api Gone")
    headers = bearer(settings, "api.gone")
    engine = make_engine(settings.people_url)
    try:
        PeopleStore(engine).disable("api.gone")
    finally:
        engine.dispose()
    async with http_for(create_app(settings, no_temporal)) as http:
        answer = await http.get("/api/v1/me", headers=headers)
    assert answer.status_code == 401


async def test_the_session_works_too(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    add_person(settings, "api.hos", "area_head_of_service", name="Api Hos", areas=["A1"])
    async with http_for(create_app(settings, no_temporal)) as http:
        await sign_in(http, "api.hos", PASSWORD)
        answer = await http.get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    assert answer.json()["areas"] == ["A1"]


async def test_the_openapi_document_lists_the_api_only(tmp_path: Path) -> None:
    async with http_for(create_app(settings_for(tmp_path), no_temporal)) as http:
        answer = await http.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    assert "/me" in document["paths"]
    # The API's own cases, not the pages' (whose addresses name {case_id} and the forms).
    assert "/cases/{case}/decisions" in document["paths"]
    assert not any("{case_id}" in path or "/waiting" in path for path in document["paths"])
