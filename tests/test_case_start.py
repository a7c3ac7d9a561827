"""What a case may start with (issue 11, section 1), and the notice sent at its start.

Pure: ``now`` is passed in. The faces (``icpc start``, ``icpc import``, the client) all call
:func:`domain.case_start.check_start`; their own tests are in tests/test_cli_start_refusals.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.planning import PlanRequest, compute_plan, plan_case
from domain import case_views
from domain.calendar import LONDON, london_instant
from domain.case_start import MAX_START_DELAY, StartRefused, check_start
from domain.decisions import CaseStart, Likelihood
from domain.outbox import EmailPurpose
from domain.vocabulary import DecisionKind
from tests.case_helpers import ALL_PROCEDURES, address_of, case_start, new_state, procedure

BCT = "bct-management-note"
# Wednesday 25 November 2026, 14:00 in London.
NOW = london_instant(datetime(2026, 11, 25).date(), time(14, 0))


def start_at(at: datetime, **changes: object) -> CaseStart:
    return case_start(procedure(BCT), at, **changes)


def refusal(start: CaseStart, now: datetime = NOW) -> str:
    with pytest.raises(StartRefused) as raised:
        check_start(start, procedure(start.procedure_id), now)
    return str(raised.value)


# --- the strategy discussion's date -------------------------------------------------------------


def test_a_discussion_that_has_happened_starts_a_case() -> None:
    for at in (NOW, NOW - timedelta(minutes=1), NOW - timedelta(days=89)):
        check_start(start_at(at), procedure(BCT), NOW)


def test_a_discussion_later_than_now_is_refused() -> None:
    # 000 action 1: "Strategy Meetings should not be recorded as open before they happen".
    reason = refusal(start_at(NOW + timedelta(minutes=5)))
    assert reason == (
        "the strategy discussion (Wednesday 25 November 2026 at 14:05) is later than now"
        " (Wednesday 25 November 2026 at 14:00, UK time): a strategy discussion is recorded"
        " once it has happened"
    )
    # Six months ahead, as the issue found accepted.
    assert "is later than now" in refusal(start_at(NOW + timedelta(days=182)))


def test_now_is_read_in_london_whatever_zone_it_comes_in() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: a discussion at 00:15 BST has happened.
    now = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    check_start(
        start_at(london_instant(now.date() + timedelta(days=1), time(0, 15))), procedure(BCT), now
    )


def test_a_discussion_older_than_the_limit_is_refused() -> None:
    assert timedelta(days=90) == MAX_START_DELAY
    reason = refusal(start_at(NOW - timedelta(days=90, minutes=1)))
    assert reason.endswith(
        "is more than 90 days ago: a case can be started up to 90 days after its strategy"
        " discussion"
    )
    # The dates: ~19 months old, and 2019.
    assert "more than 90 days ago" in refusal(start_at(NOW - timedelta(days=580)))
    assert "more than 90 days ago" in refusal(
        start_at(london_instant(datetime(2019, 1, 7).date(), time(9)))
    )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("9999-12-20", "a strategy discussion on 9999-12-20 cannot be planned"),
        ("1900-01-01", "a strategy discussion on 1900-01-01 cannot be planned"),
    ],
)
def test_dates_out_of_any_sensible_range_are_refused(day: str, expected: str) -> None:
    at = london_instant(datetime.fromisoformat(day).date(), time(9))
    assert refusal(start_at(at)).startswith(expected)


# --- section 47 -----------------------------------------------------------------------------------


def test_no_section_47_enquiry_starts_no_icpc_case() -> None:
    # 000 action 2: "The countdown for holding an ICPC within timescale begins from the Strategy
    # Meeting/Discussion at which a Section 47 is initiated."
    reason = refusal(start_at(NOW - timedelta(hours=1), section_47_initiated=False))
    assert reason.startswith("an ICPC follows a section 47 enquiry")


def test_a_start_must_name_the_procedure_it_is_given() -> None:
    start = start_at(NOW - timedelta(hours=1))
    with pytest.raises(StartRefused, match="names procedure 'bct-management-note'"):
        check_start(start, procedure("man13-qarss"), NOW)


# --- 000 action 3: the conference service hears of it on the day ---------------------------------


@pytest.mark.parametrize("proc_id", ALL_PROCEDURES)
@pytest.mark.parametrize("likelihood", list(Likelihood))
def test_the_conference_service_is_told_at_start_with_the_likelihood(
    proc_id: str, likelihood: Likelihood
) -> None:
    # 000 action 3: the social worker "must contact the CP Conference Service ... on the day of
    # the Strategy Discussion and notify them of the decision and give a view on the likelihood
    # that an ICPC will be required. This will allow the CPCS to identify and plan for any
    # capacity problems."
    proc = procedure(proc_id)
    strategy = NOW - timedelta(hours=2)
    state = new_state(proc, strategy, NOW, icpc_likelihood=likelihood)
    fx = case_views.start_notice(state, NOW)
    bookers = proc.roles_for(DecisionKind.BOOK_CONFERENCE)
    assert bookers
    [email] = fx.emails
    assert email.purpose == EmailPurpose.NOTICE
    assert email.to == [address_of(proc, r) for r in bookers]
    assert email.subject == (
        f"[ICPC {state.start.case_reference}] Section 47 strategy discussion: ICPC {likelihood}"
    )
    assert f"The social worker's view: an ICPC is {likelihood}." in email.body
    assert email.idempotency_key == f"{state.case_id}/notice/start"
    # Kept with the case's start entry, for the record and the capacity lists.
    [opened] = state.timeline
    assert opened.event == "case_started"
    assert opened.data["likelihood"] == likelihood
    assert opened.data["notified"] == [{"topic": email.subject.split("] ", 1)[1], "roles": bookers}]


def test_the_start_notice_has_one_key_however_often_it_is_asked_for() -> None:
    state = new_state(procedure(BCT), NOW - timedelta(hours=2), NOW)
    first = case_views.start_notice(state, NOW).emails[0].idempotency_key
    again = case_views.start_notice(state, NOW + timedelta(minutes=1)).emails[0].idempotency_key
    assert first == again


# --- the planning activity: input it cannot plan fails once, never retried ------------------------


@pytest.mark.parametrize("day", ["9999-12-20", "1900-01-01"])
async def test_the_planning_activity_refuses_unplannable_dates_without_retrying(day: str) -> None:
    at = london_instant(datetime.fromisoformat(day).date(), time(9))
    request = PlanRequest(procedure=procedure(BCT), strategy_discussion=at, with_calendar=True)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(plan_case, request)
    assert raised.value.non_retryable
    assert raised.value.type == "CannotPlan"
    assert raised.value.message == (
        f"A strategy discussion on {day} cannot be planned: only dates from 2000-01-01 to"
        " 2099-12-31 can."
    )


def test_the_calendar_of_a_late_registered_case_reaches_past_now() -> None:
    # A case registered long after its discussion (a client that skipped the checks) can still
    # count every day it lives through: the frozen calendar reaches past "now", not only past
    # the discussion, so the workflow never counts outside it.
    at = london_instant(datetime(2019, 1, 7).date(), time(9))
    request = PlanRequest(procedure=procedure(BCT), strategy_discussion=at, with_calendar=True)
    result = compute_plan(request, NOW)
    assert result.calendar is not None
    assert result.calendar.first <= at.astimezone(LONDON).date()
    assert result.calendar.last >= NOW.date() + timedelta(days=550)
    assert result.calendar.working_days_between(at.date(), NOW.date()) > 15
