"""The capacity forecast, its likelihood weights, and the optional ``[capacity]`` of a procedure."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from domain.procedure import Capacity, Procedure, ProcedureError
from domain.reports import capacity_forecast
from domain.reports.capacity import DEFAULT_WEIGHTS, likelihood_weights
from procedures import load_all, load_procedure
from tests.reports.cases import BCT, Case
from tests.reports.scenario import d
from tests.test_procedure_validation import VALID

PROCEDURES = load_all()
TODAY = d(3, 16)  # a Monday: weeks of 16, 23 and 30 March and 6 April 2026


def with_capacity(chairs: int | None, rooms: int | None) -> dict[str, Procedure]:
    bct = PROCEDURES[BCT].model_copy(
        update={"capacity": Capacity(chairs_per_week=chairs, rooms_per_week=rooms)}
    )
    return {**PROCEDURES, BCT: bct}


def open_cases() -> list[Case]:
    return [
        # Booked for Thursday 19 March: counts 1 in week 1.
        Case("BOOKED", d(3, 2)).started().confirmed(d(3, 4)).booked(d(3, 6), d(3, 19)),
        # Not confirmed, "possible": its due date 30 March, at the possible weight, week 3.
        Case("POSSIBLE", d(3, 9), likelihood="possible").started(),
        # Confirmed, not booked: counts 1 on its due date, 24 March (week 2).
        Case("CONFIRMED", d(3, 3)).started().confirmed(d(3, 5)),
        # Past due (9 March), not confirmed, "likely": in week 1 at the likely weight.
        Case("OVERDUE", d(2, 16)).started(),
        # An approved delay to 20 April: beyond the four weeks.
        Case("DELAYED", d(3, 16)).started().confirmed(d(3, 16)).delay(d(3, 16), d(4, 20), "x"),
        # A plan whose review is booked for 2 April (week 3)...
        Case("REVIEW-BOOKED", d(1, 5))
        .started()
        .booked(d(1, 6), d(1, 16))
        .held(d(1, 16))
        .review_cycle(1, due=d(4, 16), on=d(1, 16))
        .book_review(1, d(1, 16), d(4, 2)),
        # ...and one due 8 April, not booked yet (week 4).
        Case("REVIEW-DUE", d(1, 5))
        .started()
        .booked(d(1, 6), d(1, 8))
        .held(d(1, 8))
        .review_cycle(1, due=d(4, 8), on=d(1, 8)),
        # Its booked date passed with no conference recorded: a data-quality exception.
        Case("PASSED", d(3, 2)).started().confirmed(d(3, 3)).booked(d(3, 4), d(3, 13)),
        # Settled: not forecast.
        Case("GONE", d(3, 2), likelihood="unlikely").started().withdrawn(d(3, 5)),
    ]


def test_expected_conferences_per_week_against_capacity() -> None:
    forecast = capacity_forecast([c.history() for c in open_cases()], with_capacity(3, 5), TODAY)
    weeks = [
        (
            w.week_start,
            w.icpc_booked,
            w.icpc_expected,
            w.reviews_booked,
            w.reviews_due,
            w.expected,
            w.capacity,
            w.headroom,
        )
        for w in forecast.total
    ]
    assert weeks == [
        (d(3, 16), 1, 0.8, 0, 0, 1.8, 3, 1.2),
        (d(3, 23), 0, 1.0, 0, 0, 1.0, 3, 2.0),
        (d(3, 30), 0, 0.5, 1, 0, 1.5, 3, 1.5),
        (d(4, 6), 0, 0.0, 0, 1, 1.0, 3, 2.0),
    ]
    assert [w.week_end for w in forecast.total] == [d(3, 22), d(3, 29), d(4, 5), d(4, 12)]
    assert forecast.by_procedure[BCT] == forecast.total
    assert [(u.case_reference, u.reason) for u in forecast.unplaced] == [
        ("PASSED", "ICPC booked date passed with no conference recorded")
    ]
    assert [(w.likelihood, w.weight) for w in forecast.weights] == list(DEFAULT_WEIGHTS.items())
    assert forecast.weights[2].source == "default (only 1 settled cases; 30 needed)"


def test_no_declared_capacity_leaves_capacity_and_headroom_empty() -> None:
    forecast = capacity_forecast([c.history() for c in open_cases()], PROCEDURES, TODAY)
    assert {(w.capacity, w.headroom) for w in forecast.total} == {(None, None)}
    assert forecast.to_csv().splitlines()[0] == (
        "procedure,week_start,week_end,icpc_booked,icpc_expected,reviews_booked,reviews_due,"
        "expected,capacity,headroom"
    )


def test_the_record_sets_a_likelihood_weight_once_30_cases_are_settled() -> None:
    settled = [
        Case(f"S-{n}", d(1, 5)).started().booked(d(1, 6), d(1, 20)).held(d(1, 20), plan=False)
        for n in range(24)
    ] + [Case(f"W-{n}", d(1, 5)).started().withdrawn(d(1, 8)) for n in range(6)]
    weights = likelihood_weights([c.history() for c in settled])
    assert weights["likely"].weight == 0.8
    assert weights["likely"].source == "record: 24 of 30 settled cases went to an ICPC"
    assert weights["possible"].weight == DEFAULT_WEIGHTS["possible"]
    # One fewer settled case: the default again.
    fewer = likelihood_weights([c.history() for c in settled[1:]])
    assert fewer["likely"].source.startswith("default (only 29")


def test_capacity_is_the_lower_of_chairs_and_rooms() -> None:
    assert Capacity(chairs_per_week=12, rooms_per_week=9).conferences_per_week == 9
    assert Capacity(chairs_per_week=7).conferences_per_week == 7
    forecast = capacity_forecast([], with_capacity(None, 4), TODAY)
    assert forecast.total[0].capacity is None  # no procedure had a case: nothing to add up


@pytest.mark.parametrize(
    "section, message",
    [
        ("[capacity]\nsource = 'x'\n", "give chairs_per_week, rooms_per_week or both"),
        (
            "[capacity]\nchairs_per_week = 0\n",
            "capacity.chairs_per_week: Input should be greater than 0",
        ),
        (
            "[capacity]\nrooms_per_week = -2\n",
            "capacity.rooms_per_week: Input should be greater than 0",
        ),
        ("[capacity]\nchairs = 4\n", "capacity.chairs: Extra inputs are not permitted"),
    ],
)
def test_a_bad_capacity_is_refused_naming_the_field(
    tmp_path: Path, section: str, message: str
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(VALID + section, encoding="utf-8")
    with pytest.raises(ProcedureError) as refused:
        load_procedure(path)
    assert message in str(refused.value)
    assert str(path) in str(refused.value)


def test_a_procedure_may_declare_its_capacity(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(VALID + "[capacity]\nchairs_per_week = 12\nrooms_per_week = 10\n", "utf-8")
    procedure = load_procedure(path)
    assert procedure.capacity is not None
    assert procedure.capacity.conferences_per_week == 10
    # No seed gives a figure: no installed procedure declares one.
    assert all(p.capacity is None for p in PROCEDURES.values())


def test_reports_need_no_clock() -> None:
    assert capacity_forecast([], PROCEDURES, date(2030, 1, 2)).as_of == date(2030, 1, 2)
