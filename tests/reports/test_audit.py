"""The bi-monthly audit sample (000 action 16): reproducible, per area, with each decision's
reasons; and the event that records a review."""

from __future__ import annotations

import random
from datetime import date

import pytest

from domain.decisions import Decider
from domain.reports import AUDIT_REVIEW_EVENT, Period, audit_review, audit_sample
from domain.reports.history import CaseHistory
from tests.reports.cases import Case, at
from tests.reports.scenario import d

WINDOW = Period.between(d(3, 1), d(4, 30))


def population() -> list[CaseHistory]:
    cases = []
    for n in range(25):  # north: 25 decisions in the window, 2 to 21 March
        day = date(2026, 3, 2 + n % 20)
        case = Case(f"N-{n:02d}", day, area="north").started()
        if n % 5 == 4:
            case.withdrawn(day, f"Withdrawn: reason {n}")
        else:
            case.confirmed(day)
        cases.append(case)
    for n in range(3):  # south: fewer decisions than the sample size
        cases.append(Case(f"S-{n}", d(4, 6 + n), area="south").started().confirmed(d(4, 7 + n)))
    cases.append(Case("NO-AREA", d(3, 10), area=None, team=None).started().confirmed(d(3, 11)))
    # Decided outside the window: not in its population.
    cases.append(Case("FEBRUARY", d(2, 2), area="north").started().confirmed(d(2, 3)))
    cases.append(Case("MAY", d(5, 4), area="north").started().confirmed(d(5, 5)))
    return [c.history() for c in cases]


def test_a_reproducible_sample_per_area_of_the_decisions_in_the_window() -> None:
    sample = audit_sample(population(), WINDOW, size=10)
    assert sample.population == {"north": 25, "south": 3}
    assert {area: len(drawn) for area, drawn in sample.by_area.items()} == {"north": 10, "south": 3}
    assert sample.seeds == {
        "north": "north|2026-03-01|2026-04-30",
        "south": "south|2026-03-01|2026-04-30",
    }
    again = audit_sample(list(reversed(population())), WINDOW, size=10)
    assert again == sample  # the order the record gives the cases in changes nothing
    # The draw is Python's random.Random seeded with the text: anyone can repeat it.
    north = sorted(
        (c for c in population() if c.area == "north" and c.case_reference.startswith("N-")),
        key=lambda c: (c.events[1].at, c.case_id),
    )
    expected = random.Random("north|2026-03-01|2026-04-30").sample([c.case_id for c in north], 10)
    assert {d.case_id for d in sample.by_area["north"]} == set(expected)
    assert [(u.case_reference, u.reason) for u in sample.unplaced] == [
        ("NO-AREA", "no area recorded: the sample is drawn per area")
    ]


def test_another_window_draws_another_sample() -> None:
    first = audit_sample(population(), WINDOW, size=5)
    shifted = audit_sample(population(), Period.between(d(3, 2), d(4, 30)), size=5)
    assert first.seeds["north"] != shifted.seeds["north"]
    assert {x.case_id for x in first.by_area["north"]} != {
        x.case_id for x in shifted.by_area["north"]
    }


def test_each_decision_comes_with_its_reasons_and_what_followed() -> None:
    case = (
        Case("ONE", d(3, 2), area="east", team="east-1")
        .started()
        .withdrawn(d(3, 5), "Concerns not substantiated by the enquiry")
    )
    held = (
        Case("TWO", d(3, 2), area="east", team="east-2")
        .started()
        .sheet(d(3, 4))
        .booked(d(3, 5), d(3, 19))
        .held(d(3, 19), plan=True)
    )
    sample = audit_sample([case.history(), held.history()], WINDOW)
    two, one = sample.by_area["east"]  # in the order decided
    assert (one.decision, one.decision_words, one.reason) == (
        "withdraw_icpc",
        "ICPC withdrawn",
        "Concerns not substantiated by the enquiry",
    )
    assert one.decided_by == "user-social-worker (social worker)"
    assert one.then == "withdrawn on 2026-03-05"
    assert (two.decision, two.then) == (
        "receive_convening_sheet",
        "ICPC held on 2026-03-19: a child protection plan",
    )
    assert two.decided_at == at(d(3, 4), 13)
    csv_lines = sample.to_csv().splitlines()
    assert csv_lines[0] == (
        "area,case_reference,procedure_id,team,strategy_discussion,decision_words,decided_at,"
        "decided_by,reason,then,reviews"
    )
    assert csv_lines[1].startswith(
        "east,TWO,bct-management-note,east-2,2026-03-02,convening sheet received (ICPC confirmed),"
        "2026-03-04T13:00:00+00:00,user-cp-conference-service (cp conference service),,"
        "ICPC held on 2026-03-19: a child protection plan,"
    )


def test_a_review_is_an_audit_event_with_its_finding_and_key() -> None:
    reviewer = Decider(user="hos-east", role="area_head_of_service")
    event, key = audit_review(reviewer, d(5, 6), "  Right decision: threshold met.  ", at(d(5, 7)))
    assert event.event == AUDIT_REVIEW_EVENT == "audit_review"
    assert (event.by, event.reason) == (reviewer, "Right decision: threshold met.")
    assert event.data == {"reviewed_on": "2026-05-06", "key": key}
    assert key.startswith("audit_review/hos-east/2026-05-06/")
    _, same_key = audit_review(reviewer, d(5, 6), "Right decision: threshold met.", at(d(5, 9)))
    assert same_key == key
    other = audit_review(reviewer, d(5, 6), "Another finding", at(d(5, 9)))[1]
    assert other != key
    case = Case("REVIEWED", d(3, 2), area="east").started().confirmed(d(3, 3))
    case.review_events.append(event)
    (decision,) = audit_sample([case.history()], WINDOW).by_area["east"]
    assert [(r.reviewer, r.reviewed_on, r.finding) for r in decision.reviews] == [
        ("hos-east (area head of service)", d(5, 6), "Right decision: threshold met.")
    ]


@pytest.mark.parametrize(
    "finding, reviewed_on, message",
    [
        ("   ", d(5, 6), "a review needs its finding"),
        ("x" * 4001, d(5, 6), "at most 4,000 characters"),
        ("fine", d(5, 8), "the review date 2026-05-08 is in the future"),
    ],
)
def test_a_review_without_a_finding_or_dated_ahead_is_refused(
    finding: str, reviewed_on: date, message: str
) -> None:
    reviewer = Decider(user="hos-east", role="area_head_of_service")
    with pytest.raises(ValueError, match=message):
        audit_review(reviewer, reviewed_on, finding, at(d(5, 7)))


def test_the_sample_size_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        audit_sample([], WINDOW, size=0)
