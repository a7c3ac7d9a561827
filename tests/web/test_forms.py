"""The forms table and the path pages, without a server: every decision a path takes has a
form titled by the path, reassigning a worker is one form for both paths, typed values become
the path's own payload, and each path's page rows find the case from a workflow id.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts.paths import PATHS
from domain.case_record import PATH_STREAMS, Stream
from domain.case_rules import CASE_PATH
from domain.decisions import Contact, Decider, ReceiveConveningSheet
from domain.path import Path
from domain.plan_rules import PLAN_PATH
from domain.vocabulary import DecisionKind
from domain.wording import capitalised
from tests.case_helpers import procedure
from web.forms import ACTING_ROLE, FORMS, form_for
from web.pages import CASE_ID, PAGES, case_id_of
from web.parsing import parse

BCT = procedure("bct-management-note")
SAM = Decider(user="sam", role="social_worker")


@pytest.mark.parametrize("path", [CASE_PATH, PLAN_PATH], ids=lambda p: str(p.stream))
def test_every_decision_a_path_takes_has_a_form_titled_by_the_path(path: Path[Any]) -> None:
    for kind in path.kinds:
        form = form_for(path, kind, BCT)
        assert form.title == capitalised(path.title(kind))
        assert form.adapter is path.adapter
        assert form.fields, kind
    assert set(FORMS) == set(CASE_PATH.kinds) | set(PLAN_PATH.kinds)


def test_a_path_has_no_form_for_a_decision_it_does_not_take() -> None:
    with pytest.raises(LookupError):
        form_for(CASE_PATH, DecisionKind.BOOK_REVIEW, BCT)
    with pytest.raises(LookupError):
        form_for(PLAN_PATH, DecisionKind.REQUEST_DELAY, BCT)


def test_reassigning_a_worker_is_one_form_sent_as_each_paths_own_decision() -> None:
    people = {"person": (("robin", "Robin Example (robin)"),)}
    on_case = form_for(CASE_PATH, DecisionKind.REASSIGN_WORKER, BCT, options=people)
    on_plan = form_for(PLAN_PATH, DecisionKind.REASSIGN_WORKER, BCT, options=people)
    assert on_case.fields == on_plan.fields
    # A person picked by id, never a typed address: the contact is the server's, from the
    # person record (web.case_pages.reassigned_contact).
    assert [f.name for f in on_case.fields] == ["person", "reason"]
    assert on_case.fields[0].options == people["person"]
    robin = Contact(role="social_worker", name="Robin Example", email="robin@example.org")
    contact = {"contact": robin.model_copy(update={"user": "robin"}).model_dump()}
    typed = {"person": "robin", "reason": "Sam is on leave", "contact_email": "evil@evil.org"}
    for path, form in ((CASE_PATH, on_case), (PLAN_PATH, on_plan)):
        parsed = parse(form, typed, SAM, contact)
        assert parsed.errors == {}
        decision = parsed.decision
        assert decision is not None
        assert path.adapter.validate_python(decision.model_dump()) == decision
        assert decision.contact.user == "robin"  # type: ignore[attr-defined]
        assert decision.contact.email == "robin@example.org"  # type: ignore[attr-defined]

    missing = parse(on_plan, {"reason": "no one picked"}, SAM)
    assert missing.decision is None
    assert list(missing.errors) == ["person"]


def test_a_person_with_two_roles_for_a_decision_chooses_which() -> None:
    roles = [("social_worker", "Social worker"), ("team_manager", "Team manager")]
    form = form_for(CASE_PATH, DecisionKind.CONFIRM_ICPC, BCT, roles=roles)
    assert form.fields[0].name == ACTING_ROLE and form.fields[0].options == tuple(roles)
    assert list(parse(form, {}, SAM).errors) == [ACTING_ROLE]
    one = form_for(CASE_PATH, DecisionKind.CONFIRM_ICPC, BCT, roles=roles[:1])
    assert ACTING_ROLE not in [f.name for f in one.fields]


def test_missing_and_unreadable_answers_are_named_by_field() -> None:
    form = form_for(CASE_PATH, DecisionKind.REQUEST_DELAY, BCT)
    missing = parse(form, {"reason": "kept"}, SAM)
    assert list(missing.errors) == ["proposed_date", "safety_plan"]
    assert missing.values["reason"] == "kept"

    unreadable = parse(
        form, {"proposed_date": "31/02/2031", "reason": "r", "safety_plan": "s"}, SAM
    )
    assert unreadable.errors == {
        "proposed_date": "Proposed date of the conference must be a real date"
    }


def test_the_convening_sheet_keeps_its_notes() -> None:
    form = form_for(CASE_PATH, DecisionKind.RECEIVE_CONVENING_SHEET, BCT)
    parsed = parse(
        form,
        {
            "invitee1_name": "Alex Example",
            "invitee1_role_or_relationship": "Parent",
            "invitee1_email": "alex@example.org",
            "reason": "Sheet received by email",
        },
        SAM,
    )
    assert isinstance(parsed.decision, ReceiveConveningSheet)
    assert parsed.decision.reason == "Sheet received by email"
    assert [i.name for i in parsed.decision.invitees] == ["Alex Example"]


def test_each_paths_page_finds_its_case_from_the_workflow_id() -> None:
    case_id = "icpc-bct-management-note-REF-1-20270104"
    assert CASE_ID.match(case_id)
    # A page and a contract for each stream a path writes (the review stream has neither).
    assert set(PAGES) == set(PATH_STREAMS) == set(PATHS)
    for stream in PATH_STREAMS:
        page, contract = PAGES[stream], PATHS[stream]
        assert page.contract is contract
        assert case_id_of(contract, contract.workflow_id(case_id)) == case_id
        assert page.url(case_id).startswith(f"/cases/{case_id}")
    # A plan's workflow id is no case id, and a case's is no plan's.
    plan_id = PATHS[Stream.PLAN].workflow_id(case_id)
    assert not CASE_ID.match(plan_id)
    with pytest.raises(LookupError):
        case_id_of(PATHS[Stream.PLAN], case_id)


def test_advice_on_splitting_the_conference_is_a_yes_or_no_with_reasons() -> None:
    leicestershire = procedure("leicestershire-leaflet")
    form = form_for(CASE_PATH, DecisionKind.ADVISE_CONFERENCE_SPLIT, leicestershire)
    parsed = parse(form, {"split_needed": "yes", "reason": "Parents may not meet"}, SAM)
    assert parsed.decision is not None
    assert parsed.decision.split_needed is True  # type: ignore[attr-defined]
    assert list(parse(form, {}, SAM).errors) == ["split_needed", "reason"]
