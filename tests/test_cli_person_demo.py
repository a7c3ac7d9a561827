"""``icpc dev``'s demo people: added once to an empty embedded record, each with a token file
that only its owner can read, and able to run README's quick start under the scoping rules."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from domain.decisions import CaseStart, Contact
from domain.scoping import may_decide, may_start, scope_of_start
from domain.vocabulary import DecisionKind
from procedures import get_procedure
from records.database import make_engine, upgrade
from records.people import PeopleStore
from starters.demo_people import (
    DEMO_ADMIN,
    DEMO_AREA,
    DEMO_PASSWORD,
    DEMO_PEOPLE,
    DEMO_TEAM,
    seed_demo_people,
)


def test_demo_people_are_added_once_with_owner_only_tokens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    upgrade(url)
    folder = seed_demo_people(url, tmp_path)
    assert folder == tmp_path / "tokens"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    engine = make_engine(url)
    try:
        people = PeopleStore(engine)
        for demo in DEMO_PEOPLE:
            path = folder / demo.id
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            person = people.person_for_token(path.read_text())
            assert person is not None and person.id == demo.id
            # The documented demo password, not a temporary one: the demo signs in as written.
            signed_in = people.verify_password(demo.id, DEMO_PASSWORD)
            assert signed_in is not None and not signed_in.password_must_change
        admin = people.get(DEMO_ADMIN)
        assert admin is not None and admin.roles == {"admin"}
        assert seed_demo_people(url, tmp_path) is None  # a record with people gets no more
        assert len(people.all()) == len(DEMO_PEOPLE)
    finally:
        engine.dispose()


def test_the_demo_people_can_run_the_quick_start() -> None:
    """README: bss starts BCT-1001 for north-1/north with sam, tia and hal as its contacts; sam
    confirms, bss books, tia holds the core group; nobody else's role works for them."""
    from domain.people import Person

    people = {
        d.id: Person(
            id=d.id,
            name=d.name,
            roles=frozenset(d.roles),
            teams=frozenset(d.teams),
            areas=frozenset(d.areas),
            service_wide=d.service_wide,
        )
        for d in DEMO_PEOPLE
    }
    proc = get_procedure("bct-management-note")
    start = CaseStart(
        procedure_id=proc.id,
        case_reference="BCT-1001",
        family_reference="FAM-77",
        strategy_discussion=datetime(2026, 12, 17, 10, 30, tzinfo=UTC),
        team=DEMO_TEAM,
        area=DEMO_AREA,
        contacts=[
            Contact(role=d.roles[0], name=d.name, email=d.email, user=d.id)
            for d in DEMO_PEOPLE
            if d.id not in ("bss", DEMO_ADMIN)
        ],
    )
    scope = scope_of_start(start)
    assert may_start(people["bss"], [r.id for r in proc.roles], scope, people=people)
    steps = [
        ("sam", "social_worker", "confirm_icpc"),
        ("bss", "cp_conference_service", "receive_convening_sheet"),
        ("bss", "cp_conference_service", "book_conference"),
        ("tia", "team_manager", "hold_core_group"),
        ("tia", "team_manager", "request_delay"),
        ("hal", "area_head_of_service", "approve_delay"),
    ]
    for who, role, kind in steps:
        assert may_decide(people[who], role, proc.roles_for(DecisionKind(kind)), scope), (who, kind)
    assert not may_decide(
        people["sam"], "team_manager", proc.roles_for(DecisionKind("confirm_icpc")), scope
    )
