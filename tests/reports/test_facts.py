"""The facts read each decision's dates from its data, and the wording only for events recorded
before the decisions kept their dates there (``domain.reports.facts``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from domain.case_record import RecordedEvent
from domain.reports import CaseHistory
from domain.reports.facts import DATED_EVENTS, icpc_facts, plan_facts
from tests.reports.cases import Case, at
from tests.reports.scenario import MARCH_2, cases, d


def snapshot(history: CaseHistory) -> tuple[Any, ...]:
    """Every date and flag the reports take from the facts (not the events themselves)."""
    icpc, plan = icpc_facts(history), plan_facts(history.plan_events)
    return (
        icpc.bookings,
        icpc.booking,
        [(x.proposed, x.late_request, x.status) for x in icpc.delays],
        icpc.held_day,
        icpc.withdrawn_day,
        icpc.closed_day,
        icpc.problems,
        [
            (
                r.number,
                r.due_day,
                r.booked_day,
                r.held_day,
                r.marked_out_of_timescale,
                [(m.to_day, m.out_of_timescale, len(m.agreements), m.took_effect) for m in r.moves],
            )
            for r in plan.reviews
        ],
        plan.ended_day,
        plan.problems,
    )


def _events(events: Sequence[Any], **update: Any) -> list[RecordedEvent]:
    return [e.model_copy(update=update) if e.event in DATED_EVENTS else e for e in events]


def worded(history: CaseHistory) -> CaseHistory:
    """The history as recorded before the decisions kept their dates in their data."""
    return dataclasses.replace(
        history,
        events=_events(history.events, data={}),
        plan_events=_events(history.plan_events, data={}),
    )


def reworded(history: CaseHistory) -> CaseHistory:
    """The history with every dated decision's summary in words the facts cannot read."""
    return dataclasses.replace(
        history,
        events=_events(history.events, summary="(reworded)"),
        plan_events=_events(history.plan_events, summary="(reworded)"),
    )


def without_summary_date(history: CaseHistory) -> CaseHistory:
    """No ICPC date on the case's summary: the hold_conference decision alone says when."""
    return dataclasses.replace(history, icpc_held_at=None)


def test_the_data_and_the_wording_say_the_same_of_every_hand_made_case() -> None:
    for case in cases().values():
        history = without_summary_date(case.history())
        expected = snapshot(history)
        assert snapshot(worded(history)) == expected, case.reference
        assert snapshot(reworded(history)) == expected, case.reference


def test_a_change_of_wording_changes_no_fact() -> None:
    scenario = cases()
    on_time = reworded(without_summary_date(scenario["ON-TIME"].history()))
    icpc = icpc_facts(on_time)
    assert icpc.bookings == [d(3, 19)] and icpc.held_day == d(3, 19) and not icpc.problems
    plan = plan_facts(on_time.plan_events)
    first, second = plan.reviews
    assert (first.due_day, first.booked_day, first.held_day) == (d(6, 19), d(6, 17), d(6, 17))
    assert (second.due_day, second.booked_day, second.held_day) == (
        d(12, 17),
        d(1, 6, 2027),
        d(1, 6, 2027),
    )
    assert second.marked_out_of_timescale
    move = second.agreed_late_move
    assert move is not None and move.to_day == d(1, 6, 2027) and len(move.agreements) == 1
    approved = icpc_facts(reworded(scenario["APPROVED-DELAY"].history()))
    assert approved.approved_delay is not None and approved.approved_delay.proposed == d(3, 27)
    withdrawn = icpc_facts(reworded(scenario["WITHDRAWN"].history()))
    assert withdrawn.withdrawn_day == d(3, 6)


def test_a_late_delay_request_is_read_from_its_data_and_from_its_wording() -> None:
    for old in (False, True):
        case = (
            Case("LATE-ASK", MARCH_2, worded=old)
            .started()
            .confirmed(d(3, 3))
            .delay(d(3, 18), d(3, 27), "Interpreter unavailable", late_by_day=10)
        )
        history = case.history()
        assert bool(history.events[-2].data) is not old
        (delay,) = icpc_facts(history).delays
        assert (delay.proposed, delay.late_request, delay.status) == (d(3, 27), True, "approved")


def test_a_withdrawal_awaiting_agreement_is_not_a_withdrawal_either_way() -> None:
    for old in (False, True):
        case = (
            Case("ASKED-TO-WITHDRAW", MARCH_2, worded=old)
            .started()
            .confirmed(d(3, 3))
            .booked(d(3, 4), d(3, 19))
            .withdrawal_requested(d(3, 10))
        )
        # The case summary says withdrawn on 12 March (as if the chair agreed by another way):
        # the request of 10 March is not the day it was withdrawn.
        case.stage, case.closed_at = "withdrawn", at(d(3, 12), 15)
        assert icpc_facts(case.history()).withdrawn_day == d(3, 12)
        case.withdrawn(d(3, 11))  # the chair's agreement: withdrawn that day
        assert icpc_facts(case.history()).withdrawn_day == d(3, 11)


def test_events_recorded_before_the_change_are_read_from_their_wording() -> None:
    old = (
        Case("OLD", MARCH_2, worded=True)
        .started()
        .confirmed(d(3, 4))
        .booked(d(3, 6), d(3, 19))
        .held(d(3, 19))
        .review_cycle(1, due=d(6, 19), on=d(3, 19))
        .book_review(1, d(3, 19), d(6, 17))
        .hold_review(1, d(6, 17), ends=True)
    )
    history = without_summary_date(old.history())
    assert all(not e.data for e in [*history.events[1:], *history.plan_events])
    assert icpc_facts(history).held_day == d(3, 19)
    plan = plan_facts(history.plan_events)
    (review,) = plan.reviews
    assert (review.due_day, review.booked_day, review.held_day) == (d(6, 19), d(6, 17), d(6, 17))
    assert plan.ended_day == d(6, 17)


def test_a_plan_that_ran_across_the_change_reads_its_old_and_new_events() -> None:
    def plan(old: bool) -> Case:
        return (
            Case("ACROSS", MARCH_2, worded=old)
            .started()
            .review_cycle(1, due=d(6, 19), on=d(3, 19))
            .book_review(1, d(3, 19), d(6, 17))
            .hold_review(1, d(6, 17))
            .review_cycle(2, due=d(12, 17), on=d(6, 17))
            .book_review(2, d(6, 17), d(12, 16))
            .move_review(2, d(12, 10), d(1, 6, 2027), "Chair unavailable")
            .hold_review(2, d(1, 6, 2027), late=True, ends=True)
        )

    before, after = plan(True).plan_events, plan(False).plan_events
    mixed = [*before[:4], *after[4:]]  # review 1 recorded before the change, review 2 after
    assert not mixed[3].data and mixed[4].data
    assert snapshot_plan(mixed) == snapshot_plan(after) == snapshot_plan(before)


def snapshot_plan(events: Sequence[RecordedEvent]) -> tuple[Any, ...]:
    history = Case("PLAN", MARCH_2).history()
    return snapshot(dataclasses.replace(history, plan_events=list(events)))
