"""The record's scope: a case's team, area and allocated people kept with each batch, and the
SQL scope filter agreeing with domain.scoping.may_see, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import pytest

from domain.case_record import RecordBatch, RecordedEvent, Stream
from domain.people import Person
from domain.scoping import may_see, scope_of
from domain.shared_rules import REASSIGNED
from records.database import upgrade
from records.people import PeopleStore
from records.store import CaseFilter, RecordStore
from tests.records.data import T0, batch, summary


@pytest.fixture
def store(database_url: str) -> Iterator[RecordStore]:
    upgrade(database_url)
    with RecordStore(database_url) as opened:
        yield opened


def test_a_batch_keeps_the_cases_team_area_and_people(store: RecordStore) -> None:
    store.append(
        batch(
            team="north-1", area="north", allocated={"social_worker": "sam", "team_manager": "tia"}
        )
    )
    summary = store.summary("case-1")
    assert summary is not None
    assert (summary.team, summary.area) == ("north-1", "north")
    assert summary.allocated == {"social_worker": "sam", "team_manager": "tia"}
    assert store.scope("case-1") == scope_of(
        "bct-management-note", "north-1", "north", {"social_worker": "sam", "team_manager": "tia"}
    )
    assert store.scope("no-such-case") is None

    # Reassigned: the next batch's people replace the last ones.
    store.append(
        batch(positions=[3], team="north-1", area="north", allocated={"social_worker": "sol"})
    )
    assert store.scope("case-1").allocated == {("social_worker", "sol")}  # type: ignore[union-attr]
    [listed] = store.list_cases().rows
    assert listed.allocated == {"social_worker": "sol"}


def test_an_older_batch_arriving_late_does_not_roll_the_people_back(store: RecordStore) -> None:
    store.append(batch(positions=[0, 1, 2], allocated={"social_worker": "sol"}))
    store.append(batch(positions=[0, 1], allocated={"social_worker": "sam"}))  # a late retry
    assert store.scope("case-1").allocated == {("social_worker", "sol")}  # type: ignore[union-attr]
    store.append(batch(stream=Stream.PLAN, positions=[0], allocated={}))  # the plan took over
    store.append(batch(positions=[3], allocated={"social_worker": "sam"}))  # a case batch, late
    assert store.scope("case-1").allocated == frozenset()  # type: ignore[union-attr]


def test_lists_filter_by_area(store: RecordStore) -> None:
    store.append(batch("c-1", area="north"))
    store.append(batch("c-2", area="south"))
    assert [s.case_id for s in store.list_cases(CaseFilter(area="north")).rows] == ["c-1"]


# --- the scope filter is may_see, as SQL ---------------------------------------------------------

TEAMS = [None, "t1", "t2"]
AREAS = [None, "a1", "a2"]
ALLOCATIONS: list[dict[str, str]] = [
    {},
    {"social_worker": "p1"},
    {"social_worker": "p2", "team_manager": "p1"},
    {"team_manager": "p3"},
    {"clerk": "p4"},
]
ROLE_SETS = [
    frozenset(),
    frozenset({"social_worker"}),
    frozenset({"team_manager"}),
    frozenset({"social_worker", "team_manager"}),
    frozenset({"area_head_of_service"}),
    frozenset({"clerk"}),
    frozenset({"admin"}),
    frozenset({"admin", "support"}),
]


def _people() -> list[Person]:
    """Every kind of person the rules tell apart, and a random sample of the rest."""
    rng = random.Random(12)
    people = []
    for n in range(160):
        people.append(
            Person(
                id=f"p{rng.randint(1, 5)}",
                roles=rng.choice(ROLE_SETS),
                teams=frozenset(rng.sample(["t1", "t2", "t3"], rng.randint(0, 2))),
                areas=frozenset(rng.sample(["a1", "a2", "a3"], rng.randint(0, 1))),
                service_wide=n % 9 == 0,
                active=n % 13 != 0,
            )
        )
    return people


def test_the_scope_filter_agrees_with_may_see(store: RecordStore) -> None:
    scopes = {}
    for n, (team, area, allocated) in enumerate(itertools.product(TEAMS, AREAS, ALLOCATIONS)):
        case_id = f"case-{n:03d}"
        store.append(batch(case_id, team=team, area=area, allocated=allocated))
        scopes[case_id] = scope_of("bct-management-note", team, area, allocated)
    people = _people()
    seen_some = seen_none = 0
    for person in people:
        expected = sorted(c for c, scope in scopes.items() if may_see(person, scope))
        listed = store.list_cases(CaseFilter(visible_to=person), page_size=1000).rows
        assert [s.case_id for s in listed] == sorted(c.case_id for c in listed)  # same deadline
        assert sorted(s.case_id for s in listed) == expected, person
        assert store.count(CaseFilter(visible_to=person)) == len(expected)
        seen_some += 0 < len(expected) < len(scopes)
        seen_none += not expected
    assert seen_some > 20 and seen_none > 5  # the sample tells the rules apart


def test_waiting_for_any_of_a_persons_roles_within_their_scope(store: RecordStore) -> None:
    store.append(batch("c-1", team="t1", awaiting_role="team_manager"))
    store.append(batch("c-2", team="t1", awaiting_role="area_head_of_service"))
    store.append(batch("c-3", team="t2", awaiting_role="team_manager"))
    store.append(batch("c-4", team="t1", awaiting_role="social_worker"))
    manager = Person(
        "tia", roles=frozenset({"team_manager", "social_worker"}), teams=frozenset({"t1"})
    )
    waiting = CaseFilter(is_open=True, awaiting_roles=manager.roles, visible_to=manager)
    assert [s.case_id for s in store.list_cases(waiting).rows] == ["c-1", "c-4"]


def _reassigned_to(position: int, role: str, person_id: str) -> RecordedEvent:
    """A reassignment's timeline entry, as domain.shared_rules records it."""
    return RecordedEvent(
        position=position,
        at=T0,
        event="reassign_worker",
        summary="Social worker reassigned",
        data={REASSIGNED: {"role": role, "user": person_id}},
    )


