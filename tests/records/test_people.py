"""People in the record's database, on SQLite and PostgreSQL: several roles, teams and areas,
argon2 passwords checked against the common-password list, disable and enable, single sign-on
links and per-person command-line tokens. Every name here is invented."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from domain.passwords import TOO_COMMON
from domain.people import Person
from records.database import make_engine, upgrade
from records.people import PeopleError, PeopleStore, token_hash
from records.schema import PersonRow, PersonTokenRow

ROLES = {"team_manager", "social_worker", "area_head_of_service", "admin", "support"}
PASSWORD = "lantern orbit pickle"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def people(engine: Engine) -> PeopleStore:
    return PeopleStore(engine, ROLES)


def test_a_person_has_several_roles_teams_and_areas(people: PeopleStore) -> None:
    added = people.add(
        "Tia.Brennan",
        roles=["team_manager", "social_worker"],
        name="Tia Brennan",
        email="tia@example.org",
        teams=["north-1"],
        areas=["north"],
        password=PASSWORD,
    )
    assert added == Person(
        id="tia.brennan",
        name="Tia Brennan",
        email="tia@example.org",
        roles=frozenset({"team_manager", "social_worker"}),
        teams=frozenset({"north-1"}),
        areas=frozenset({"north"}),
    )
    assert people.get("TIA.BRENNAN") == added
    assert [p.id for p in people.all()] == ["tia.brennan"]
    assert people.get("nobody") is None


def test_what_cannot_be_a_person_is_refused_with_its_field(people: PeopleStore) -> None:
    cases = [
        ({"person_id": "Not An Id", "roles": ["team_manager"]}, "person_id"),
        ({"person_id": "ok", "roles": []}, "roles"),
        ({"person_id": "ok", "roles": ["wizard"]}, "roles"),
        ({"person_id": "ok", "roles": ["team_manager"], "teams": ["no spaces!"]}, "teams"),
        ({"person_id": "ok", "roles": ["team_manager"], "email": "not-an-address"}, "email"),
        ({"person_id": "ok", "roles": ["team_manager"], "password": "0123456789"}, "password"),
        ({"person_id": "ok", "roles": ["team_manager"], "password": "short"}, "password"),
    ]
    for values, field in cases:
        person_id = values.pop("person_id")
        with pytest.raises(PeopleError) as refused:
            people.add(person_id, **values)  # type: ignore[arg-type]
        assert refused.value.field == field, values
    assert people.all() == []
    people.add("ok", roles=["team_manager"])
    with pytest.raises(PeopleError, match="already has an account"):
        people.add("ok", roles=["social_worker"])


def test_a_common_password_is_refused_whatever_its_case(people: PeopleStore) -> None:
    with pytest.raises(PeopleError, match=re.escape(TOO_COMMON)):
        people.add("sam", roles=["social_worker"], password="Password123")
    people.add("sam", roles=["social_worker"], password=PASSWORD)
    with pytest.raises(PeopleError, match=re.escape(TOO_COMMON)):
        people.set_password("sam", "QWERTYUIOP")


def test_updates_replace_roles_and_units_and_leave_the_rest(people: PeopleStore) -> None:
    people.add("hal", roles=["area_head_of_service"], areas=["north"], email="hal@example.org")
    changed = people.update("hal", roles=["area_head_of_service", "admin"], service_wide=True)
    assert changed.roles == {"area_head_of_service", "admin"}
    assert changed.areas == {"north"} and changed.service_wide
    assert changed.email == "hal@example.org"
    moved = people.update("hal", teams=["south-2"], areas=[], email="")
    assert moved.teams == {"south-2"} and moved.areas == frozenset() and moved.service_wide
    assert moved.email is None
    with pytest.raises(PeopleError, match="no account 'nobody'"):
        people.update("nobody", name="x")


def test_passwords_are_verified_and_a_disabled_person_is_returned_inactive(
    people: PeopleStore,
) -> None:
    people.add("sam", roles=["social_worker"], password=PASSWORD)
    found = people.verify_password(" SAM ", PASSWORD)
    assert found is not None and found.id == "sam" and found.active
    assert people.verify_password("sam", PASSWORD.upper()) is None
    assert people.verify_password("nobody", PASSWORD) is None
    people.add("sso.only", roles=["social_worker"])  # no password: single sign-on only
    assert people.verify_password("sso.only", "") is None
    assert not people.has_password("sso.only")

    people.disable("sam")
    disabled = people.verify_password("sam", PASSWORD)
    assert disabled is not None and not disabled.active
    got = people.get("sam")
    assert got is not None and not got.active
    people.enable("sam")
    enabled = people.get("sam")
    assert enabled is not None and enabled.active


def test_an_old_hash_is_rehashed_at_the_next_right_password(
    people: PeopleStore, engine: Engine
) -> None:
    people.add("sam", roles=["social_worker"])
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    people.import_hash("sam", weak)
    assert people.verify_password("sam", PASSWORD) is not None
    with engine.connect() as connection:
        stored = connection.execute(
            select(PersonRow.password_hash).where(PersonRow.id == "sam")
        ).scalar_one()
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)
    assert PASSWORD not in stored


def test_a_single_sign_on_subject_links_one_person(people: PeopleStore) -> None:
    people.add("tia", roles=["team_manager"])
    people.add("hal", roles=["area_head_of_service"])
    people.link_oidc_subject("tia", "entra|0001")
    found = people.find_by_oidc_subject("entra|0001")
    assert found is not None and found.id == "tia"
    assert people.find_by_oidc_subject("entra|0002") is None
    with pytest.raises(PeopleError, match="already linked"):
        people.link_oidc_subject("hal", "entra|0001")


def test_command_line_tokens_are_kept_hashed_and_can_be_revoked(
    people: PeopleStore, engine: Engine
) -> None:
    people.add("sam", roles=["social_worker"])
    token = people.issue_token("sam", "laptop")
    other = people.issue_token("sam")
    found = people.person_for_token(token)
    assert found is not None and found.id == "sam"
    assert people.person_for_token("icpc_made-up") is None
    assert people.person_for_token("") is None
    with engine.connect() as connection:
        hashes = set(connection.execute(select(PersonTokenRow.token_hash)).scalars())
    assert hashes == {token_hash(token), token_hash(other)}  # the plain token is not kept

    people.disable("sam")
    assert people.person_for_token(token) is None  # a disabled person's token acts for nobody
    people.enable("sam")
    assert people.revoke_tokens("sam") == 2
    assert people.person_for_token(token) is None and people.person_for_token(other) is None
    with pytest.raises(PeopleError):
        people.issue_token("nobody")


def test_removing_a_person_removes_their_roles_units_and_tokens(
    people: PeopleStore, engine: Engine
) -> None:
    people.add("sam", roles=["social_worker"], teams=["north-1"])
    token = people.issue_token("sam")
    assert people.remove("sam")
    assert not people.remove("sam")
    assert people.get("sam") is None and people.person_for_token(token) is None
    people.add("sam", roles=["team_manager"])  # the id can be used again, afresh
    again = people.get("sam")
    assert again is not None and again.roles == {"team_manager"} and not again.teams
    with engine.begin() as connection:  # no stale token comes back with the id
        connection.execute(update(PersonTokenRow).values(revoked_at=None))
    assert people.person_for_token(token) is None


def test_without_a_known_role_set_any_role_id_is_accepted(engine: Engine) -> None:
    store = PeopleStore(engine)
    assert store.add("x", roles=["invented_role"]).roles == {"invented_role"}
