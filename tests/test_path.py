"""The decision machine itself: tables built from rows, 'available' from the same rules as the
check, separation of duties, and a decision added by one row (004's split-conference advice)."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from domain import case_rules
from domain.calendar import LONDON, london_instant
from domain.case_record import Stream
from domain.case_rules import CASE_DECISION, CASE_PATH
from domain.decisions import ConfirmIcpc, ReassignWorker
from domain.path import DecisionRule, Path, Refusal
from domain.plan_rules import PLAN_DECISION, PLAN_PATH
from domain.vocabulary import DecisionKind
from tests.case_helpers import decision, new_state, procedure, who

STRATEGY = datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)


def on_day(state: object, n: int, hour: int = 11) -> datetime:
    day = state.calendar.add_working_days(state.strategy_day, n)  # type: ignore[attr-defined]
    return london_instant(day, time(hour, 0))


def test_each_table_parses_exactly_its_own_decisions() -> None:
    assert set(CASE_PATH.kinds) | set(PLAN_PATH.kinds) == set(DecisionKind)
    assert set(CASE_PATH.kinds) & set(PLAN_PATH.kinds) == {DecisionKind.REASSIGN_WORKER}
    for kind in CASE_PATH.kinds:
        assert not PLAN_PATH.takes(kind) or kind == DecisionKind.REASSIGN_WORKER
    confirm = {"kind": "confirm_icpc", "decided_by": {"user": "u1", "role": "social_worker"}}
    assert isinstance(CASE_DECISION.validate_python(confirm), ConfirmIcpc)
    with pytest.raises(ValueError, match="confirm_icpc"):
        PLAN_DECISION.validate_python(confirm)


def test_a_table_refuses_the_same_decision_twice() -> None:
    rule = DecisionRule(ConfirmIcpc, "confirm", lambda s, d, n, fx: "")
    with pytest.raises(ValueError, match="twice"):
        Path(Stream.CASE, [rule, rule], closed=lambda s: None, watched=lambda s: [], mail_key=str)


def test_available_follows_the_checks_before_any_payload() -> None:
    """Booking is not offered before the need is confirmed, because the check refuses it."""
    proc = procedure("bct-management-note")
    state = new_state(proc, STRATEGY)
    assert DecisionKind.BOOK_CONFERENCE not in case_rules.available_decisions(
        state, "cp_conference_service"
    )
    with pytest.raises(Refusal, match="has not been confirmed"):
        case_rules.check(
            state,
            decision(
                proc,
                "book_conference",
                booking={
                    "starts_at": on_day(state, 10),
                    "format": "hybrid",
                    "chair": "Chair A",
                },
            ),
            on_day(state, 1),
        )
    case_rules.apply(state, decision(proc, "confirm_icpc"), on_day(state, 1))
    assert DecisionKind.BOOK_CONFERENCE in case_rules.available_decisions(
        state, "cp_conference_service"
    )


def test_whoever_requested_a_delay_is_not_offered_its_approval() -> None:
    proc = procedure("leicestershire-leaflet")
    state = new_state(proc, STRATEGY)
    request = decision(
        proc,
        "request_delay",
        role="team_manager",
        reason="Chair unavailable",
        proposed_date=state.calendar.add_working_days(state.strategy_day, 18),
        safety_plan="Daily visits",
    )
    case_rules.apply(state, request, on_day(state, 2))
    requester = request.decided_by.user
    kinds = CASE_PATH.available(state, "service_manager", user=requester)
    assert DecisionKind.APPROVE_DELAY not in kinds
    assert DecisionKind.APPROVE_DELAY in CASE_PATH.available(state, "service_manager", "sm-2")
    own = decision(proc, "approve_delay", reason="Fine").model_copy(
        update={"decided_by": who("service_manager", requester)}
    )
    with pytest.raises(Refusal, match="You requested this delay"):
        case_rules.check(state, own, on_day(state, 3))


# --- 004: "The social worker at this time should advise if the conference needs to be split
# and any known risks or concerns with the families participation in the meeting." -------------


def test_leicestershire_social_worker_advises_the_conference_be_split() -> None:
    proc = procedure("leicestershire-leaflet")
    state = new_state(proc, STRATEGY)
    assert DecisionKind.ADVISE_CONFERENCE_SPLIT in case_rules.available_decisions(
        state, "social_worker"
    )
    advice = decision(
        proc,
        "advise_conference_split",
        split_needed=True,
        reason="Parents must not be in the same room",
    )
    fx = case_rules.apply(state, advice, on_day(state, 3))
    assert fx.summary == "Advised the conference needs to be split"
    entry = state.timeline[-1]
    assert entry.event == "advise_conference_split" and entry.by == advice.decided_by
    assert entry.reason == "Parents must not be in the same room"
    # Whoever books the conference (the Safeguarding Unit) is told, with the concerns.
    [email] = fx.emails
    assert email.subject.endswith("Conference arrangements: it needs to be split")
    assert "Parents must not be in the same room" in email.body
    assert email.to == ["safeguarding.unit@staff.example.org"]


def test_a_procedure_without_the_step_does_not_offer_or_take_it() -> None:
    proc = procedure("bct-management-note")
    state = new_state(proc, STRATEGY)
    assert DecisionKind.ADVISE_CONFERENCE_SPLIT not in case_rules.available_decisions(
        state, "social_worker"
    )
    advice = CASE_DECISION.validate_python(
        {
            "kind": "advise_conference_split",
            "decided_by": who("social_worker"),
            "split_needed": False,
            "reason": "No concerns",
        }
    )
    with pytest.raises(
        Refusal,
        match=r"^This procedure has no step to advise whether the conference needs to be split\.$",
    ):
        case_rules.check(state, advice, on_day(state, 3))


def test_reassigning_is_one_rule_on_both_paths() -> None:
    assert (
        CASE_PATH.rules[DecisionKind.REASSIGN_WORKER]
        is PLAN_PATH.rules[DecisionKind.REASSIGN_WORKER]
    )
    proc = procedure("bct-management-note")
    state = new_state(proc, STRATEGY)
    role = proc.roles_for(DecisionKind.REASSIGN_WORKER)[0]
    d = ReassignWorker(
        decided_by=who(role),
        contact={"role": "social_worker", "name": "Staff 7", "email": "sw7@staff.example.org"},
    )
    fx = case_rules.apply(state, d, on_day(state, 1))
    assert fx.summary == "Social worker reassigned"
    assert [c.email for c in state.start.contacts if c.role == "social_worker"] == [
        "sw7@staff.example.org"
    ]


def test_who_was_notified_is_kept_with_the_entry_for_the_record() -> None:
    proc = procedure("leicestershire-leaflet")
    state = new_state(proc, STRATEGY)
    advice = decision(proc, "advise_conference_split", split_needed=False, reason="None known")
    case_rules.apply(state, advice, on_day(state, 1))
    assert state.timeline[-1].data == {
        "notified": [
            {
                "topic": "Conference arrangements: it does not need to be split",
                "roles": ["safeguarding_unit"],
            }
        ]
    }
    # A milestone missed: the escalation entry names the milestone and whom it went to.
    case_rules.on_clock(state, on_day(state, 6, 17))
    overdue = [t for t in state.timeline if t.event == "overdue"]
    assert overdue and overdue[0].data["milestone"] == "request_icpc"
    assert overdue[0].data["notified"] == proc.milestone("request_icpc").escalate_to
