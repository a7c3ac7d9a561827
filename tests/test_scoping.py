"""Who may see and decide a case, and the break-glass read: domain.scoping with invented people.

Every person, team and area here is invented.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.decisions import CaseStart, Contact
from domain.people import Person
from domain.scoping import (
    BREAK_GLASS_ROLES,
    Access,
    allocations,
    break_glass,
    may_allocate,
    may_be_allocated,
    may_decide,
    may_reassign,
    may_see,
    may_start,
    may_take_over,
    scope_of,
    scope_of_start,
    senior_roles_from,
)
from domain.vocabulary import DecisionKind
from procedures import get_procedure

CASE = scope_of(
    "bct-management-note",
    team="north-1",
    area="north",
    allocated={"social_worker": "sam", "team_manager": "tia"},
)
NO_UNITS = scope_of("bct-management-note", allocated={"social_worker": "sam"})


def person(
    id_: str,
    *roles: str,
    teams: Iterable[str] = (),
    areas: Iterable[str] = (),
    service_wide: bool = False,
    active: bool = True,
) -> Person:
    return Person(
        id=id_,
        name=id_.title(),
        email=f"{id_}@staff.example.org",
        roles=frozenset(roles),
        teams=frozenset(teams),
        areas=frozenset(areas),
        service_wide=service_wide,
        active=active,
    )


SAM = person("sam", "social_worker", teams={"north-1"})  # allocated social worker
SOL = person("sol", "social_worker", teams={"north-1"})  # another worker, same team
TIA = person("tia", "team_manager", teams={"north-1"})  # allocated team manager
TOM = person("tom", "team_manager", teams={"north-1"})  # same team, not allocated
TED = person("ted", "team_manager", teams={"south-2"})  # another team's manager
HAL = person("hal", "area_head_of_service", areas={"north"})
HOB = person("hob", "area_head_of_service", areas={"south"})
BSS = person("bss", "cp_conference_service", service_wide=True)
ADA = person("ada", "admin", "support", service_wide=True)


# --- seeing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        (SAM, True),  # allocated social worker
        (SOL, False),  # another social worker in the same team: not her caseload
        (TIA, True),  # allocated team manager
        (TOM, True),  # a team manager of the case's team
        (TED, False),  # another team's manager
        (HAL, True),  # the area's head of service
        (HOB, False),  # another area's
        (BSS, True),  # service-wide conference service
        (ADA, False),  # product roles give no sight of cases
    ],
)
def test_who_sees_a_case_with_a_team_and_an_area(who: Person, sees: bool) -> None:
    verdict = may_see(who, CASE)
    assert bool(verdict) is sees
    assert (verdict.reason == "") is sees


def test_refusals_are_plain_sentences() -> None:
    assert may_see(SOL, CASE).reason == "This case is not allocated to you."
    assert may_see(TED, CASE).reason == (
        "This case is not in your team or area, and is not allocated to you."
    )
    assert may_see(ADA, CASE).reason == "Your roles give no access to cases."
    for who in (SOL, TED, HOB, ADA):
        reason = may_see(who, CASE).reason
        assert reason[0].isupper() and reason.endswith(".")


def test_a_social_worker_who_is_also_a_team_manager_sees_the_team_through_that_role() -> None:
    both = person("bo", "social_worker", "team_manager", teams={"north-1"})
    assert may_see(both, CASE)
    assert not may_decide(both, "social_worker", ["social_worker"], CASE)
    assert may_decide(both, "team_manager", ["social_worker", "team_manager"], CASE)


def test_a_social_worker_in_the_cases_area_or_service_wide_still_sees_only_her_caseload() -> None:
    assert not may_see(person("sw1", "social_worker", areas={"north"}), CASE)
    assert not may_see(person("sw2", "social_worker", service_wide=True), CASE)


def test_a_case_without_team_or_area_is_seen_by_its_people_and_service_wide_staff_only() -> None:
    assert may_see(SAM, NO_UNITS)
    assert may_see(BSS, NO_UNITS)
    for who in (TOM, HAL, person("nea", "team_manager", teams={"north-1"}, areas={"north"})):
        verdict = may_see(who, NO_UNITS)
        assert not verdict
        assert "no team or area" in verdict.reason


def test_a_disabled_account_sees_and_decides_nothing() -> None:
    gone = person("sam", "social_worker", teams={"north-1"}, active=False)
    assert may_see(gone, CASE).reason == "Your account is disabled."
    assert not may_decide(gone, "social_worker", ["social_worker"], CASE)
    assert not break_glass(gone, CASE, "a reason long enough")


def test_allocated_in_any_role_sees_the_case() -> None:
    clerk = person("cle", "clerk")
    scope = scope_of("leicestershire-leaflet", team="t", allocated={"clerk": "cle"})
    assert may_see(clerk, scope)
    assert may_decide(clerk, "clerk", ["clerk"], scope)


# --- deciding ------------------------------------------------------------------------------------

CONFIRM = ["social_worker", "team_manager"]  # bct-management-note: confirm_icpc


def test_the_allocated_social_worker_decides_and_no_other() -> None:
    assert may_decide(SAM, "social_worker", CONFIRM, CASE)
    verdict = may_decide(SOL, "social_worker", CONFIRM, CASE)
    assert not verdict
    assert verdict.reason == (
        "This case is not allocated to you as its social worker; only the allocated social"
        " worker may act in that role."
    )


def test_a_social_worker_cannot_act_as_team_manager() -> None:
    verdict = may_decide(SAM, "team_manager", CONFIRM, CASE)
    assert not verdict and verdict.reason == "You do not hold the team manager role."


def test_the_team_manager_of_the_team_decides_another_teams_does_not() -> None:
    assert may_decide(TOM, "team_manager", CONFIRM, CASE)
    verdict = may_decide(TED, "team_manager", CONFIRM, CASE)
    assert not verdict and "not in your team or area" in verdict.reason


def test_the_role_must_be_one_the_procedure_names_for_the_decision() -> None:
    proc = get_procedure("bct-management-note")
    titles = {r.id: r.title.lower() for r in proc.roles}
    verdict = may_decide(
        TIA,
        "team_manager",
        proc.roles_for(DecisionKind("approve_delay")),
        CASE,
        titles=titles,
    )
    assert not verdict
    assert verdict.reason == (
        "The procedure does not give this decision to the team manager role; it is for the"
        " area head of service."
    )
    assert may_decide(
        HAL, "area_head_of_service", proc.roles_for(DecisionKind("approve_delay")), CASE
    )
    assert not may_decide(HOB, "area_head_of_service", ["area_head_of_service"], CASE)


def test_a_case_without_units_takes_decisions_from_its_people_and_service_wide_staff() -> None:
    assert may_decide(BSS, "cp_conference_service", ["cp_conference_service"], NO_UNITS)
    verdict = may_decide(TOM, "team_manager", CONFIRM, NO_UNITS)
    assert not verdict and "no team or area" in verdict.reason


def test_the_product_roles_decide_nothing() -> None:
    assert not may_decide(ADA, "admin", ["admin"], CASE)


# --- allocating (reassigning a worker) and starting --------------------------------------------


def test_reassigning_picks_an_active_social_worker_of_the_cases_team() -> None:
    assert may_allocate(SOL, "social_worker", CASE)
    elsewhere = person("sue", "social_worker", teams={"south-2"})
    assert may_allocate(elsewhere, "social_worker", CASE).reason == (
        "Sue is not in this case's team (north-1)."
    )
    assert may_allocate(elsewhere, "social_worker", NO_UNITS)  # no team: any social worker
    assert may_allocate(TOM, "social_worker", CASE).reason == (
        "Tom does not hold the social worker role."
    )
    gone = person("sid", "social_worker", teams={"north-1"}, active=False)
    assert may_allocate(gone, "social_worker", CASE).reason == "Sid's account is disabled."


def test_starting_a_case_needs_a_role_of_its_procedure_and_sight_of_the_case() -> None:
    roles = [r.id for r in get_procedure("bct-management-note").roles]
    people = {"sam": SAM, "tia": TIA}
    assert may_start(BSS, roles, CASE, people=people)
    assert may_start(SAM, roles, CASE, people=people)  # allocated to herself
    assert not may_start(SOL, roles, CASE, people=people)
    assert not may_start(ADA, roles, CASE, people=people)
    assert "no role in this case's procedure" in may_start(ADA, roles, CASE, people=people).reason


def test_a_start_allocates_only_people_on_record_in_the_role_and_the_cases_units() -> None:
    roles = [r.id for r in get_procedure("bct-management-note").roles]
    assert may_start(BSS, roles, CASE, people={"sam": SAM}).reason == "There is no person 'tia'."
    elsewhere = person("tia", "team_manager", teams={"south-2"})
    assert may_start(BSS, roles, CASE, people={"sam": SAM, "tia": elsewhere}).reason == (
        "Tia is not in this case's team (north-1)."
    )
    gone = person("tia", "team_manager", teams={"north-1"}, active=False)
    assert not may_start(BSS, roles, CASE, people={"sam": SAM, "tia": gone})
    with_hos = scope_of("bct-management-note", "north-1", "north", {"area_head_of_service": "hob"})
    assert may_be_allocated(with_hos, {"hob": HOB}).reason == (
        "Hob is not in this case's area (north)."
    )
    assert may_be_allocated(with_hos, {"hob": TIA}).reason == (
        "Tia does not hold the area head of service role."
    )
    assert may_be_allocated(with_hos, {"hob": replace(HAL, id="hob")})
    assert may_be_allocated(with_hos, {"hob": replace(BSS, id="hob", roles=HAL.roles)})


def test_nobody_chooses_who_approves_what_they_ask_for() -> None:
    """A team manager asks the area head of service for a delay: reassigning that role is not
    theirs, at any face (the social worker's is)."""
    procedure = get_procedure("bct-management-note")
    refused = may_reassign(TIA, "area_head_of_service", procedure)
    assert refused.reason == (
        "The area head of service approves the delays a team manager asks for: a team manager"
        " may not choose who holds that role."
    )
    assert may_reassign(TIA, "social_worker", procedure)
    scope = scope_of("bct-management-note", "north-1", "north", {"area_head_of_service": "hal"})
    verdict = may_take_over(HOB, "area_head_of_service", scope, by=TIA, procedure=procedure)
    assert verdict.reason == refused.reason
    assert may_take_over(SOL, "social_worker", scope, by=TIA, procedure=procedure)
    missing = may_take_over(
        None, "social_worker", scope, by=TIA, procedure=procedure, person_id="x"
    )
    assert missing.reason == "There is no person 'x'."


# --- break glass ---------------------------------------------------------------------------------


def test_break_glass_is_in_scope_for_a_case_already_in_scope() -> None:
    assert break_glass(HAL, CASE).access is Access.IN_SCOPE


def test_break_glass_needs_a_named_senior_role_and_a_reason() -> None:
    senior = person("sen", "head_of_service_safeguarding", areas={"south"})
    refused = break_glass(senior, CASE)
    assert refused.access is Access.REFUSED and not refused
    assert "give the reason why" in refused.reason
    assert not break_glass(senior, CASE, "   too short ")
    allowed = break_glass(senior, CASE, "  Child moved  here from the south overnight ")
    assert allowed.access is Access.BREAK_GLASS and allowed
    assert allowed.reason == "Child moved here from the south overnight"
    assert allowed.role == "head_of_service_safeguarding"

    # Another area's head of service is no senior role by default ... unless the setting says.
    plain = break_glass(TED, CASE, "Child moved here from the south overnight")
    assert plain.access is Access.REFUSED
    assert plain.reason == (
        "This case is outside your scope, and your roles may not break glass to read it."
    )
    custom = senior_roles_from("team_manager, isro")
    assert break_glass(TED, CASE, "Child moved here overnight", custom).role == "team_manager"
    assert not break_glass(senior, CASE, "Child moved here overnight", custom)


def test_break_glass_gives_sight_never_a_decision() -> None:
    senior = person("sen", "area_head_of_service", areas={"south"})
    assert break_glass(senior, CASE, "Child moved here from the south")
    assert not may_decide(senior, "area_head_of_service", ["area_head_of_service"], CASE)


def test_the_break_glass_setting() -> None:
    assert senior_roles_from(None) == BREAK_GLASS_ROLES
    assert senior_roles_from("  ") == BREAK_GLASS_ROLES
    assert senior_roles_from("none") == frozenset()
    assert senior_roles_from("a_b c") == {"a_b", "c"}
    every_procedures_roles = {
        r.id
        for p in (
            "bct-management-note",
            "man13-qarss",
            "isu-practitioner-guide",
            "cp-conference-responsibilities",
            "leicestershire-leaflet",
        )
        for r in get_procedure(p).roles
    }
    assert every_procedures_roles >= BREAK_GLASS_ROLES
    for p in (
        "bct-management-note",
        "man13-qarss",
        "isu-practitioner-guide",
        "cp-conference-responsibilities",
        "leicestershire-leaflet",
    ):
        assert {r.id for r in get_procedure(p).roles} & BREAK_GLASS_ROLES, p


# --- a case's scope from its start -------------------------------------------------------------


def test_the_scope_of_a_start_is_its_team_area_and_the_contacts_that_name_a_person() -> None:
    start = CaseStart(
        procedure_id="bct-management-note",
        case_reference="REF-1",
        family_reference="FAM-1",
        strategy_discussion=datetime(2026, 12, 17, 10, tzinfo=UTC),
        team="north-1",
        area="north",
        contacts=[
            Contact(role="social_worker", name="Sam", email="sam@staff.example.org", user="sam"),
            Contact(role="team_manager", name="Tia", email="tia@staff.example.org"),
        ],
    )
    scope = scope_of_start(start)
    assert (scope.team, scope.area) == ("north-1", "north")
    assert scope.allocated == {("social_worker", "sam")}
    assert scope.roles_of("sam") == {"social_worker"}
    assert scope.people_in("team_manager") == frozenset()


def test_a_later_contact_replaces_the_role_as_reassigning_does() -> None:
    contacts = [
        Contact(role="social_worker", name="Sam", email="sam@staff.example.org", user="sam"),
        Contact(role="social_worker", name="Sol", email="sol@staff.example.org", user="sol"),
        Contact(role="team_manager", name="Tia", email="tia@staff.example.org", user="tia"),
        Contact(role="team_manager", name="Old", email="old@staff.example.org"),
    ]
    assert allocations(contacts) == {"social_worker": "sol"}


def test_team_and_area_are_unit_ids() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        CaseStart(
            procedure_id="bct-management-note",
            case_reference="REF-1",
            family_reference="FAM-1",
            strategy_discussion=datetime(2026, 12, 17, 10, tzinfo=UTC),
            team="north 1",
        )


# --- the record summary carries the scope -------------------------------------------------------


def test_the_record_summary_carries_team_area_and_allocations_and_reassigning_moves_them() -> None:
    from domain import case_rules, case_views
    from domain.decisions import ReassignWorker
    from tests.case_helpers import new_state, who

    proc = get_procedure("bct-management-note")
    strategy = datetime(2026, 12, 17, 10, 30, tzinfo=UTC)
    state = new_state(proc, strategy, team="north-1", area="north")
    summary = case_views.record_summary(state, strategy)
    assert (summary.team, summary.area) == ("north-1", "north")
    assert summary.allocated["social_worker"] == "user-social_worker"

    new_worker = ReassignWorker(
        decided_by=who("team_manager"),
        contact={
            "role": "social_worker",
            "name": "Sol",
            "email": "sol@staff.example.org",
            "user": "sol",
        },
    )
    case_rules.apply(state, new_worker, strategy)
    assert case_views.record_summary(state, strategy).allocated["social_worker"] == "sol"

    # A decision from before people were records (no person named) is still taken: the role
    # is then allocated to nobody.
    old_shape = ReassignWorker(
        decided_by=who("team_manager"),
        contact={"role": "social_worker", "name": "Sue", "email": "sue@staff.example.org"},
    )
    case_rules.apply(state, old_shape, strategy)
    assert "social_worker" not in case_views.record_summary(state, strategy).allocated
