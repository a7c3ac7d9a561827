"""One meaning of "within 15 working days" (issue 22, section 3), and 001's own day numbers.

The statute counts working days: a conference on day 15 is in time, whatever its hour. The
status, the search attribute (the record's summary), the lists, the case page, the milestone's
status and the reports all ask :func:`domain.calendar.past_limit`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from domain import case_rules, case_views
from domain.calendar import LONDON, london_instant, past_limit
from domain.case_state import CaseState
from domain.decisions import Outcome
from domain.milestones import MilestoneStatus
from domain.planner import plan
from tests.case_helpers import book, decide, decision, invitees, new_state, procedure
from web.presentation import days_left

BCT = "bct-management-note"
QARSS = "man13-qarss"
STRATEGY = datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)  # day 15: Monday 23 March 2026


def _day(state: CaseState, n: int) -> date:
    return state.calendar.add_working_days(state.strategy_day, n)


def _booked_on_day_15_at_1730() -> CaseState:
    proc = procedure(BCT)
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc"), STRATEGY + timedelta(hours=1))
    sheet = decision(proc, "receive_convening_sheet", invitees=invitees(2))
    decide(state, sheet, london_instant(_day(state, 1), time(11)))
    decide(
        state,
        book(proc, _day(state, 15), at=time(17, 30)),
        london_instant(_day(state, 2), time(11)),
    )
    return state


def test_past_limit_is_the_limits_whole_day() -> None:
    """Working Together: the ICPC within "15 working days" of the strategy discussion."""
    limit = london_instant(date(2026, 3, 23), time(17))
    assert not past_limit(london_instant(date(2026, 3, 23), time(23, 59)), limit)
    assert past_limit(london_instant(date(2026, 3, 24), time(0, 1)), limit)
    assert not past_limit(date(2026, 3, 23), limit)
    assert past_limit(date(2026, 3, 24), date(2026, 3, 23))


def test_a_conference_on_day_15_at_1730_is_within_timescale_everywhere() -> None:
    """001 Context: "15 working days between the strategy meeting ... and the ICPC being held";
    booked for day 15 at 17:30, the case was accepted yet marked out of timescale."""
    state = _booked_on_day_15_at_1730()
    assert state.booking is not None
    day_15 = _day(state, 15)
    evening = london_instant(day_15, time(17, 45))
    assert state.deadline < state.booking.starts_at  # the limit's instant is 17:00
    assert not state.out_of_timescale(evening)
    assert not case_views.record_summary(state, evening).out_of_timescale
    left = days_left(state, evening)
    assert left is not None and not left.past and left.text == "Due today"
    held = decision(procedure(BCT), "hold_conference", outcome=Outcome.NO_PLAN)
    decide(state, held, london_instant(day_15, time(19)))
    assert state.held_at == state.booking.starts_at
    later = london_instant(_day(state, 20), time(11))
    assert not state.out_of_timescale(later)
    assert not case_views.record_summary(state, later).out_of_timescale
    assert state.milestone("icpc_deadline").status(later) == MilestoneStatus.MET


def test_not_held_by_the_end_of_day_15_is_out_of_timescale_from_day_16() -> None:
    """Working Together: the ICPC within "15 working days"; a case still waiting on day 16 is
    late, on day 15 (after 17:00) not yet."""
    proc = procedure(BCT)
    state = new_state(proc, STRATEGY)
    day_15_evening = london_instant(_day(state, 15), time(18))
    assert not state.out_of_timescale(day_15_evening)
    assert state.milestone("icpc_deadline").status(day_15_evening) == MilestoneStatus.PENDING
    next_morning = london_instant(_day(state, 16), time(9))
    assert state.out_of_timescale(next_morning)
    assert state.milestone("icpc_deadline").status(next_morning) == MilestoneStatus.OVERDUE
    left = days_left(state, next_morning)
    assert left is not None and left.past


def test_a_step_on_the_day_of_an_evening_meeting_is_not_due_before_it() -> None:
    """001 step 1, Day 1 (the strategy meeting's own day): "The chair of the strategy meeting to
    complete the form 'strategy meeting' ... and ensure the worklist is completed"."""
    proc = procedure(QARSS)
    meeting = london_instant(date(2026, 3, 2), time(18))
    form = plan(proc, meeting).get("strategy_meeting_form")
    assert form.due is not None and form.due > meeting
    assert form.due == london_instant(date(2026, 3, 2), time(23, 59))
    morning = plan(proc, STRATEGY).get("strategy_meeting_form")
    assert morning.due == london_instant(date(2026, 3, 2), time(17))


def test_001s_days_appear_in_the_notes_own_numbering() -> None:
    """001 step 8: "ICPC should be booked for either day 14 or day 15 of the process"; step 13:
    "in a timescale (Day 8)". The note numbers the strategy meeting itself Day 1."""
    proc = procedure(QARSS)
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc"), STRATEGY + timedelta(hours=1))
    sheet = decision(proc, "receive_convening_sheet", invitees=invitees(2))
    decide(state, sheet, london_instant(_day(state, 1), time(11)))
    sent = decide(state, book(proc, _day(state, 12)), london_instant(_day(state, 1), time(15)))
    flagged = [e for e in sent.emails if "preferred days" in e.subject]
    assert len(flagged) == 1
    assert "working day 12 (the procedure's day 13)" in flagged[0].body
    assert "the procedure's day 14 or 15 (working days 13 and 14)" in flagged[0].body


def test_an_open_case_wakes_when_the_limits_day_ends_to_say_it_is_late() -> None:
    """Working Together: the ICPC within "15 working days"; the search attribute and lists say
    out of timescale from the midnight that ends day 15, so the case wakes then to say so."""
    proc = procedure(BCT)
    state = new_state(proc, STRATEGY)
    for m in state.milestones:  # every step met: only the limit's day can wake the case
        m.met_at = STRATEGY
    midnight = london_instant(_day(state, 16), time(0))
    assert case_rules.CASE_PATH.next_wakeup(state) is None
    assert case_rules.CASE_PATH.next_wakeup_with_timescale(state, STRATEGY) == (
        midnight,
        "Statutory limit passes",
    )
    assert case_rules.CASE_PATH.next_wakeup_with_timescale(state, midnight) is None
