"""record_step: the procedures' own timed steps, recorded by the role responsible for each.

Each test quotes the seed line the step comes from. Dates are worked by hand: a strategy
discussion on Monday 2 March 2026 (day 0); no bank holiday falls before Good Friday 3 April.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from domain import case_rules
from domain.calendar import LONDON, london_instant
from domain.decisions import Booking, ConferenceFormat
from domain.path import Refusal
from domain.vocabulary import DecisionKind
from tests.case_helpers import decision, invitees, new_state, procedure, who

STRATEGY = datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)  # a Monday


def at(day: date, hour: int = 11) -> datetime:
    return london_instant(day, time(hour, 0))


def step(proc_id: str, name: str, role: str, **fields: object) -> object:
    return decision(procedure(proc_id), "record_step", role=role, step=name, **fields)


# --- 001 steps 1, 2, 4, 5, 6, 7 --------------------------------------------------------------


def test_001_each_step_is_due_on_its_day_and_recorded_by_its_role_only() -> None:
    proc = procedure("man13-qarss")
    state = new_state(proc, STRATEGY)
    due = {m.id: m.planned.due for m in state.milestones}
    # Step 1 "Day 1" (the strategy meeting itself, our day 0): Monday 2 March.
    assert due["strategy_meeting_form"] == at(date(2026, 3, 2), 17)
    # Step 2 "Day 1-5" (our day 4): Friday 6 March.
    assert due["s47_enquiry_recorded"] == at(date(2026, 3, 6), 17)
    # Step 4 "Day 6" (our day 5): Monday 9 March.
    assert due["family_informed"] == due["advocacy_considered"] == at(date(2026, 3, 9), 17)
    # Step 5 "Day 7" (our day 6): Tuesday 10 March; steps 6 "Day 8" and 7 "Day 7/8": Wednesday 11.
    assert due["isro_screening_assigned"] == at(date(2026, 3, 10), 17)
    assert due["s47_authorised"] == due["isro_screening"] == at(date(2026, 3, 11), 17)
    # "The chair of the strategy meeting to complete the form": the team manager, reminded that
    # morning.
    form = state.milestone("strategy_meeting_form")
    assert form.planned.responsible == "team_manager"
    assert form.planned.remind_at == at(date(2026, 3, 2), 9)

    # Step 6: "the team manager will quality assure and authorise the s47" - not the ISRO.
    with pytest.raises(
        Refusal,
        match=r"\(ISRO\) may not record 'Team manager quality assures.*it is for a team manager",
    ):
        case_rules.check(state, step("man13-qarss", "s47_authorised", "isro"), at(date(2026, 3, 5)))
    fx = case_rules.apply(
        state, step("man13-qarss", "s47_authorised", "team_manager"), at(date(2026, 3, 5))
    )
    assert fx.summary == "Team manager quality assures and authorises the s47: done"
    # Only the step named is met; the others stay open.
    assert state.milestone("s47_authorised").met_at == at(date(2026, 3, 5))
    assert state.milestone("strategy_meeting_form").met_at is None
    assert state.milestone("isro_screening").met_at is None
    with pytest.raises(Refusal, match="already recorded"):
        case_rules.check(
            state, step("man13-qarss", "s47_authorised", "team_manager"), at(date(2026, 3, 6))
        )


def test_001_isro_screening_tells_qarss_business_support() -> None:
    # Step 7: "The ISRO will complete the screening process and ensure QARRS Business Support
    # are fully aware of the invitees required."
    proc = procedure("man13-qarss")
    state = new_state(proc, STRATEGY)
    fx = case_rules.apply(
        state,
        step("man13-qarss", "isro_screening", "isro", reason="Both parents and the school"),
        at(date(2026, 3, 10)),
    )
    [email] = fx.emails
    assert email.to == ["qarss.business.support@staff.example.org"]
    assert "Both parents and the school" in email.body


def test_001_steps_are_chased_like_any_milestone() -> None:
    # Step 5, "Day 7": QARSS business support assign the screening to an ISRO; late, the Ops
    # Manager (CP) is told.
    proc = procedure("man13-qarss")
    state = new_state(proc, STRATEGY)
    for name, role in [
        ("strategy_meeting_form", "team_manager"),
        ("s47_enquiry_recorded", "social_worker"),
        ("family_informed", "social_worker"),
        ("advocacy_considered", "social_worker"),
    ]:
        case_rules.apply(state, step("man13-qarss", name, role), at(date(2026, 3, 2), 16))
    case_rules.apply(state, decision(proc, "confirm_icpc"), at(date(2026, 3, 2), 16))
    fx = case_rules.on_clock(state, at(date(2026, 3, 10), 18))
    overdue = [e.data["milestone"] for e in state.timeline if e.event == "overdue"]
    assert "isro_screening_assigned" in overdue
    assert "strategy_meeting_form" not in overdue and "family_informed" not in overdue
    assert any("ops.manager.cp@staff.example.org" in e.to for e in fx.emails)


def test_a_step_the_procedure_does_not_name_is_refused_and_a_procedure_without_steps_has_none() -> (
    None
):
    proc = procedure("man13-qarss")
    state = new_state(proc, STRATEGY)
    with pytest.raises(Refusal, match="'invitations_sent' is not a step this procedure records"):
        case_rules.check(
            state, step("man13-qarss", "invitations_sent", "team_manager"), at(date(2026, 3, 3))
        )
    assert DecisionKind.RECORD_STEP in case_rules.available_decisions(state, "isro")
    assert DecisionKind.RECORD_STEP not in case_rules.available_decisions(state, "area_manager")
    bct = procedure("bct-management-note")
    assert not bct.steps()
    assert DecisionKind.RECORD_STEP not in case_rules.available_decisions(
        new_state(bct, STRATEGY), "team_manager"
    )


# --- 003: the Duty PO's safety screening and the method ---------------------------------------


def test_003_duty_po_screens_and_chooses_hybrid_or_virtual_within_48_hours_of_the_sheet() -> None:
    # Stage 2, Duty PO: "Complete the safety screening ... Decide on the method of conference to
    # be used. Inform Child Protection Conferencing Service."
    proc = procedure("cp-conference-responsibilities")
    state = new_state(proc, STRATEGY)
    screening = state.milestone("safety_screening")
    assert screening.planned.due is None  # waits for the convening sheet
    with pytest.raises(Refusal, match="comes after the convening sheet received"):
        case_rules.check(
            state,
            step(proc.id, "safety_screening", "duty_principal_officer", choice="virtual"),
            at(date(2026, 3, 3)),
        )
    sheet = decision(proc, "receive_convening_sheet", invitees=invitees())
    case_rules.apply(state, sheet, at(date(2026, 3, 4), 10))
    from domain.planner import plan

    state.apply_schedule(plan(proc, STRATEGY, state.anchors()))
    # "Within 48 hours of completed form submitted": Friday 6 March 10:00.
    assert state.milestone("safety_screening").planned.due == at(date(2026, 3, 6), 10)
    with pytest.raises(Refusal, match="needs a choice: hybrid or virtual"):
        case_rules.check(
            state, step(proc.id, "safety_screening", "duty_principal_officer"), at(date(2026, 3, 5))
        )
    with pytest.raises(Refusal, match="needs a choice"):
        case_rules.check(
            state,
            step(proc.id, "safety_screening", "duty_principal_officer", choice="in_person"),
            at(date(2026, 3, 5)),
        )
    fx = case_rules.apply(
        state,
        step(
            proc.id,
            "safety_screening",
            "duty_principal_officer",
            choice="virtual",
            reason="Domestic abuse: the parents join separately",
        ),
        at(date(2026, 3, 5)),
    )
    assert fx.summary.endswith(": done (virtual)")
    [email] = fx.emails
    assert email.to == ["conference.business.support@staff.example.org"]
    assert "virtual" in email.body


# --- 004: the Safeguarding Unit's booking confirmation -----------------------------------------


def test_004_booking_confirmation_email_to_chair_social_worker_admin_and_clerk() -> None:
    # "Once the CYPS Safeguarding Unit have been notified of conference booking they will send an
    # email to the CP Chair, Social Worker, and Safeguarding Admin to confirm the booking."
    proc = procedure("leicestershire-leaflet")
    state = new_state(proc, STRATEGY)
    assert state.milestone("booking_confirmed").planned.due is None
    case_rules.apply(state, decision(proc, "confirm_icpc"), at(date(2026, 3, 3)))
    book = decision(
        proc,
        "book_conference",
        booking=Booking(
            starts_at=at(date(2026, 3, 20), 10), format=ConferenceFormat.VIRTUAL, chair="Chair A"
        ),
    )
    case_rules.apply(state, book, at(date(2026, 3, 5), 14))
    from domain.planner import plan

    state.apply_schedule(plan(proc, STRATEGY, state.anchors()))
    # By the end of the next working day after the booking (the product's choice): Friday 6 March.
    assert state.milestone("booking_confirmed").planned.due == at(date(2026, 3, 6), 17)
    with pytest.raises(Refusal, match="only a CYPS safeguarding unit may"):
        case_rules.check(
            state, step(proc.id, "booking_confirmed", "social_worker"), at(date(2026, 3, 5))
        )
    fx = case_rules.apply(
        state, step(proc.id, "booking_confirmed", "safeguarding_unit"), at(date(2026, 3, 5), 15)
    )
    [email] = fx.emails
    # "they will send an email to the CP Chair, Social Worker, and Safeguarding Admin to confirm
    # the booking"; "copy in Safeguarding Admin managers ... allocated to a nominated clerk".
    assert sorted(email.to) == [
        "clerk@staff.example.org",
        "cp.chair@staff.example.org",
        "safeguarding.admin.manager@staff.example.org",
        "safeguarding.unit@staff.example.org",
        "social.worker@staff.example.org",
    ]
    assert state.milestone("booking_confirmed").met_at == at(date(2026, 3, 5), 15)


def test_004_split_advice_is_due_with_the_request_on_day_5() -> None:
    # "by DAY 5 the request for an ICPC needs to be completed ... The social worker at this time
    # should advise if the conference needs to be split".
    proc = procedure("leicestershire-leaflet")
    state = new_state(proc, STRATEGY)
    advice = state.milestone("split_advice")
    assert advice.planned.due == at(date(2026, 3, 9), 17)
    assert advice.planned.satisfied_by == ["advise_conference_split"]
    case_rules.apply(
        state,
        decision(proc, "advise_conference_split", split_needed=False, reason="No known risks"),
        at(date(2026, 3, 4)),
    )
    assert state.milestone("split_advice").met_at == at(date(2026, 3, 4))
    assert who("social_worker").role == advice.planned.responsible


def test_the_command_line_sends_a_step_and_an_early_review() -> None:
    from starters.case_commands import decision_body
    from starters.cli import build_parser

    args = build_parser().parse_args(
        [
            "decide",
            "CASE-1",
            "record_step",
            "--by",
            "po",
            "--role",
            "duty_principal_officer",
            "--step",
            "safety_screening",
            "--choice",
            "virtual",
        ]
    )
    body = decision_body(args)
    assert (body["kind"], body["step"], body["choice"]) == (
        "record_step",
        "safety_screening",
        "virtual",
    )
    assert "decided_by" not in body  # the service says who decides: the token's person
    args = build_parser().parse_args(
        [
            *["decide", "CASE-1", "book_review", "--by", "bs", "--role", "cp_conference_service"],
            *["--when", "2027-03-01 10:00", "--chair", "Chair A", "--to-consider-ending"],
            *["--reason", "Core group see the plan's aims met"],
        ]
    )
    body = decision_body(args)
    assert body["to_consider_ending"] is True and body["booking"]["chair"] == "Chair A"
