"""The plan rules (after the ICPC) and the Leicestershire repeat-plan step: fast domain tests.

A small procedure is built here (roles and numbers after seeds 001-004), so these tests do not
depend on the installed procedure files. Every name, address and reference is invented.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from domain import case_rules, case_views, plan_rules
from domain.calendar import LONDON, WorkingDayTable, london_instant
from domain.case_rules import Refusal
from domain.case_state import CaseState
from domain.decisions import (
    Booking,
    CaseStart,
    ConferenceFormat,
    Contact,
    Decider,
    Outcome,
    RecordRepeatPlanOversight,
)
from domain.outbox import EmailPurpose
from domain.plan_decisions import (
    ApproveReviewMove,
    BookReview,
    EndPlan,
    HoldCoreGroup,
    HoldReview,
    PlanEndReason,
    RequestReviewMove,
    ReviewOutcome,
    SendReviewAttendanceList,
    ShareConferenceRecord,
    SignOffPlan,
)
from domain.plan_rules import PLAN_DECISION, PLAN_PATH, PlanDecision
from domain.plan_state import REVIEW_MILESTONE_ID, PlanStage, PlanState
from domain.planner import plan
from domain.procedure import Procedure, parse_procedure
from domain.vocabulary import DecisionKind

CAL_BEFORE = timedelta(days=31)
CAL_AFTER = timedelta(days=550)

ROLES = [
    ("social_worker", "Social worker", None),
    ("team_manager", "Team manager", None),
    ("isro", "ISRO", None),
    ("area_manager", "Area manager", None),
    ("ops_manager", "Ops manager (CP)", None),
    ("service_manager", "Service manager", None),
    ("business_support", "Business support", "cp.business.support@council.example.org"),
]


def _milestone(id_: str, anchor: str, satisfied: str, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": id_,
        "title": id_.replace("_", " ").capitalize(),
        "anchor": anchor,
        "responsible": "social_worker",
        "remind": ["social_worker"],
        "escalate_to": ["team_manager"],
        "satisfied_by": [satisfied],
    }
    values.update(extra)
    return values


def after_icpc_procedure(**changes: Any) -> Procedure:
    """An invented authority with the post-ICPC steps of seeds 001 to 004."""
    data: dict[str, Any] = {
        "id": "test-after-icpc",
        "title": "Test authority: after the ICPC",
        "authority": "Test Authority",
        "source_document": "tests",
        "roles": [{"id": i, "title": t, **({"mailbox": m} if m else {})} for i, t, m in ROLES],
        "decisions": {
            "confirm_icpc": ["social_worker"],
            "book_conference": ["business_support"],
            "hold_conference": ["business_support"],
            "record_repeat_plan_oversight": ["service_manager"],
            "hold_core_group": ["team_manager", "social_worker"],
            "sign_off_plan": ["isro"],
            "share_conference_record": ["business_support"],
            "send_review_attendance_list": ["social_worker"],
            "book_review": ["business_support"],
            "request_review_move": ["isro", "team_manager", "social_worker"],
            "approve_review_move": ["isro", "team_manager", "area_manager", "ops_manager"],
            "hold_review": ["business_support"],
            "end_plan": ["team_manager"],
            "reassign_worker": ["team_manager"],
        },
        "milestones": [
            _milestone(
                "icpc_deadline",
                "strategy_discussion",
                "hold_conference",
                working_days=15,
                statutory=True,
                responsible="business_support",
            ),
            _milestone(
                "initial_core_group",
                "conference_held",
                "hold_core_group",
                phase="plan",
                working_days=10,
                responsible="team_manager",
            ),
            _milestone(
                "plan_signed_off",
                "conference_held",
                "sign_off_plan",
                phase="plan",
                working_days=5,
                responsible="isro",
                remind=["isro"],
            ),
            _milestone(
                "conference_record_shared",
                "conference_held",
                "share_conference_record",
                phase="plan",
                working_days=15,
                responsible="business_support",
                remind=["business_support"],
            ),
            _milestone(
                "review_attendance_list",
                "review_date",
                "send_review_attendance_list",
                phase="review",
                days=-14,
            ),
        ],
        "reviews": {
            "first_within_months": 3,
            "then_every_months": 6,
            "move_within_timescale": ["isro", "team_manager"],
            "move_out_of_timescale": ["area_manager", "ops_manager"],
        },
        "repeat_plan": {"within_months": 12, "oversight_role": "service_manager"},
    }
    data.update(changes)
    return parse_procedure(data, "test")


def email_of(role: str) -> str:
    return f"{role.replace('_', '.')}@staff.example.org"


def contacts(proc: Procedure) -> list[Contact]:
    return [
        Contact(role=r.id, name=f"Staff {n}", email=email_of(r.id), user=f"user-{r.id}")
        for n, r in enumerate(proc.roles, start=1)
        if not r.mailbox
    ]


def who(role: str, user: str | None = None) -> Decider:
    return Decider(user=user or f"user-{role}", role=role)


def table(proc: Procedure, around: datetime) -> WorkingDayTable:
    day = around.astimezone(LONDON).date()
    return WorkingDayTable.from_calendar(proc.calendar, day - CAL_BEFORE, day + CAL_AFTER)


def at(day: date, hour: int = 10) -> datetime:
    return london_instant(day, time(hour, 0))


STRATEGY = at(date(2026, 3, 2), 9)  # a Monday
ICPC_HELD = at(date(2026, 3, 20))  # day 14


def held_case(
    proc: Procedure,
    held: datetime = ICPC_HELD,
    reference: str = "TST-PLAN-1",
    strategy: datetime = STRATEGY,
) -> CaseState:
    """An ICPC case as the case workflow ends it: held, with a child protection plan."""
    start = CaseStart(
        procedure_id=proc.id,
        case_reference=reference,
        family_reference="FAM-0001",
        strategy_discussion=strategy,
        contacts=contacts(proc),
    )
    day = strategy.astimezone(LONDON).date()
    case = CaseState(
        case_id=f"icpc-{proc.id}-{reference}-{day:%Y%m%d}",
        start=start,
        procedure=proc,
        calendar=table(proc, strategy),
        held_at=held,
        outcome=Outcome.CHILD_PROTECTION_PLAN,
    )
    case.apply_schedule(plan(proc, strategy, case.anchors()))
    return case


def replan(state: PlanState, with_calendar: bool = False) -> None:
    """What the workflow's planning step does (the activity's schedule and table)."""
    cal = table(state.procedure, state.last_held_at) if with_calendar else None
    state.apply_schedule(
        plan(state.procedure, state.case.start.strategy_discussion, state.anchors()), cal
    )


def new_plan(proc: Procedure | None = None, now: datetime = ICPC_HELD) -> PlanState:
    proc = proc or after_icpc_procedure()
    case = held_case(proc)
    state = PlanState.begin(f"{case.case_id}-plan", case)
    replan(state, with_calendar=True)
    plan_rules.start(state, now)
    return state


def decide(state: PlanState, d: PlanDecision, now: datetime) -> plan_rules.PlanEffects:
    """Apply as the workflow does: re-plan when asked, and start a new cycle when one begins."""
    fx = plan_rules.apply(state, d, now)
    if fx.replan or fx.next_cycle:
        replan(state, with_calendar=fx.next_cycle)
        if fx.next_cycle:
            plan_rules.start(state, now)
        fx.emails += plan_rules.on_clock(state, now).emails
    return fx


def booking(day: date, hour: int = 10) -> Booking:
    return Booking(
        starts_at=at(day, hour), format=ConferenceFormat.VIRTUAL, chair="Chair A", venue=""
    )


def book(day: date) -> BookReview:
    return BookReview(decided_by=who("business_support"), booking=booking(day))


def hold(outcome: ReviewOutcome = ReviewOutcome.PLAN_CONTINUES, **fields: Any) -> HoldReview:
    return HoldReview(decided_by=who("business_support"), outcome=outcome, **fields)


def move(day: date, role: str = "isro", reason: str = "Chair unavailable") -> RequestReviewMove:
    return RequestReviewMove(decided_by=who(role), booking=booking(day), reason=reason)


def approve(role: str, user: str | None = None) -> ApproveReviewMove:
    return ApproveReviewMove(decided_by=who(role, user))


# --- the first cycle ----------------------------------------------------------------------------


def test_post_conference_milestones_count_working_days_from_the_icpc() -> None:
    state = new_plan()
    assert state.stage == PlanStage.AWAITING_REVIEW_BOOKING
    due = {m.id: m.planned.due for m in state.milestones}
    # ICPC Friday 20 March 2026; Good Friday 3 April and Easter Monday 6 April are not counted.
    assert due["plan_signed_off"] == london_instant(date(2026, 3, 27), time(17))
    assert due["initial_core_group"] == london_instant(date(2026, 4, 7), time(17))
    assert due["conference_record_shared"] == london_instant(date(2026, 4, 14), time(17))
    # Waits on the review's date.
    assert state.milestone("review_attendance_list").planned.due is None
    # No ICPC-phase milestone comes along.
    assert "icpc_deadline" not in due


def test_first_review_is_due_three_calendar_months_on_back_to_a_working_day() -> None:
    state = new_plan()
    # 20 June 2026 is a Saturday: the last working day on or before it is Friday 19 June.
    assert state.review_due == london_instant(date(2026, 6, 19), time(17))
    assert state.milestone(REVIEW_MILESTONE_ID).planned.due == state.review_due
    assert state.timeline[-1].event == "review_cycle"


def test_month_ends_clip_and_bank_holidays_step_back() -> None:
    proc = after_icpc_procedure()
    # ICPC 30 November 2026: +3 months -> 28 February 2027 (a Sunday) -> Friday 26 February.
    case = held_case(proc, held=at(date(2026, 11, 30)))
    state = PlanState.begin("p", case)
    replan(state, with_calendar=True)
    assert state.review_due == london_instant(date(2027, 2, 26), time(17))
    # ICPC 25 September 2026 + 3 months = Christmas Day: the due day is Thursday 24 December.
    case = held_case(proc, held=at(date(2026, 9, 25)))
    state = PlanState.begin("p", case)
    replan(state, with_calendar=True)
    assert state.review_due == london_instant(date(2026, 12, 24), time(17))


def test_core_group_sign_off_and_record_meet_their_milestones() -> None:
    state = new_plan()
    decide(state, SignOffPlan(decided_by=who("isro")), at(date(2026, 3, 25)))
    decide(
        state,
        HoldCoreGroup(decided_by=who("team_manager"), held_at=at(date(2026, 4, 1))),
        at(date(2026, 4, 2)),
    )
    decide(state, ShareConferenceRecord(decided_by=who("business_support")), at(date(2026, 4, 20)))
    now = at(date(2026, 4, 20))
    status = {m.id: m.status(now) for m in state.milestones}
    assert status["plan_signed_off"] == "met"
    assert status["initial_core_group"] == "met"
    assert state.milestone("initial_core_group").met_at == at(date(2026, 4, 1))
    assert status["conference_record_shared"] == "met_late"
    with pytest.raises(Refusal, match="already signed off"):
        plan_rules.check(state, SignOffPlan(decided_by=who("isro")), now)


def test_a_role_the_procedure_does_not_name_is_refused() -> None:
    state = new_plan()
    with pytest.raises(Refusal, match="A social worker may not sign off the plan"):
        plan_rules.check(state, SignOffPlan(decided_by=who("social_worker")), ICPC_HELD)


def test_overdue_core_group_escalates_once_by_email() -> None:
    state = new_plan()
    wake = plan_rules.next_wakeup(state)
    assert wake is not None and wake[1].startswith("Reminder:")
    late = at(date(2026, 4, 8))
    fx = plan_rules.on_clock(state, late)
    escalations = [e for e in fx.emails if e.purpose == EmailPurpose.ESCALATION]
    assert {e.subject for e in escalations} >= {
        "[ICPC TST-PLAN-1] OVERDUE: Initial core group",
        "[ICPC TST-PLAN-1] OVERDUE: Plan signed off",
    }
    assert all(email_of("team_manager") in e.to for e in escalations)
    assert plan_rules.on_clock(state, late).emails == []  # each once


# --- booking and holding reviews ----------------------------------------------------------------


def test_booking_within_timescale_plans_the_attendance_list_two_weeks_before() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    assert state.stage == PlanStage.REVIEW_BOOKED
    due = state.milestone("review_attendance_list").planned.due
    assert due is not None and due.date() == date(2026, 6, 1)


def test_booking_out_of_timescale_is_refused_and_names_the_approvers() -> None:
    state = new_plan()
    with pytest.raises(Refusal) as refused:
        plan_rules.check(state, book(date(2026, 6, 22)), at(date(2026, 3, 23)))
    assert "after review 1 falls due" in str(refused.value)
    assert "an area manager and an ops manager (CP)" in str(refused.value)


def test_booking_on_a_weekend_or_in_the_past_is_refused() -> None:
    state = new_plan()
    with pytest.raises(Refusal, match="not a working day"):
        plan_rules.check(state, book(date(2026, 6, 13)), at(date(2026, 3, 23)))
    with pytest.raises(Refusal, match="in the past"):
        plan_rules.check(state, book(date(2026, 3, 20)), at(date(2026, 3, 23)))


def test_two_reviews_then_the_plan_ends() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    fx = decide(state, hold(), at(date(2026, 6, 15), 13))
    assert fx.next_cycle and not fx.ended
    assert state.cycle == 2 and state.stage == PlanStage.AWAITING_REVIEW_BOOKING
    # The next review counts six months from the review actually held (15 June 2026).
    assert state.review_due == london_instant(date(2026, 12, 15), time(17))
    # The ICPC's own milestones stay; the first cycle's review milestones went with it.
    ids = {m.id for m in state.milestones}
    assert {"initial_core_group", REVIEW_MILESTONE_ID, "review_attendance_list"} <= ids
    decide(state, book(date(2026, 12, 14)), at(date(2026, 6, 16)))
    fx = decide(state, hold(ReviewOutcome.PLAN_ENDS), at(date(2026, 12, 14), 13))
    assert fx.ended and state.stage == PlanStage.ENDED
    assert [c.number for c in state.conferences] == [0, 1, 2]
    with pytest.raises(Refusal, match="has ended"):
        plan_rules.check(state, book(date(2027, 1, 4)), at(date(2026, 12, 15)))


def test_next_review_agreed_at_the_conference_is_booked_at_once() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    with pytest.raises(Refusal, match="after it falls due"):
        plan_rules.check(
            state, hold(next_review=booking(date(2026, 12, 16))), at(date(2026, 6, 15), 13)
        )
    decide(state, hold(next_review=booking(date(2026, 12, 10))), at(date(2026, 6, 15), 13))
    assert state.stage == PlanStage.REVIEW_BOOKED
    assert state.milestone("review_attendance_list").planned.due is not None


def test_holding_before_the_booked_day_is_refused() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    with pytest.raises(Refusal, match="cannot be recorded as held before then"):
        plan_rules.check(state, hold(), at(date(2026, 6, 1)))
    with pytest.raises(Refusal, match="No review conference is booked"):
        plan_rules.check(new_plan(), hold(), at(date(2026, 6, 1)))


# --- moving a review ----------------------------------------------------------------------------


def test_move_within_timescale_needs_the_isro_and_the_team_manager() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    fx = decide(state, move(date(2026, 6, 17), role="social_worker"), at(date(2026, 5, 1)))
    assert state.stage == PlanStage.AWAITING_MOVE_APPROVAL
    assert state.awaiting_roles() == ["isro", "team_manager"]
    assert [e.to for e in fx.emails] == [[email_of("isro"), email_of("team_manager")]]
    decide(state, approve("isro"), at(date(2026, 5, 2)))
    assert state.review_booking is not None
    assert state.review_booking.starts_at == at(date(2026, 6, 15))  # not moved yet
    fx = decide(state, approve("team_manager"), at(date(2026, 5, 3)))
    assert state.review_booking.starts_at == at(date(2026, 6, 17))
    assert state.stage == PlanStage.REVIEW_BOOKED and not state.out_of_timescale_approved
    moved = [t for t in state.timeline if t.event == "approve_review_move"][-1]
    assert "moved to Wednesday 17 June 2026" in moved.summary
    assert any("Review conference moved" in e.subject for e in fx.emails)


def test_the_requesters_role_counts_as_its_own_agreement() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    decide(state, move(date(2026, 6, 17), role="isro"), at(date(2026, 5, 1)))
    assert state.awaiting_roles() == ["team_manager"]
    with pytest.raises(Refusal, match="You requested this move"):
        plan_rules.check(state, approve("isro"), at(date(2026, 5, 2)))
    with pytest.raises(Refusal, match="An ISRO has already agreed"):
        plan_rules.check(state, approve("isro", user="another-isro"), at(date(2026, 5, 2)))
    with pytest.raises(Refusal, match="is not asked for"):
        plan_rules.check(state, approve("area_manager"), at(date(2026, 5, 2)))


def test_approving_a_move_nobody_requested_is_refused() -> None:
    state = new_plan()
    with pytest.raises(Refusal, match="No move of the review conference has been requested"):
        plan_rules.check(state, approve("team_manager"), at(date(2026, 5, 2)))


def test_out_of_timescale_move_needs_area_and_ops_managers_and_silences_the_escalation() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    decide(state, move(date(2026, 6, 24)), at(date(2026, 6, 1)))
    assert state.move is not None and state.move.out_of_timescale
    assert state.awaiting_roles() == ["area_manager", "ops_manager"]
    decide(state, approve("area_manager"), at(date(2026, 6, 2)))
    decide(state, approve("ops_manager"), at(date(2026, 6, 3)))
    assert state.out_of_timescale_approved
    assert state.out_of_timescale(at(date(2026, 6, 3)))
    # The statutory limit passes: approved, so no escalation.
    fx = plan_rules.on_clock(state, at(date(2026, 6, 22)))
    assert not [e for e in fx.emails if "OVERDUE: Review conference" in e.subject]
    decide(state, hold(), at(date(2026, 6, 24), 13))
    assert state.conferences[-1].out_of_timescale
    # The next cycle counts from the review actually held: 24 June + 6 months.
    assert state.review_due == london_instant(date(2026, 12, 24), time(17))


def test_holding_out_of_timescale_without_every_approval_is_refused() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    decide(state, move(date(2026, 6, 24)), at(date(2026, 6, 1)))
    decide(state, approve("area_manager"), at(date(2026, 6, 2)))
    with pytest.raises(Refusal) as refused:
        plan_rules.check(state, hold(held_at=at(date(2026, 6, 23))), at(date(2026, 6, 23), 15))
    assert "out of timescale" in str(refused.value)
    assert "Still missing: an ops manager (CP)" in str(refused.value)


def test_move_without_a_booking_is_only_for_out_of_timescale() -> None:
    state = new_plan()
    with pytest.raises(Refusal, match="book it"):
        plan_rules.check(state, move(date(2026, 6, 1)), at(date(2026, 5, 1)))
    decide(state, move(date(2026, 6, 24)), at(date(2026, 5, 1)))
    assert state.stage == PlanStage.AWAITING_MOVE_APPROVAL


def test_overdue_review_escalates_to_the_out_of_timescale_approvers() -> None:
    state = new_plan()
    fx = plan_rules.on_clock(state, at(date(2026, 6, 22)))
    review = [e for e in fx.emails if "Review conference 1" in e.subject]
    assert len(review) == 1 and review[0].purpose == EmailPurpose.ESCALATION
    assert review[0].to == [email_of("area_manager"), email_of("ops_manager")]
    assert state.out_of_timescale(at(date(2026, 6, 22)))


def test_end_plan_when_the_child_becomes_looked_after() -> None:
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    d = EndPlan(
        decided_by=who("team_manager"),
        end_reason=PlanEndReason.LOOKED_AFTER,
        reason="Child accommodated under section 20",
    )
    fx = decide(state, d, at(date(2026, 4, 1)))
    assert fx.ended and state.end_reason == "looked_after"
    assert fx.emails and fx.emails[0].to == ["cp.business.support@council.example.org"]
    assert "no longer needed" in fx.emails[0].body
    assert plan_rules.next_wakeup(state) is None


def test_attendance_list_needs_a_booking() -> None:
    state = new_plan()
    d = SendReviewAttendanceList(decided_by=who("social_worker"))
    with pytest.raises(Refusal, match="No review conference is booked yet"):
        plan_rules.check(state, d, at(date(2026, 4, 1)))
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    decide(state, d, at(date(2026, 5, 29)))
    assert state.milestone("review_attendance_list").status(at(date(2026, 6, 2))) == "met"


def test_available_decisions_follow_the_state() -> None:
    state = new_plan()
    assert DecisionKind.BOOK_REVIEW in plan_rules.available_decisions(state, "business_support")
    assert DecisionKind.HOLD_REVIEW not in plan_rules.available_decisions(state, "business_support")
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    decide(state, move(date(2026, 6, 17), role="social_worker"), at(date(2026, 5, 1)))
    assert DecisionKind.APPROVE_REVIEW_MOVE in plan_rules.available_decisions(state, "isro")
    assert DecisionKind.APPROVE_REVIEW_MOVE not in plan_rules.available_decisions(
        state, "area_manager"
    )


def test_plan_decisions_parse_by_kind_and_the_state_round_trips() -> None:
    d = PLAN_DECISION.validate_python(
        {
            "kind": "end_plan",
            "decided_by": who("team_manager"),
            "end_reason": "moved_authority",
            "reason": "Family moved",
        }
    )
    assert isinstance(d, EndPlan)
    assert PLAN_PATH.takes(DecisionKind.END_PLAN) and not PLAN_PATH.takes(DecisionKind.CONFIRM_ICPC)
    state = new_plan()
    decide(state, book(date(2026, 6, 15)), at(date(2026, 3, 23)))
    again = PlanState.model_validate_json(state.model_dump_json())
    assert again == state
    assert again.stage == PlanStage.REVIEW_BOOKED


def test_details_name_no_person() -> None:
    state = new_plan()
    text = plan_rules.stage_details(state, at(date(2026, 4, 1)))
    assert "Review due by: Friday 19 June 2026" in text
    assert "Staff" not in text and "@" not in text


# --- Leicestershire (004): repeat plans need a service manager's oversight ------------------


def repeat_case(proc: Procedure, previous_plan_ended: date | None) -> CaseState:
    start = CaseStart(
        procedure_id=proc.id,
        case_reference="TST-REPEAT-1",
        family_reference="FAM-0002",
        strategy_discussion=STRATEGY,
        contacts=contacts(proc),
        previous_plan_ended=previous_plan_ended,
    )
    case = CaseState(
        case_id="icpc-test-TST-REPEAT-1-20260302",
        start=start,
        procedure=proc,
        calendar=table(proc, STRATEGY),
    )
    case.apply_schedule(plan(proc, STRATEGY))
    case_views.start(case, STRATEGY)
    return case


def _confirm_and_book(case: CaseState) -> Any:
    from domain.decisions import BookConference, ConfirmIcpc

    case_rules.apply(case, ConfirmIcpc(decided_by=who("social_worker")), STRATEGY)
    return BookConference(decided_by=who("business_support"), booking=booking(date(2026, 3, 19)))


def test_repeat_plan_within_twelve_months_refuses_booking_until_oversight() -> None:
    proc = after_icpc_procedure()
    case = repeat_case(proc, previous_plan_ended=date(2025, 6, 1))
    assert case.needs_repeat_oversight
    assert case.awaiting_roles() == ["service_manager"]
    d = _confirm_and_book(case)
    with pytest.raises(Refusal, match="oversight is needed before the ICPC proceeds"):
        case_rules.check(case, d, STRATEGY + timedelta(hours=1))
    oversight = RecordRepeatPlanOversight(
        decided_by=who("service_manager"), reason="Discussed; repeat plan justified"
    )
    with pytest.raises(Refusal, match="may not record oversight"):
        case_rules.check(
            case, oversight.model_copy(update={"decided_by": who("team_manager")}), STRATEGY
        )
    case_rules.apply(case, oversight, STRATEGY + timedelta(hours=1))
    assert not case.needs_repeat_oversight
    case_rules.apply(case, d, STRATEGY + timedelta(hours=2))
    assert case.booking is not None


def test_repeat_plan_boundary_is_twelve_calendar_months_to_the_day() -> None:
    proc = after_icpc_procedure()
    # Ended 2 March 2025: exactly 12 months before the strategy discussion -> still needed.
    assert repeat_case(proc, date(2025, 3, 2)).needs_repeat_oversight
    # Ended 1 March 2025: more than 12 months before -> not needed.
    case = repeat_case(proc, date(2025, 3, 1))
    assert not case.needs_repeat_oversight
    with pytest.raises(Refusal, match="does not need repeat-plan oversight"):
        case_rules.check(
            case,
            RecordRepeatPlanOversight(decided_by=who("service_manager"), reason="n/a"),
            STRATEGY,
        )
    case_rules.check(case, _confirm_and_book(case), STRATEGY + timedelta(hours=1))


def test_no_previous_plan_needs_no_oversight() -> None:
    case = repeat_case(after_icpc_procedure(), None)
    assert not case.needs_repeat_oversight
    case_rules.check(case, _confirm_and_book(case), STRATEGY + timedelta(hours=1))


# --- 001: reviews counted in days as written ("3 months (90 days)", "6 months (181 days)") ------

DAY_REVIEWS = {
    "first_within_days": 90,
    "then_every_days": 181,
    "move_within_timescale": ["isro", "team_manager"],
    "move_out_of_timescale": ["area_manager", "ops_manager"],
}


def plan_held_on(proc: Procedure, held: datetime) -> PlanState:
    strategy = at(held.astimezone(LONDON).date() - timedelta(days=19), 9)
    state = PlanState.begin("p", held_case(proc, held=held, strategy=strategy))
    replan(state, with_calendar=True)
    plan_rules.start(state, held)
    return state


def test_001_reviews_in_days_across_a_leap_year() -> None:
    # 001: "3 months (90 days) between the ICP and the first review child protection conference
    # (RCPC)"; "6 months (181 days) between the first and second RCPC and any subsequent RCPC".
    proc = after_icpc_procedure(reviews=DAY_REVIEWS)
    state = plan_held_on(proc, at(date(2027, 12, 1)))
    # Wed 1 December 2027 + 90 days = Tue 29 February 2028 (calendar months: 1 March).
    assert state.review_due == london_instant(date(2028, 2, 29), time(17))
    assert state.milestone(REVIEW_MILESTONE_ID).planned.title == (
        "Review conference 1 held within 90 days of the last conference"
    )
    assert "(90 days after the conference on" in state.timeline[-1].summary
    with pytest.raises(Refusal, match="after review 1 falls due"):
        plan_rules.check(state, book(date(2028, 3, 1)), at(date(2028, 1, 10)))
    decide(state, book(date(2028, 2, 29)), at(date(2028, 1, 10)))
    # The next review agreed at the conference: 181 days on is Mon 28 August 2028, the summer
    # bank holiday, so Fri 25 August (calendar months would give Tue 29 August).
    with pytest.raises(Refusal, match="after it falls due"):
        plan_rules.check(
            state, hold(next_review=booking(date(2028, 8, 29))), at(date(2028, 2, 29), 13)
        )
    decide(state, hold(), at(date(2028, 2, 29), 13))
    assert state.cycle == 2
    assert state.review_due == london_instant(date(2028, 8, 25), time(17))
    assert "(181 days after the conference on" in state.timeline[-1].summary


def test_the_same_dates_in_calendar_months_run_past_the_day_limits() -> None:
    # Without days, the default stays Working Together's calendar months (and a plan saved
    # before days existed keeps its months: its procedure travels with it).
    state = plan_held_on(after_icpc_procedure(), at(date(2027, 12, 1)))
    assert state.review_due == london_instant(date(2028, 3, 1), time(17))
    saved = state.model_dump(mode="json")
    reviews = saved["case"]["procedure"]["reviews"]
    for key in ("first_within_days", "then_every_days", "earliest_working_days_before_due"):
        reviews.pop(key)
    assert PlanState.model_validate(saved).review_due == state.review_due
    # A non-leap year: 1 December 2026 + 90 days = Monday 1 March 2027.
    days = plan_held_on(after_icpc_procedure(reviews=DAY_REVIEWS), at(date(2026, 12, 1)))
    assert days.review_due == london_instant(date(2027, 3, 1), time(17))


# --- 000 action 12: "CPRCs will not be booked early in anticipation of expected progress" -----


def test_a_review_booked_too_early_is_refused_unless_to_consider_ending_the_plan() -> None:
    # 000 action 12: "In order to maximise capacity, CPRCs will not be booked early in
    # anticipation of expected progress. If sufficient progress is made on a plan such that the
    # core group feel consideration can be given to ending the plan, a conference can be
    # requested at that point."
    reviews = {**DAY_REVIEWS, "earliest_working_days_before_due": 20}
    reviews.pop("first_within_days")
    reviews.pop("then_every_days")
    proc = after_icpc_procedure(reviews=reviews)
    state = new_plan(proc)
    # Review 1 due Fri 19 June 2026; 20 working days before, the spring bank holiday (Mon 25
    # May) not counted, is Thu 21 May 2026.
    assert state.review_due == london_instant(date(2026, 6, 19), time(17))
    now = at(date(2026, 3, 23))
    with pytest.raises(Refusal, match=r"not booked early.*may be booked from 21 May 2026"):
        plan_rules.check(state, book(date(2026, 5, 20)), now)
    plan_rules.check(state, book(date(2026, 5, 21)), now)
    early = BookReview(
        decided_by=who("business_support"),
        booking=booking(date(2026, 4, 20)),
        to_consider_ending=True,
    )
    with pytest.raises(Refusal, match="needs the reason"):
        plan_rules.check(state, early, now)
    early = early.model_copy(update={"reason": "Core group: all plan outcomes met for 8 weeks"})
    fx = decide(state, early, now)
    assert fx.summary.endswith("(early, to consider ending the plan)")
    # Moved earlier, or agreed at the conference for too early a date: the same rule.
    with pytest.raises(Refusal, match="not booked early"):
        plan_rules.check(state, move(date(2026, 4, 13)), now)
    with pytest.raises(Refusal, match=r"not booked early.*may be booked from 22 September 2026"):
        plan_rules.check(
            state, hold(next_review=booking(date(2026, 9, 21))), at(date(2026, 4, 20), 13)
        )
    decide(state, hold(), at(date(2026, 4, 20), 13))
    # Review 2 due Tue 20 October 2026 (6 months from 20 April); earliest Tue 22 September.
    assert state.review_due == london_instant(date(2026, 10, 20), time(17))


def test_without_the_rule_any_date_within_timescale_may_be_booked() -> None:
    state = new_plan()
    assert state.procedure.reviews.earliest_working_days_before_due is None
    plan_rules.check(state, book(date(2026, 3, 30)), at(date(2026, 3, 23)))