def test_removing_a_person_ends_their_allocations_for_a_new_account_with_their_id(
    store: RecordStore,
) -> None:
    """Sign-in ids are reused: a new Sam inherits none of the old Sam's cases, though the
    case's workflow still names the id in every batch, until a reassignment gives it afresh."""
    people = PeopleStore(store.engine)
    people.add("sam", roles=["social_worker"], teams=["north-1"])
    people.add("tia", roles=["team_manager"], teams=["north-1"])
    both = {"social_worker": "sam", "team_manager": "tia"}
    store.append(batch(positions=[0], team="north-1", allocated=both))
    assert people.remove("sam")
    new_sam = people.add("sam", roles=["social_worker"], teams=["north-1"])

    def sam_sees() -> bool:
        scope = store.scope("case-1")
        assert scope is not None
        listed = store.list_cases(CaseFilter(visible_to=new_sam)).rows
        assert bool(listed) == bool(may_see(new_sam, scope))
        return bool(listed)

    assert store.scope("case-1").allocated == {("team_manager", "tia")}  # type: ignore[union-attr]
    assert not sam_sees()
    store.append(batch(positions=[1], team="north-1", allocated=both))  # the workflow, later
    assert not sam_sees()
    store.append(
        RecordBatch(
            case_id="case-1",
            stream=Stream.CASE,
            events=[_reassigned_to(2, "social_worker", "sam")],
            summary=summary(team="north-1", allocated=both),
        )
    )
    assert sam_sees()  # given to the new Sam by a reassignment

    # An ended allocation is forgotten once the role goes to someone else.
    assert people.remove("tia")
    store.append(batch(positions=[3], team="north-1", allocated={"social_worker": "sam"}))
    store.append(batch(positions=[4], team="north-1", allocated=both))
    assert ("team_manager", "tia") in store.scope("case-1").allocated  # type: ignore[union-attr]
